package main

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cmrfm/cmrfm/internal/fsutil"
	"github.com/cmrfm/cmrfm/internal/progress"
	"github.com/cmrfm/cmrfm/store"
)

func newStoreCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "store",
		Short: "Inspect and verify HDF5 study stores",
	}
	cmd.AddCommand(newStoreInspectCmd(a), newStoreVerifyCmd(a), newStoreVideoCmd(a))
	return cmd
}

func newStoreInspectCmd(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "inspect FILE|DIR...",
		Short: "List each study file's views, shapes, types, attributes and size",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var reps []store.FileReport
			for _, arg := range args {
				files, err := store.StudyFiles(arg)
				if err != nil {
					return err
				}
				if len(files) == 0 {
					return fmt.Errorf("%s: no %s files", arg, store.Ext)
				}
				for _, f := range files {
					reps = append(reps, store.VerifyFile(f))
				}
			}
			if asJSON {
				return writeReportsJSON(a.stdout, reps)
			}
			bad := 0
			for _, r := range reps {
				printInspect(a.stdout, r)
				if !r.OK() {
					bad++
				}
			}
			return outcome("store inspect", bad, len(reps))
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "write JSON instead of text")
	return cmd
}

func printInspect(w io.Writer, r store.FileReport) {
	if !r.OK() {
		fmt.Fprintf(w, "%s: BAD: %v\n", r.Path, r.Err)
		return
	}
	fmt.Fprintf(w, "%s (%s)\n", r.Path, humanBytes(r.Size))
	for _, v := range r.Views {
		fmt.Fprintf(w, "  %-4s %-8s stored %v %s → (c,f,h,w)=%v  slices=%d slice_frames=%v total_images=%d  %s\n",
			v.Name, v.Type, v.StoredDims, v.Layout, v.Shape, v.Slices(), v.SliceFrames, v.TotalImages, v.Storage)
	}
	for _, warn := range r.Warnings {
		fmt.Fprintf(w, "  warning: %s\n", warn)
	}
}

func newStoreVerifyCmd(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "verify DIR",
		Short: "Check every study file under DIR; report each bad file and exit non-zero if any",
		Long: `verify opens every .h5 file under DIR, reads every dataset in full, and checks
shapes and attributes (slice_frames strictly increasing, every slice non-empty).
It reports each file and goes on past bad ones; the exit status is 1 if any
file is bad.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			files, err := store.StudyFiles(args[0])
			if err != nil {
				return err
			}
			bar := progress.New(a.stderr, len(files), "verify", "files")
			var reps []store.FileReport
			ok, bad, err := store.Verify(cmd.Context(), args[0], a.workers, func(r store.FileReport) {
				bar.Add(1)
				if asJSON {
					reps = append(reps, r)
					return
				}
				if r.OK() {
					fmt.Fprintf(a.stdout, "ok   %s (%d views)\n", r.Path, len(r.Views))
					for _, w := range r.Warnings {
						fmt.Fprintf(a.stdout, "     warning: %s\n", w)
					}
				} else {
					fmt.Fprintf(a.stdout, "BAD  %s: %v\n", r.Path, r.Err)
				}
			})
			bar.Finish()
			if err != nil {
				return err
			}
			if asJSON {
				if err := writeReportsJSON(a.stdout, reps); err != nil {
					return err
				}
			} else {
				fmt.Fprintf(a.stdout, "%d files: %d ok, %d bad\n", ok+bad, ok, bad)
			}
			if ok+bad == 0 {
				return fmt.Errorf("%s: no %s files", args[0], store.Ext)
			}
			return outcome("store verify", bad, ok+bad)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "write JSON instead of text")
	return cmd
}

type jsonView struct {
	Name        string  `json:"name"`
	Type        string  `json:"dtype"`
	StoredDims  []int   `json:"stored_shape"`
	Layout      string  `json:"layout"`
	Shape       [4]int  `json:"shape_cfhw"`
	SliceFrames []int32 `json:"slice_frames"`
	TotalImages int32   `json:"total_images"`
	Storage     string  `json:"storage"`
}

type jsonReport struct {
	Path     string     `json:"path"`
	Size     int64      `json:"size_bytes"`
	OK       bool       `json:"ok"`
	Error    string     `json:"error,omitempty"`
	Views    []jsonView `json:"views,omitempty"`
	Warnings []string   `json:"warnings,omitempty"`
}

func writeReportsJSON(w io.Writer, reps []store.FileReport) error {
	out := make([]jsonReport, 0, len(reps))
	for _, r := range reps {
		j := jsonReport{Path: r.Path, Size: r.Size, OK: r.OK(), Warnings: r.Warnings}
		if r.Err != nil {
			j.Error = r.Err.Error()
		}
		for _, v := range r.Views {
			sf := v.SliceFrames
			if sf == nil {
				sf = []int32{}
			}
			j.Views = append(j.Views, jsonView{v.Name, v.Type, v.StoredDims, v.Layout.String(), v.Shape, sf, v.TotalImages, v.Storage})
		}
		out = append(out, j)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func newStoreVideoCmd(a *app) *cobra.Command {
	var (
		view, out, layout string
		slice             int
		fps               float64
	)
	cmd := &cobra.Command{
		Use:   "video FILE --view SAX [--slice k] --out x.gif|x.mp4",
		Short: "Write one view (one slice of a stack) as an animated GIF, or MP4 with ffmpeg, for quality control",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return usagef("--out is required (a .gif, or .mp4 when ffmpeg is installed)")
			}
			lay, err := store.ParseLayout(layout)
			if err != nil {
				return err
			}
			f, err := store.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			v, err := f.ReadVideo(view, lay)
			if err != nil {
				return err
			}
			if slice < 0 {
				slice = len(v.Slices()) / 2
			}
			clip, err := v.SliceClip(slice)
			if err != nil {
				return fmt.Errorf("%s view %s: %w", args[0], view, err)
			}
			if strings.EqualFold(filepath.Ext(out), ".mp4") {
				err = v.WriteMP4(out, clip, fps)
			} else {
				err = fsutil.WriteFileAtomic(out, func(w io.Writer) error { return v.WriteGIF(w, clip, fps) })
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "wrote %s: %s slice %d, %d frames of %dx%d\n", out, view, slice, clip.End-clip.Start, v.W, v.H)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&view, "view", "SAX", "dataset (view) to export")
	fl.IntVar(&slice, "slice", -1, "slice of a stack, 0-based (default: the middle slice)")
	fl.StringVar(&out, "out", "", "output .gif or .mp4")
	fl.Float64Var(&fps, "fps", 25, "frames per second")
	fl.StringVar(&layout, "layout", "auto", "axis order of the dataset: auto, cfhw, fchw or fhw")
	return cmd
}
