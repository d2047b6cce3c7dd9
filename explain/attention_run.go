package explain

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/gomlx/gomlx/core/tensors"

	"github.com/cmrfm/cmrfm/cine"
	"github.com/cmrfm/cmrfm/internal/fsutil"
	"github.com/cmrfm/cmrfm/internal/hdf5"
	"github.com/cmrfm/cmrfm/store"
	"github.com/cmrfm/cmrfm/train/data"
)

// AttentionManifest is the name of the manifest "cmrfm explain attention"
// writes at the top of its output folder: every clip with its files, and
// every study that failed.
const AttentionManifest = "attention.json"

// FormatH5 writes each clip's network input and attention maps in the
// authors' export layout instead of videos.
const FormatH5 = "h5"

// AttentionOptions configures [Attention].
type AttentionOptions struct {
	// Model is the encoder to explain; ModelOptions loads one when Model
	// is nil.
	Model        *Model
	ModelOptions ModelOptions
	// Store is the study store root; Index its dataset index (default
	// <store>/index.csv, optional when Studies are given).
	Store, Index string
	// Studies are study keys (parent_folder-accession, the predictions'
	// filenames). Without them, the index rows of Split are used (all rows
	// for "" or "all"), at most Limit of them (0: no limit).
	Studies []string
	Split   string
	Limit   int
	// Views keeps only clips of these views (nil: the bag's views).
	Views []cine.View
	// MaxClips bounds the clips per study (0: every clip of the bag).
	MaxClips int
	// Out is the output folder.
	Out string
	// Format is "mp4", "gif", "h5" or "" (MP4 when ffmpeg is on PATH,
	// else GIF).
	Format string
	// FPS is the videos' frame rate (0: 20).
	FPS float64
	// Render, NoRollout, NoGrids, NoSheet, Workers: see ClipRender.
	Render                      RenderOptions
	NoRollout, NoGrids, NoSheet bool
	Workers                     int
	Log                         *slog.Logger
	// Progress, if set, is called after each clip.
	Progress func(done, total int)
}

// ClipRecord is one clip in the manifest.
type ClipRecord struct {
	Study string `json:"study"`
	// Name is the clip's folder (or .h5 file stem) under the study's.
	Name  string `json:"name"`
	View  string `json:"view"`
	Slice int    `json:"slice"`
	// Start and End are the clip's frame range in the stored view.
	Start int `json:"start_frame"`
	End   int `json:"end_frame"`
	// Files are the rendered videos (nil for FormatH5); H5 the export.
	// Both are relative to the output folder (the manifest's).
	Files *ClipFiles `json:"files,omitempty"`
	H5    string     `json:"h5,omitempty"`
}

// Failure is a study that could not be explained.
type Failure struct {
	Study string `json:"study"`
	Error string `json:"error"`
}

// AttentionSummary is the manifest: what [Attention] did.
type AttentionSummary struct {
	Model    string       `json:"model"`
	Arch     string       `json:"arch"`
	Heads    int          `json:"heads"`
	Format   string       `json:"format"`
	Scale    string       `json:"scale"`
	Overlay  bool         `json:"overlay"`
	Clips    []ClipRecord `json:"clips"`
	Failures []Failure    `json:"failures,omitempty"`
	// Manifest is the manifest's path; Out the output folder, which the
	// clips' Dir and H5 paths are relative to.
	Manifest string `json:"-"`
	Out      string `json:"-"`
}

// Path returns the path of a clip's file name (one of its ClipFiles).
func (s *AttentionSummary) Path(c ClipRecord, name string) string {
	if c.Files == nil {
		return filepath.Join(s.Out, c.H5)
	}
	return filepath.Join(s.Out, c.Files.Dir, name)
}

// Studies counts the studies with at least one clip.
func (s *AttentionSummary) Studies() int {
	seen := map[string]bool{}
	for _, c := range s.Clips {
		seen[c.Study] = true
	}
	return len(seen)
}

