package ingest

import (
	"bufio"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// UnitKind says how a unit is read.
type UnitKind string

const (
	UnitFolder  UnitKind = "folder"  // DICOM files in a folder tree
	UnitArchive UnitKind = "archive" // a .tar, .tgz/.tar.gz or .zip of one study
	UnitNIfTI   UnitKind = "nifti"   // an ACDC-style folder: *_4d.nii[.gz] + Info.cfg
	UnitFile    UnitKind = "file"    // one DICOM file (e.g. an enhanced multi-frame study)
)

// Unit is one piece of input processed by one worker: usually one study.
type Unit struct {
	Kind UnitKind
	// Path is the folder, archive or file.
	Path string
	// Root is the input the unit was found under.
	Root string
	// Files lists the files of a folder unit directly in Path (not in
	// sub-folders) when the unit is a folder's loose files only.
	LooseOnly bool
}

// Key identifies the unit across runs: its path relative to its input root,
// prefixed by the root's base name.
func (u Unit) Key() string {
	rel, err := filepath.Rel(u.Root, u.Path)
	if err != nil {
		rel = u.Path
	}
	k := filepath.ToSlash(filepath.Join(filepath.Base(u.Root), rel))
	if u.LooseOnly {
		k += "#files"
	}
	return k
}

// inShard reports whether the unit belongs to shard i of n.
func (u Unit) inShard(i, n int) bool {
	if n <= 1 {
		return true
	}
	h := fnv.New64a()
	io.WriteString(h, u.Key())
	return int(h.Sum64()%uint64(n)) == i
}

// Discover finds the units under the inputs, in a deterministic order.
func Discover(inputs []string) ([]Unit, error) {
	var out []Unit
	seen := map[string]bool{}
	var add func(in string, depth int) error
	add = func(in string, depth int) error {
		if depth > 4 {
			return fmt.Errorf("ingest: list files nest too deeply at %s", in)
		}
		st, err := os.Stat(in)
		if err != nil {
			return fmt.Errorf("ingest: input %w", err)
		}
		abs, _ := filepath.Abs(in)
		if seen[abs] {
			return nil
		}
		seen[abs] = true
		if !st.IsDir() {
			switch {
			case isArchive(in):
				out = append(out, Unit{Kind: UnitArchive, Path: in, Root: filepath.Dir(in)})
			case isListFile(in):
				paths, err := readList(in)
				if err != nil {
					return err
				}
				for _, p := range paths {
					if err := add(p, depth+1); err != nil {
						return err
					}
				}
			default:
				out = append(out, Unit{Kind: UnitFile, Path: in, Root: filepath.Dir(in)})
			}
			return nil
		}
		units, err := discoverDir(in, in)
		if err != nil {
			return err
		}
		out = append(out, units...)
		return nil
	}
	for _, in := range inputs {
		if err := add(in, 0); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// discoverDir classifies a folder: a NIfTI folder, a study folder (files,
// or sub-folders that hold only files: one per series), or a folder of
// studies to descend into. Archives inside are units of their own.
func discoverDir(dir, root string) ([]Unit, error) {
	entries, err := os.ReadDir(dir)
	if err != nil && dir != root {
		// A folder below an input that cannot be listed is a unit that
		// fails (its manifest line says why, without its path); the rest
		// of the archive goes on.
		return []Unit{{Kind: UnitFolder, Path: dir, Root: root}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}
	var subdirs, files []string
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		p := filepath.Join(dir, name)
		if e.IsDir() {
			subdirs = append(subdirs, p)
		} else if e.Type().IsRegular() || e.Type()&os.ModeSymlink != 0 {
			files = append(files, p)
		}
	}
	if isNIfTIDir(files) {
		return []Unit{{Kind: UnitNIfTI, Path: dir, Root: root}}, nil
	}
	var out []Unit
	// NIfTI folders among the sub-folders are units of their own.
	rest := subdirs[:0:0]
	for _, d := range subdirs {
		if isNIfTIDir(listFiles(d)) {
			out = append(out, Unit{Kind: UnitNIfTI, Path: d, Root: root})
		} else {
			rest = append(rest, d)
		}
	}
	subdirs = rest
	var loose []string
	for _, f := range files {
		if isArchive(f) {
			out = append(out, Unit{Kind: UnitArchive, Path: f, Root: root})
		} else if maybeDICOM(f) {
			loose = append(loose, f)
		}
	}
	allLeaves := true
	for _, d := range subdirs {
		if hasSubdir(d) {
			allLeaves = false
			break
		}
	}
	if allLeaves && len(subdirs) > 0 && hasDICOMBelow(subdirs) || len(subdirs) == 0 && len(loose) > 0 {
		return append(out, Unit{Kind: UnitFolder, Path: dir, Root: root}), nil
	}
	if len(loose) > 0 {
		out = append(out, Unit{Kind: UnitFolder, Path: dir, Root: root, LooseOnly: true})
	}
	for _, d := range subdirs {
		u, err := discoverDir(d, root)
		if err != nil {
			return nil, err
		}
		out = append(out, u...)
	}
	return out, nil
}

// listFiles lists the regular files directly in dir.
func listFiles(dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	return out
}

// hasDICOMBelow reports whether any of the (leaf) folders holds a file that
// looks like DICOM, so folders of other data are not taken for a study.
func hasDICOMBelow(dirs []string) bool {
	for _, d := range dirs {
		for _, f := range listFiles(d) {
			if maybeDICOM(f) {
				return true
			}
		}
	}
	return false
}

func hasSubdir(dir string) bool {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			return true
		}
	}
	return false
}

func isArchive(p string) bool {
	l := strings.ToLower(p)
	return strings.HasSuffix(l, ".tar") || strings.HasSuffix(l, ".tgz") || strings.HasSuffix(l, ".tar.gz") || strings.HasSuffix(l, ".zip")
}

func isListFile(p string) bool {
	l := strings.ToLower(p)
	return strings.HasSuffix(l, ".lst") || strings.HasSuffix(l, ".list") || strings.HasSuffix(l, ".txt")
}

func isNIfTIDir(files []string) bool {
	var img, cfg bool
	for _, f := range files {
		b := strings.ToLower(filepath.Base(f))
		img = img || strings.HasSuffix(b, "_4d.nii.gz") || strings.HasSuffix(b, "_4d.nii")
		cfg = cfg || b == "info.cfg"
	}
	return img && cfg
}

// nonDICOMExt lists extensions never worth opening as DICOM.
var nonDICOMExt = map[string]bool{
	".csv": true, ".txt": true, ".json": true, ".jsonl": true, ".md": true, ".cfg": true, ".xml": true,
	".nii": true, ".gz": true, ".png": true, ".jpg": true, ".jpeg": true, ".gif": true, ".pdf": true,
	".h5": true, ".html": true, ".py": true, ".yaml": true, ".yml": true, ".zip": true, ".tar": true, ".tgz": true,
}

// maybeDICOM reports whether a file is worth parsing as DICOM: a DICM
// preamble, or a data set starting at byte 0 (group 0002 or 0008), and no
// extension of a known non-DICOM format.
func maybeDICOM(p string) bool {
	if nonDICOMExt[strings.ToLower(filepath.Ext(p))] || strings.EqualFold(filepath.Base(p), "DICOMDIR") {
		return false
	}
	f, err := os.Open(p)
	if err != nil {
		return true // let the parser report the error with the file name
	}
	defer f.Close()
	var b [132]byte
	n, _ := io.ReadFull(f, b[:])
	if n >= 132 && string(b[128:132]) == "DICM" {
		return true
	}
	if n >= 8 {
		g := uint16(b[0]) | uint16(b[1])<<8
		return g == 0x0002 || g == 0x0008
	}
	return n == 0 // empty files are reported as such
}

func readList(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("ingest: list file %w", err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	dir := filepath.Dir(path)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if !filepath.IsAbs(l) {
			l = filepath.Join(dir, l)
		}
		out = append(out, l)
	}
	return out, sc.Err()
}

// unitFiles lists the candidate DICOM files of a folder unit in lexical
// order (the order never matters downstream; it only makes logs stable).
func unitFiles(u Unit) (files []string, skipped int, err error) {
	if u.LooseOnly {
		entries, err := os.ReadDir(u.Path)
		if err != nil {
			return nil, 0, err
		}
		for _, e := range entries {
			p := filepath.Join(u.Path, e.Name())
			if !e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
				if maybeDICOM(p) {
					files = append(files, p)
				} else {
					skipped++
				}
			}
		}
		return files, skipped, nil
	}
	err = filepath.WalkDir(u.Path, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), ".") && p != u.Path {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.IsDir() {
			if maybeDICOM(p) {
				files = append(files, p)
			} else {
				skipped++
			}
		}
		return nil
	})
	sort.Strings(files)
	return files, skipped, err
}
