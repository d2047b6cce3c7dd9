package dicom

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/cmrfm/cmrfm/cine"
)

// InspectOptions controls Inspect. The zero value parses headers only.
type InspectOptions struct {
	// Decode decodes every file's pixels to report failures.
	Decode bool
	// DecodeOptions for decoding.
	DecodeOptions DecodeOptions
	// Workers decoding in parallel; 0 means 1.
	Workers int
	// Assemble tunes series assembly.
	Assemble cine.AssembleOptions
}

// FileReport is the outcome for one file.
type FileReport struct {
	Path           string
	TransferSyntax string
	Frames         int
	// Err is the parse or decode error (nil when the file is usable).
	Err error
}

// InspectReport is the outcome of Inspect: every file and every series.
type InspectReport struct {
	Files  []FileReport
	Series []*cine.Series
}

// Inspect reads every file under paths (directories are walked; hidden
// files and DICOMDIR are skipped), optionally decodes them, and assembles
// the readable ones into series. It fails only when a path cannot be walked.
func Inspect(paths []string, opt InspectOptions) (*InspectReport, error) {
	var files []string
	for _, p := range paths {
		err := filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			name := d.Name()
			if d.IsDir() {
				if path != p && strings.HasPrefix(name, ".") {
					return filepath.SkipDir
				}
				return nil
			}
			if strings.HasPrefix(name, ".") || strings.EqualFold(name, "DICOMDIR") {
				return nil
			}
			files = append(files, path)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	sort.Strings(files)
	rep := &InspectReport{Files: make([]FileReport, len(files))}
	images := make([][]cine.Image, len(files))
	workers := max(1, opt.Workers)
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				rep.Files[i], images[i] = inspectFile(files[i], opt)
			}
		}()
	}
	for i := range files {
		next <- i
	}
	close(next)
	wg.Wait()
	var all []cine.Image
	for _, ims := range images {
		all = append(all, ims...)
	}
	rep.Series = cine.Assemble(all, opt.Assemble)
	return rep, nil
}

func inspectFile(path string, opt InspectOptions) (FileReport, []cine.Image) {
	r := FileReport{Path: path}
	b, err := os.ReadFile(path)
	if err != nil {
		r.Err = err
		return r, nil
	}
	f, err := Parse(path, b)
	if err != nil {
		r.Err = err
		return r, nil
	}
	r.TransferSyntax = f.TransferSyntax.UID
	ims, err := f.Images()
	if err != nil {
		r.Err = err
		return r, nil
	}
	r.Frames = len(ims)
	if opt.Decode {
		if _, err := f.Decode(opt.DecodeOptions); err != nil {
			r.Err = err
			return r, nil
		}
	}
	return r, ims
}

// Problems counts unusable files and series that cannot be assembled.
func (r *InspectReport) Problems() (files, series int) {
	for _, f := range r.Files {
		if f.Err != nil {
			files++
		}
	}
	for _, s := range r.Series {
		if s.Err != nil {
			series++
		}
	}
	return
}

// WriteText writes the report: a count of files per transfer syntax, each
// unusable file with its reason, then each series with its slices × frames
// and its problems. Series UIDs are shown as short digests unless phi.
func (r *InspectReport) WriteText(w io.Writer, phi bool) {
	byTS := map[string]int{}
	for _, f := range r.Files {
		if f.TransferSyntax != "" {
			byTS[f.TransferSyntax]++
		}
	}
	var keys []string
	for k := range byTS {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	badFiles, badSeries := r.Problems()
	fmt.Fprintf(w, "%d file(s), %d unusable; %d series, %d unusable\n", len(r.Files), badFiles, len(r.Series), badSeries)
	for _, k := range keys {
		fmt.Fprintf(w, "  %5d  %s %s\n", byTS[k], k, transferSyntaxFor(k).Name)
	}
	for _, f := range r.Files {
		if f.Err != nil {
			fmt.Fprintf(w, "UNUSABLE %s: %v\n", f.Path, f.Err)
		}
	}
	for _, s := range r.Series {
		uid := s.SeriesUID
		if !phi {
			uid = redactUID(uid)
		}
		kind := "single images"
		if s.IsCine() {
			kind = "cine"
		}
		counts := s.FramesPerSlice()
		fmt.Fprintf(w, "series %s %q %dx%d %s: %d image(s), %d slice(s), frames per slice %s (%s)\n",
			s.SeriesNumber, s.SeriesDescription, s.Rows, s.Cols, uid, s.TotalImages, len(s.Slices), compactCounts(counts), kind)
		if s.HasOrientation {
			fmt.Fprintf(w, "    view hint: %s\n", viewHint(s.Normal))
		}
		if s.Err != nil {
			fmt.Fprintf(w, "    ERROR: %v\n", s.Err)
		}
		for _, e := range s.Warnings {
			fmt.Fprintf(w, "    warning: %v\n", e)
		}
	}
}

// compactCounts prints [20 20 20] as "12×20" when all equal.
func compactCounts(c []int) string {
	if len(c) == 0 {
		return "-"
	}
	for _, x := range c {
		if x != c[0] {
			return fmt.Sprint(c)
		}
	}
	return fmt.Sprintf("%d×%d", len(c), c[0])
}