// Attention explains studies of a store: every clip of each study's bag
// (as the model's evaluation sees it) is encoded, and its attention maps
// rendered into Out/<study>/<clip>/ (see [RenderClip]) or, with FormatH5,
// exported as Out/<study>/<clip>.h5 in the authors' layout (their
// visualize_attentions.py -i Out/<study> reads it). A study that fails
// (unreadable file, no usable clip) is recorded in the manifest and the
// others go on; Out/attention.json lists everything.
func Attention(ctx context.Context, o AttentionOptions) (*AttentionSummary, error) {
	if o.Out == "" {
		return nil, fmt.Errorf("explain: attention: no output folder")
	}
	if o.Store == "" {
		return nil, fmt.Errorf("explain: attention: no study store")
	}
	var vw *VideoWriter
	if o.Format != FormatH5 {
		var err error
		if vw, err = NewVideoWriter(o.Format, o.FPS); err != nil {
			return nil, err
		}
	}
	rows, err := selectStudies(o)
	if err != nil {
		return nil, err
	}
	m := o.Model
	if m == nil {
		if m, err = LoadModel(o.ModelOptions); err != nil {
			return nil, err
		}
	}
	if o.Views != nil {
		bag := m.Bag.Views
		if bag == nil {
			bag = data.DefaultViews()
		}
		var keep []cine.View
		for _, v := range o.Views {
			if !m.AnyView && !slices.Contains(bag, v) {
				return nil, fmt.Errorf("explain: view %s is not among the model's views %v", v, bag)
			}
			keep = append(keep, v)
		}
		m.Bag.Views = keep
	}
	sum := &AttentionSummary{Model: m.Source, Arch: m.Config.Name, Heads: m.Layout.Heads(), Format: o.Format,
		Scale: o.Render.Scale.String(), Overlay: o.Render.Overlay, Manifest: filepath.Join(o.Out, AttentionManifest), Out: o.Out}
	if vw != nil {
		sum.Format = vw.Format
	}
	render := ClipRender{Layout: m.Layout, Render: o.Render, Writer: vw, NoRollout: o.NoRollout, NoGrids: o.NoGrids,
		NoSheet: o.NoSheet, Workers: o.Workers}
	ds := &data.BagDataset{Root: o.Store, Rows: rows, Bag: m.Bag, Transform: m.Transform}
	done := 0
	for i, row := range rows {
		if err := ctx.Err(); err != nil {
			return sum, err
		}
		key := row.Filename()
		recs, err := explainStudy(ctx, m, ds, i, render, o)
		if err != nil {
			if ctx.Err() != nil {
				return sum, ctx.Err()
			}
			sum.Failures = append(sum.Failures, Failure{Study: key, Error: err.Error()})
			if o.Log != nil {
				o.Log.Warn("study not explained", "study", key, "err", err)
			}
		}
		sum.Clips = append(sum.Clips, recs...)
		done++
		if o.Progress != nil {
			o.Progress(done, len(rows))
		}
	}
	if err := writeJSON(sum.Manifest, sum); err != nil {
		return sum, err
	}
	return sum, nil
}

// selectStudies resolves the studies to explain.
func selectStudies(o AttentionOptions) ([]store.IndexRow, error) {
	idxPath := o.Index
	if idxPath == "" {
		idxPath = filepath.Join(o.Store, "index.csv")
	}
	var idx *store.Index
	if f, err := os.Open(idxPath); err == nil {
		idx, err = store.ReadIndex(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("explain: %s: %w", idxPath, err)
		}
	} else if o.Index != "" || len(o.Studies) == 0 {
		return nil, fmt.Errorf("explain: dataset index: %w", err)
	}
	if len(o.Studies) == 0 {
		var rows []store.IndexRow
		if o.Split == "" || o.Split == "all" {
			rows = idx.Rows
		} else {
			for _, r := range idx.Rows {
				if r.Split == o.Split {
					rows = append(rows, r)
				}
			}
		}
		if len(rows) == 0 {
			return nil, fmt.Errorf("explain: no studies of split %q in %s", o.Split, idxPath)
		}
		if o.Limit > 0 && len(rows) > o.Limit {
			rows = rows[:o.Limit]
		}
		return rows, nil
	}
	var rows []store.IndexRow
	for _, key := range o.Studies {
		var row *store.IndexRow
		if idx != nil {
			for i := range idx.Rows {
				if idx.Rows[i].Filename() == key {
					row = &idx.Rows[i]
					break
				}
			}
		}
		if row == nil {
			// Not in the index (or no index): the key names the file.
			parent, acc, ok := strings.Cut(key, "-")
			if ok {
				r := store.IndexRow{ParentFolder: parent, Accession: acc}
				if _, err := os.Stat(r.Path(o.Store)); err == nil {
					row = &r
				}
			}
		}
		if row == nil {
			return nil, fmt.Errorf("explain: study %q is not in the store %s (keys are parent_folder-accession, as in %s and the predictions' filenames)",
				key, o.Store, idxPath)
		}
		rows = append(rows, *row)
	}
	return rows, nil
}

