package ingest

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// archiveLimits caps what one archive (one study) may extract.
type archiveLimits struct {
	Bytes   int64 // total uncompressed bytes
	Entries int   // files
}

// defaultArchiveLimits: a cine study is a few GB and tens of thousands of
// files at most.
var defaultArchiveLimits = archiveLimits{Bytes: 32 << 30, Entries: 500_000}

// errArchive marks a refused or unreadable archive. Its messages never hold
// entry names or paths (which are often patient names or MRNs): entries are
// named by their ordinal.
var errArchive = errors.New("archive")

func archiveErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errArchive}, args...)...)
}

// extractArchive unpacks a .tar, .tgz/.tar.gz or .zip into dir. It refuses,
// with an error naming the entry by its ordinal: entries that would land
// outside dir (absolute paths, "..", zip-slip), symbolic and hard links and
// device files, and archives beyond the limits (a decompression bomb stops
// at the byte limit, whatever its headers claim).
func extractArchive(path, dir string, lim archiveLimits) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	l := strings.ToLower(path)
	if strings.HasSuffix(l, ".zip") {
		return extractZip(path, dir, lim)
	}
	f, err := os.Open(path)
	if err != nil {
		return archiveErr("cannot open: %v", withoutPath(err))
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(l, ".tgz") || strings.HasSuffix(l, ".gz") {
		gz, err := gzip.NewReader(f)
		if err != nil {
			return archiveErr("not gzip-compressed: %v", err)
		}
		defer gz.Close()
		r = gz
	}
	tr := tar.NewReader(r)
	var total int64
	files := 0
	for n := 1; ; n++ {
		h, err := tr.Next()
		if err == io.EOF {
			if n == 1 {
				return archiveErr("empty or not a tar archive")
			}
			return nil
		}
		if err != nil && n == 1 {
			return archiveErr("not a tar archive (%v)", err)
		}
		if err != nil {
			return archiveErr("entry %d: %v", n, err)
		}
		switch h.Typeflag {
		case tar.TypeReg, tar.TypeRegA:
		case tar.TypeDir, tar.TypeXGlobalHeader, tar.TypeXHeader, tar.TypeGNULongName, tar.TypeGNULongLink:
			continue
		case tar.TypeSymlink, tar.TypeLink:
			return archiveErr("entry %d is a link; archives with links are not extracted", n)
		default:
			return archiveErr("entry %d is a special file (type %q); not extracted", n, h.Typeflag)
		}
		if files++; files > lim.Entries {
			return archiveErr("more than %d files", lim.Entries)
		}
		if h.Size < 0 || h.Size > lim.Bytes-total {
			return archiveErr("more than %d bytes uncompressed (entry %d)", lim.Bytes, n)
		}
		total += h.Size
		if err := extractEntry(dir, n, h.Name, tr, h.Size); err != nil {
			return err
		}
	}
}

func extractZip(path, dir string, lim archiveLimits) error {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return archiveErr("not a zip archive: %v", err)
	}
	defer zr.Close()
	return extractZipReader(&zr.Reader, dir, lim)
}

func extractZipReader(zr *zip.Reader, dir string, lim archiveLimits) error {
	var total int64
	files := 0
	for i, zf := range zr.File {
		n := i + 1
		mode := zf.Mode()
		switch {
		case mode.IsDir():
			continue
		case mode&os.ModeSymlink != 0:
			return archiveErr("entry %d is a link; archives with links are not extracted", n)
		case !mode.IsRegular():
			return archiveErr("entry %d is a special file; not extracted", n)
		}
		if files++; files > lim.Entries {
			return archiveErr("more than %d files", lim.Entries)
		}
		size := zf.UncompressedSize64
		// Deflate cannot expand more than 1032:1; a larger claim is a lie
		// (and reading stops at the claimed size anyway).
		if size > zf.CompressedSize64*1032+1024 || size > uint64(lim.Bytes-total) {
			return archiveErr("more than %d bytes uncompressed, or a size that cannot be true (entry %d)", lim.Bytes, n)
		}
		total += int64(size)
		rc, err := zf.Open()
		if err != nil {
			return archiveErr("entry %d: %v", n, err)
		}
		err = extractEntry(dir, n, zf.Name, rc, int64(size))
		rc.Close()
		if err != nil {
			return err
		}
	}
	if files == 0 {
		return archiveErr("no files")
	}
	return nil
}

// extractEntry writes entry n (name as stored) of exactly size bytes from
// r under dir.
func extractEntry(dir string, n int, name string, r io.Reader, size int64) error {
	if strings.ContainsRune(name, 0) {
		return archiveErr("entry %d: name holds a NUL byte", n)
	}
	clean := filepath.Clean(filepath.FromSlash(strings.ReplaceAll(name, `\`, "/")))
	if filepath.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) || clean == "." {
		return archiveErr("entry %d: its path is absolute or leads outside the archive", n)
	}
	dst := filepath.Join(dir, clean)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return archiveErr("entry %d: cannot create its folder (a file of the same name?)", n)
	}
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return archiveErr("entry %d: cannot create it (repeated name?)", n)
	}
	got, err := io.Copy(f, io.LimitReader(r, size+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return archiveErr("entry %d: %v", n, withoutPath(err))
	}
	if got != size {
		return archiveErr("entry %d: %d bytes, its header says %d", n, got, size)
	}
	return nil
}

// withoutPath drops the path from file-system errors (it may hold
// identifiers); other errors are returned as they are.
func withoutPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return fmt.Errorf("%s: %w", le.Op, le.Err)
	}
	return err
}
