package ingest

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// maxArchiveBytes caps what one archive may extract to (one study).
const maxArchiveBytes = 32 << 30

// extractArchive unpacks a .tar, .tgz/.tar.gz or .zip into dir, refusing
// entries that would escape it and archives larger than maxArchiveBytes.
func extractArchive(path, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	l := strings.ToLower(path)
	if strings.HasSuffix(l, ".zip") {
		return extractZip(path, dir)
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(l, ".tgz") || strings.HasSuffix(l, ".gz") {
		gz, err := gzip.NewReader(f)
		if err != nil {
			return fmt.Errorf("archive %s: %w", path, err)
		}
		defer gz.Close()
		r = gz
	}
	tr := tar.NewReader(r)
	var total int64
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("archive %s: %w", path, err)
		}
		if h.Typeflag != tar.TypeReg && h.Typeflag != tar.TypeRegA {
			continue
		}
		total += h.Size
		if total > maxArchiveBytes {
			return fmt.Errorf("archive %s: more than %d GiB uncompressed", path, maxArchiveBytes>>30)
		}
		if err := extractEntry(dir, h.Name, tr, h.Size); err != nil {
			return fmt.Errorf("archive %s: %w", path, err)
		}
	}
}

func extractZip(path, dir string) error {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return fmt.Errorf("archive %s: %w", path, err)
	}
	defer zr.Close()
	var total int64
	for _, zf := range zr.File {
		if zf.FileInfo().IsDir() {
			continue
		}
		total += int64(zf.UncompressedSize64)
		if total > maxArchiveBytes {
			return fmt.Errorf("archive %s: more than %d GiB uncompressed", path, maxArchiveBytes>>30)
		}
		rc, err := zf.Open()
		if err != nil {
			return fmt.Errorf("archive %s: %s: %w", path, zf.Name, err)
		}
		err = extractEntry(dir, zf.Name, rc, int64(zf.UncompressedSize64))
		rc.Close()
		if err != nil {
			return fmt.Errorf("archive %s: %w", path, err)
		}
	}
	return nil
}

func extractEntry(dir, name string, r io.Reader, size int64) error {
	clean := filepath.Clean(filepath.FromSlash(name))
	if filepath.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) {
		return fmt.Errorf("entry %q escapes the archive", name)
	}
	dst := filepath.Join(dir, clean)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	f, err := os.Create(dst)
	if err != nil {
		return err
	}
	n, err := io.Copy(f, io.LimitReader(r, size+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("entry %q: %w", name, err)
	}
	if n != size {
		return fmt.Errorf("entry %q: %d bytes, header says %d", name, n, size)
	}
	return nil
}