// clipName names a clip's folder: its position in the bag, view and, for
// SAX, slice.
func clipName(k int, r data.ClipRef) string {
	s := fmt.Sprintf("clip_%02d_%s", k, r.View)
	if r.View == cine.ViewSAX {
		s += fmt.Sprintf("_slice_%02d", r.Slice)
	}
	return s
}

// explainStudy encodes and renders every clip of study i.
func explainStudy(ctx context.Context, m *Model, ds *data.BagDataset, i int, render ClipRender, o AttentionOptions) ([]ClipRecord, error) {
	bag, err := ds.Load(0, i)
	if err != nil {
		return nil, err
	}
	key := bag.Key
	if len(bag.Clips) == 0 {
		var why []string
		for _, s := range bag.Skipped {
			why = append(why, fmt.Sprintf("%s: %s", s.View, s.Reason))
		}
		return nil, fmt.Errorf("no usable clip (%s)", strings.Join(why, "; "))
	}
	var recs []ClipRecord
	cfg := m.Config
	for k, c := range bag.Clips {
		if o.MaxClips > 0 && k >= o.MaxClips {
			break
		}
		if err := ctx.Err(); err != nil {
			return recs, err
		}
		ref := bag.Refs[k]
		if c.C == 1 && cfg.InChannels > 1 {
			// A one-channel store: the grey plane repeated, as the reference's
			// three identical channels (cmrfm finetune does the same).
			c = &data.Clip{C: cfg.InChannels, T: c.T, H: c.H, W: c.W, Shared: true, Data: c.Data}
		}
		full := c.Expand()
		if full.C != cfg.InChannels || full.T != cfg.Frames || full.H != cfg.Height || full.W != cfg.Width {
			return recs, fmt.Errorf("clip %d is %d×%d×%d×%d, the encoder takes %d×%d×%d×%d", k, full.C, full.T, full.H, full.W,
				cfg.InChannels, cfg.Frames, cfg.Height, cfg.Width)
		}
		x := tensors.FromFlatDataAndDimensions(full.Data, 1, full.C, full.T, full.H, full.W)
		res, err := m.Encoder.Forward(x, true)
		if err != nil {
			return recs, err
		}
		ca := ClipAttention{Input: full.Data, Channels: full.C}
		for _, a := range res.Attention {
			d := a.Shape().Dimensions // [1, heads, Nq, Nk]
			ca.Blocks = append(ca.Blocks, BlockAttention{Heads: d[1], Nq: d[2], Nk: d[3], Data: tensors.MustCopyFlatData[float32](a)})
		}
		name := clipName(k, ref)
		ca.Title = fmt.Sprintf("%s %s (frames %d-%d), %s", key, name, ref.Start, ref.End, cfg.Name)
		rec := ClipRecord{Study: key, Name: name, View: string(ref.View), Slice: ref.Slice, Start: ref.Start, End: ref.End}
		studyDir := filepath.Join(o.Out, safeName(key))
		if o.Format == FormatH5 {
			p := filepath.Join(studyDir, name+".h5")
			if err := WriteAttentionH5(p, ca, [3]int(m.Layout.Input)); err != nil {
				return recs, err
			}
			rec.H5 = filepath.Join(safeName(key), name+".h5")
		} else {
			files, err := RenderClip(ctx, render, ca, filepath.Join(studyDir, name))
			if err != nil {
				return recs, err
			}
			files.Dir = filepath.Join(safeName(key), name)
			rec.Files = files
		}
		if o.Log != nil {
			o.Log.Info("explained clip", "study", key, "clip", name)
		}
		recs = append(recs, rec)
	}
	return recs, nil
}

