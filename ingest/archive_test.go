package ingest

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type tarEntry struct {
	name, link string
	typ        byte
	data       []byte
	size       int64 // header size when ≥ 0 and different from len(data)
}

func makeTar(t testing.TB, gz bool, entries ...tarEntry) []byte {
	var b bytes.Buffer
	var w = &b
	var zw *gzip.Writer
	tw := tar.NewWriter(w)
	if gz {
		zw = gzip.NewWriter(w)
		tw = tar.NewWriter(zw)
	}
	for _, e := range entries {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		size := int64(len(e.data))
		if typ != tar.TypeReg {
			size = 0
		}
		h := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: typ, Size: size, Mode: 0o644}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(e.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if zw != nil {
		zw.Close()
	}
	return b.Bytes()
}

func makeZip(t testing.TB, entries ...tarEntry) []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		if e.typ == tar.TypeSymlink {
			h.SetMode(os.ModeSymlink | 0o777)
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(e.data)
	}
	zw.Close()
	return b.Bytes()
}

func extractBytes(t testing.TB, b []byte, ext string, lim archiveLimits) (string, error) {
	dir := t.TempDir()
	p := filepath.Join(dir, "unit"+ext)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	return out, extractArchive(p, out, lim)
}

// TestArchiveHostile: entries escaping the folder, links, special files and
// decompression bombs are refused with an error naming the entry by its
// ordinal, never by its name; nothing is written outside the folder.
func TestArchiveHostile(t *testing.T) {
	lim := archiveLimits{Bytes: 1 << 20, Entries: 10}
	zeros := make([]byte, 8<<20) // 8 MiB of zeros: 8 KiB gzip-compressed
	ok := []byte("DICM")
	cases := []struct {
		name string
		tar  []tarEntry
		zip  bool
		want string
	}{
		{"zip-slip", []tarEntry{{name: "SMITH_JANE/a.dcm", data: ok}, {name: "../../evil.dcm", data: ok}}, false, "entry 2: its path is absolute or leads outside"},
		{"zip-slip zip", []tarEntry{{name: "a/../../SMITH_JANE.dcm", data: ok}}, true, "entry 1: its path is absolute or leads outside"},
		{"absolute", []tarEntry{{name: "/etc/SMITH_JANE", data: ok}}, false, "entry 1: its path is absolute or leads outside"},
		{"backslashes", []tarEntry{{name: `..\..\SMITH_JANE.dcm`, data: ok}}, true, "entry 1: its path is absolute or leads outside"},
		{"symlink", []tarEntry{{name: "SMITH_JANE", typ: tar.TypeSymlink, link: "/etc/passwd"}}, false, "entry 1 is a link"},
		{"symlink zip", []tarEntry{{name: "SMITH_JANE", typ: tar.TypeSymlink, data: []byte("/etc/passwd")}}, true, "entry 1 is a link"},
		{"hardlink", []tarEntry{{name: "a", data: ok}, {name: "SMITH_JANE", typ: tar.TypeLink, link: "a"}}, false, "entry 2 is a link"},
		{"device", []tarEntry{{name: "SMITH_JANE", typ: tar.TypeChar}}, false, "entry 1 is a special file"},
		{"bomb", []tarEntry{{name: "SMITH_JANE/big.dcm", data: zeros}}, false, "more than 1048576 bytes uncompressed"},
		{"bomb zip", []tarEntry{{name: "SMITH_JANE/big.dcm", data: zeros}}, true, "more than 1048576 bytes uncompressed"},
		{"many files", func() []tarEntry {
			var es []tarEntry
			for i := range 11 {
				es = append(es, tarEntry{name: "SMITH_JANE/" + string(rune('a'+i)), data: ok})
			}
			return es
		}(), false, "more than 10 files"},
		{"repeated name", []tarEntry{{name: "SMITH_JANE", data: ok}, {name: "SMITH_JANE", data: ok}}, false, "entry 2: cannot create it"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var b []byte
			ext := ".tgz"
			if c.zip {
				b, ext = makeZip(t, c.tar...), ".zip"
			} else {
				b = makeTar(t, true, c.tar...)
			}
			out, err := extractBytes(t, b, ext, lim)
			if err == nil || !errors.Is(err, errArchive) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want %q", err, c.want)
			}
			if strings.Contains(err.Error(), "SMITH") || strings.Contains(err.Error(), "evil") {
				t.Errorf("the error names an entry: %v", err)
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(filepath.Dir(out)), "evil.dcm")); err == nil {
				t.Error("an entry escaped")
			}
			filepath.WalkDir(out, func(p string, d os.DirEntry, err error) error {
				if err == nil && d.Type()&os.ModeSymlink != 0 {
					t.Errorf("a link was created: %s", p)
				}
				return nil
			})
		})
	}
	// A .tgz that is not gzip, a .tar that is not tar, a zip that is not zip.
	for ext, want := range map[string]string{".tgz": "not gzip-compressed", ".tar": "not a tar archive", ".zip": "not a zip archive"} {
		if _, err := extractBytes(t, []byte("garbage, not an archive at all"), ext, lim); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("garbage %s: %v", ext, err)
		}
	}
}

// FuzzExtractArchive feeds mutated tar, tgz and zip archives to the
// extractor: it may refuse them, but must never write outside its folder,
// create a link, exceed its limits or panic.
func FuzzExtractArchive(f *testing.F) {
	ok := []byte("DICM payload")
	f.Add(makeTar(f, false, tarEntry{name: "s/1.dcm", data: ok}, tarEntry{name: "s/2.dcm", data: ok}), uint8(0))
	f.Add(makeTar(f, true, tarEntry{name: "s/1.dcm", data: ok}), uint8(1))
	f.Add(makeZip(f, tarEntry{name: "s/1.dcm", data: ok}, tarEntry{name: "s/t/2.dcm", data: ok}), uint8(2))
	f.Add(makeTar(f, false, tarEntry{name: "../x", data: ok}), uint8(0))
	f.Add(makeTar(f, false, tarEntry{name: "l", typ: tar.TypeSymlink, link: "/"}), uint8(0))
	f.Add(makeZip(f, tarEntry{name: "l", typ: tar.TypeSymlink, data: []byte("/")}), uint8(2))
	lim := archiveLimits{Bytes: 1 << 20, Entries: 64}
	f.Fuzz(func(t *testing.T, b []byte, kind uint8) {
		ext := []string{".tar", ".tgz", ".zip"}[int(kind)%3]
		out, err := extractBytes(t, b, ext, lim)
		if err != nil && !errors.Is(err, errArchive) {
			t.Fatalf("error not marked as an archive error: %v", err)
		}
		var total int64
		files := 0
		root := filepath.Dir(out)
		filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			if d.Type()&os.ModeSymlink != 0 {
				t.Fatalf("link created: %s", p)
			}
			if !d.IsDir() && p != filepath.Join(root, "unit"+ext) {
				if rel, _ := filepath.Rel(out, p); strings.HasPrefix(rel, "..") {
					t.Fatalf("file outside the folder: %s", p)
				}
				info, _ := d.Info()
				total += info.Size()
				files++
			}
			return nil
		})
		if total > lim.Bytes || files > lim.Entries {
			t.Fatalf("%d bytes in %d files", total, files)
		}
	})
}
