package store

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/cmrfm/cmrfm/cine"
)

// ViewSummary is what verification learned about one dataset.
type ViewSummary struct {
	Name        string
	Shape       [4]int // (c, f, h, w) after layout resolution
	StoredDims  []int
	Type        string
	Layout      Layout
	Storage     string
	SliceFrames []int32
	TotalImages int32
}

// Slices returns the number of slices the view holds.
func (v ViewSummary) Slices() int { return len(v.SliceFrames) + 1 }

// FileReport is the outcome of checking one study file.
type FileReport struct {
	Path     string
	Size     int64
	Views    []ViewSummary
	Warnings []string
	// Err is nil when the file is a valid study file.
	Err error
}

// OK reports whether the file passed.
func (r FileReport) OK() bool { return r.Err == nil }

// VerifyFile opens path and reads every dataset in full, checking that the
// file is a study file: it opens, has at least one root dataset, every
// dataset is a 3- or 4-D numeric video whose values can all be read, and
// slice_frames is strictly increasing with every slice non-empty (the last
// slice ends at frame f−1). Odd but legal content — non-canonical view names,
// slices of unequal length, total_images below the frame count — gives
// warnings.
func VerifyFile(path string) FileReport {
	rep := FileReport{Path: path}
	f, err := Open(path)
	if err != nil {
		rep.Err = err
		return rep
	}
	defer f.Close()
	rep.Size = f.Size
	infos := f.Info()
	if len(infos) == 0 {
		rep.Err = fmt.Errorf("store: %s: %w: no datasets at the root", path, ErrFormat)
		return rep
	}
	for _, di := range infos {
		if di.Err != nil {
			rep.Err = di.Err
			return rep
		}
		v, err := f.ReadVideo(di.Name, LayoutAuto)
		if err != nil {
			rep.Err = err
			return rep
		}
		vs := ViewSummary{
			Name: di.Name, Shape: v.Shape(), StoredDims: di.Dims, Type: di.Type, Layout: di.Layout,
			Storage: di.Storage, SliceFrames: v.SliceFrames, TotalImages: v.TotalImages,
		}
		rep.Views = append(rep.Views, vs)
		if !cine.View(di.Name).Canonical() {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("dataset %s: not a canonical view name (4CH, 3CH, 2CH, SAX)", di.Name))
		}
		if _, ok := di.Attrs["slice_frames"]; !ok {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("dataset %s: no slice_frames attribute (the reference loader requires it)", di.Name))
		}
		if _, ok := di.Attrs["total_images"]; !ok {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("dataset %s: no total_images attribute", di.Name))
		}
		if v.TotalImages < int32(v.F) {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("dataset %s: total_images %d < %d frames", di.Name, v.TotalImages, v.F))
		}
		sl := v.Slices()
		for _, s := range sl[1:] {
			if s.End-s.Start != sl[0].End-sl[0].Start {
				rep.Warnings = append(rep.Warnings, fmt.Sprintf("dataset %s: slices of unequal length %v", di.Name, sliceLens(sl)))
				break
			}
		}
	}
	return rep
}

func sliceLens(sl []cine.Clip) []int {
	out := make([]int, len(sl))
	for i, s := range sl {
		out[i] = s.End - s.Start
	}
	return out
}

// StudyFiles lists the .h5 files under root (a file or a folder) in
// lexical order.
func StudyFiles(root string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.EqualFold(filepath.Ext(p), Ext) {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: list %s: %w", root, err)
	}
	sort.Strings(out)
	return out, nil
}

// Verify checks every study file under root with the given number of
// workers, calling report once per file in lexical path order as results
// become available. It goes on past bad files and returns how many passed
// and failed; err is set only when the folder cannot be listed or ctx ends.
func Verify(ctx context.Context, root string, workers int, report func(FileReport)) (ok, bad int, err error) {
	files, err := StudyFiles(root)
	if err != nil {
		return 0, 0, err
	}
	if workers < 1 {
		workers = 1
	}
	results := make([]chan FileReport, len(files))
	for i := range results {
		results[i] = make(chan FileReport, 1)
	}
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				results[i] <- VerifyFile(files[i])
			}
		}()
	}
	go func() {
		defer close(jobs)
		for i := range files {
			select {
			case jobs <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	for i := range files {
		select {
		case r := <-results[i]:
			if r.OK() {
				ok++
			} else {
				bad++
			}
			if report != nil {
				report(r)
			}
		case <-ctx.Done():
			wg.Wait()
			return ok, bad, ctx.Err()
		}
	}
	wg.Wait()
	return ok, bad, nil
}