// safeName keeps a study key usable as a folder name.
func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			return r
		}
		return '_'
	}, s)
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("explain: %w", err)
	}
	err = fsutil.WriteFileAtomic(path, func(w io.Writer) error { _, err := w.Write(append(b, '\n')); return err })
	if err != nil {
		return fmt.Errorf("explain: writing %s: %w", path, err)
	}
	return nil
}

// f32Bytes encodes float32 values little-endian.
func f32Bytes(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

// WriteAttentionH5 writes a clip in the authors' export layout
// (REFERENCE-SPEC §4.4): input_video float32 [C, T, H, W] and layer_00 …
// layer_LL float32 [heads, Nq, Nk] — what cmrfm forward --attention-out
// writes and the authors' visualize_attentions.py reads.
func WriteAttentionH5(path string, c ClipAttention, in [3]int) error {
	specs := []hdf5.DatasetSpec{{Name: "input_video", Dims: []uint64{uint64(c.Channels), uint64(in[0]), uint64(in[1]), uint64(in[2])},
		Type: hdf5.Datatype{Class: hdf5.ClassFloat, Size: 4}, Data: f32Bytes(c.Input)}}
	for i, b := range c.Blocks {
		specs = append(specs, hdf5.DatasetSpec{Name: fmt.Sprintf("layer_%02d", i), Dims: []uint64{uint64(b.Heads), uint64(b.Nq), uint64(b.Nk)},
			Type: hdf5.Datatype{Class: hdf5.ClassFloat, Size: 4}, Data: f32Bytes(b.Data)})
	}
	if err := fsutil.WriteFileAtomic(path, func(w io.Writer) error { return hdf5.Write(w, specs) }); err != nil {
		return fmt.Errorf("explain: writing %s: %w", path, err)
	}
	return nil
}

// ReadAttentionH5 reads a clip exported in the authors' layout (by cmrfm
// or by their own code).
func ReadAttentionH5(path string) (ClipAttention, error) {
	var c ClipAttention
	f, err := hdf5.Open(path)
	if err != nil {
		return c, fmt.Errorf("explain: %s: %w", path, err)
	}
	defer f.Close()
	members, err := f.Members()
	if err != nil {
		return c, fmt.Errorf("explain: %s: %w", path, err)
	}
	read := func(name string, rank int) ([]float32, []uint64, error) {
		ds, err := f.Dataset(name)
		if err != nil {
			return nil, nil, fmt.Errorf("explain: %s: %w", path, err)
		}
		if ds.Type.Class != hdf5.ClassFloat || ds.Type.Size != 4 || ds.Type.BigEndian || len(ds.Dims) != rank {
			return nil, nil, fmt.Errorf("explain: %s: %s is %s of rank %d, want little-endian float32 of rank %d", path, name, ds.Type, len(ds.Dims), rank)
		}
		raw, err := ds.ReadRaw()
		if err != nil {
			return nil, nil, fmt.Errorf("explain: %s: %s: %w", path, name, err)
		}
		v := make([]float32, len(raw)/4)
		for i := range v {
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
		return v, ds.Dims, nil
	}
	var layers []string
	hasInput := false
	for _, m := range members {
		switch {
		case m.Name == "input_video":
			hasInput = true
		case strings.HasPrefix(m.Name, "layer_"):
			layers = append(layers, m.Name)
		}
	}
	if !hasInput || len(layers) == 0 {
		return c, fmt.Errorf("explain: %s: not an attention export (want input_video and layer_00 …)", path)
	}
	sort.Strings(layers)
	in, dims, err := read("input_video", 4)
	if err != nil {
		return c, err
	}
	c.Input, c.Channels = in, int(dims[0])
	for i, name := range layers {
		if name != fmt.Sprintf("layer_%02d", i) {
			return c, fmt.Errorf("explain: %s: layers %v are not layer_00 … layer_%02d", path, layers, len(layers)-1)
		}
		v, d, err := read(name, 3)
		if err != nil {
			return c, err
		}
		c.Blocks = append(c.Blocks, BlockAttention{Heads: int(d[0]), Nq: int(d[1]), Nk: int(d[2]), Data: v})
	}
	return c, nil
}
