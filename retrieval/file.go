package retrieval

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/cmrfm/cmrfm/internal/fsutil"
	"github.com/cmrfm/cmrfm/internal/hdf5"
	"github.com/cmrfm/cmrfm/text"
)

// Format is the embeddings file's format name (dataset "format").
const Format = "cmrfm-embeddings/1"

// ErrNoStudy is returned for a study key the embeddings file does not
// hold.
var ErrNoStudy = errors.New("no such study in the embeddings file")

// TextInfo is what turning new text (queries, prompts) into text-tower
// input needs: the report index's tokenizer and sentence splitter.
type TextInfo struct {
	Tokenizer text.TokenizerInfo `json:"tokenizer"`
	Splitter  text.Splitter      `json:"splitter"`
}

// Settings are the embedding rules a file was made with (dataset
// "settings", JSON).
type Settings struct {
	// Split is the index split embedded ("" or "all": every row).
	Split string `json:"split"`
	// Views are the views whose clips were embedded.
	Views []string `json:"views"`
	// Pooling is the study rule (PoolViews, PoolClips or "view:<V>").
	Pooling string `json:"pooling"`
	// Sentences (k), SentenceSeed and SentenceDraw are the report rule:
	// k sentences drawn by text.Sampler with that seed at that draw, as
	// pretraining's validation does (draw 0, the run's seed).
	Sentences    int    `json:"sentences"`
	SentenceSeed uint64 `json:"sentence_seed"`
	SentenceDraw int64  `json:"sentence_draw"`
	// ClipSeed seeds the choice of a slice in multi-slice long-axis views
	// (mixed with a hash of the study key, so a study's clips do not
	// depend on which other studies are embedded).
	ClipSeed uint64 `json:"clip_seed"`
	// Fingerprint identifies the run (checkpoint, studies and their
	// splits, report index bytes, the settings above): a rerun with the
	// same fingerprint resumes or finds the file up to date.
	Fingerprint string `json:"fingerprint"`
}

// File is an embeddings file in memory (docs/retrieval.md, "The
// embeddings file"). Embeddings are row-major [rows, Dim] float32, each
// row L2-normalised. Row links (ViewStudy, ClipStudy, ReportStudy) are
// 0-based rows of Studies; ReportStudy is −1 for a report whose study has
// no video embedding.
type File struct {
	Checkpoint, CheckpointSHA256 string
	// Config is the pretraining run's configuration (YAML) from the
	// checkpoint.
	Config   string
	Settings Settings
	// Text is nil when no reports were embedded.
	Text *TextInfo
	Dim  int

	Studies  []string
	Splits   []string
	StudyEmb []float32

	ViewStudy []int32
	ViewName  []string
	ViewClips []int32
	ViewEmb   []float32

	ClipStudy                      []int32
	ClipView                       []string
	ClipSlice, ClipStart, ClipEnd  []int32
	ClipEmb                        []float32
	Reports                        []string
	ReportStudy                    []int32
	ReportEmb                      []float32
	SkippedStudies, SkippedReasons []string
}

// StudyRow returns the row of a study key, or an error wrapping
// ErrNoStudy naming the file.
func (f *File) StudyRow(key, path string) (int, error) {
	i := slices.Index(f.Studies, key)
	if i < 0 {
		return 0, fmt.Errorf("retrieval: %s: study %q: %w", path, key, ErrNoStudy)
	}
	return i, nil
}

// Row returns row i of a [rows, Dim] embedding matrix.
func (f *File) Row(m []float32, i int) []float32 { return m[i*f.Dim : (i+1)*f.Dim] }

func f32Bytes(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func i32Bytes(v []int32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], uint32(x))
	}
	return b
}

var (
	typeF32 = hdf5.Datatype{Class: hdf5.ClassFloat, Size: 4}
	typeI32 = hdf5.Datatype{Class: hdf5.ClassFixed, Size: 4, Signed: true}
)

// Write writes the file atomically (temporary file, fsync, rename).
func (f *File) Write(path string) error {
	ds, err := f.datasets()
	if err != nil {
		return fmt.Errorf("retrieval: %s: %w", path, err)
	}
	if err := fsutil.WriteFileAtomic(path, func(w io.Writer) error { return hdf5.Write(w, ds) }); err != nil {
		return fmt.Errorf("retrieval: %s: %w", path, err)
	}
	return nil
}

func (f *File) datasets() ([]hdf5.DatasetSpec, error) {
	if f.Dim <= 0 {
		return nil, fmt.Errorf("embedding width %d", f.Dim)
	}
	settings, err := json.Marshal(f.Settings)
	if err != nil {
		return nil, err
	}
	textInfo := []byte("null")
	if f.Text != nil {
		if textInfo, err = json.Marshal(f.Text); err != nil {
			return nil, err
		}
	}
	var out []hdf5.DatasetSpec
	var firstErr error
	str := func(name string, v []string, scalar bool) {
		d, err := hdf5.StringDataset(name, v, scalar)
		if err != nil && firstErr == nil {
			firstErr = err
		}
		out = append(out, d)
	}
	mat := func(name string, v []float32, rows int) {
		if len(v) != rows*f.Dim && firstErr == nil {
			firstErr = fmt.Errorf("%s: %d values for %d rows of %d", name, len(v), rows, f.Dim)
		}
		out = append(out, hdf5.DatasetSpec{Name: name, Dims: []uint64{uint64(rows), uint64(f.Dim)}, Type: typeF32, Data: f32Bytes(v)})
	}
	ints := func(name string, v []int32) {
		out = append(out, hdf5.DatasetSpec{Name: name, Dims: []uint64{uint64(len(v))}, Type: typeI32, Data: i32Bytes(v)})
	}
	str("format", []string{Format}, true)
	str("checkpoint", []string{f.Checkpoint}, true)
	str("checkpoint_sha256", []string{f.CheckpointSHA256}, true)
	str("config", []string{f.Config}, true)
	str("settings", []string{string(settings)}, true)
	str("text", []string{string(textInfo)}, true)
	str("study_keys", f.Studies, false)
	str("study_split", f.Splits, false)
	mat("study_embedding", f.StudyEmb, len(f.Studies))
	ints("view_study", f.ViewStudy)
	str("view_name", f.ViewName, false)
	ints("view_clips", f.ViewClips)
	mat("view_embedding", f.ViewEmb, len(f.ViewStudy))
	ints("clip_study", f.ClipStudy)
	str("clip_view", f.ClipView, false)
	ints("clip_slice", f.ClipSlice)
	ints("clip_start", f.ClipStart)
	ints("clip_end", f.ClipEnd)
	mat("clip_embedding", f.ClipEmb, len(f.ClipStudy))
	str("report_keys", f.Reports, false)
	ints("report_study", f.ReportStudy)
	mat("report_embedding", f.ReportEmb, len(f.Reports))
	str("skipped_keys", f.SkippedStudies, false)
	str("skipped_reason", f.SkippedReasons, false)
	if firstErr != nil {
		return nil, firstErr
	}
	if len(f.Splits) != len(f.Studies) || len(f.ViewName) != len(f.ViewStudy) || len(f.ViewClips) != len(f.ViewStudy) ||
		len(f.ClipView) != len(f.ClipStudy) || len(f.ClipSlice) != len(f.ClipStudy) || len(f.ClipStart) != len(f.ClipStudy) ||
		len(f.ClipEnd) != len(f.ClipStudy) || len(f.ReportStudy) != len(f.Reports) || len(f.SkippedReasons) != len(f.SkippedStudies) {
		return nil, fmt.Errorf("columns of different lengths")
	}
	return out, nil
}

// ReadFile reads an embeddings file; errors name the file and the
// dataset.
func ReadFile(path string) (*File, error) {
	h, err := hdf5.Open(path)
	if err != nil {
		return nil, fmt.Errorf("retrieval: %s: %w", path, err)
	}
	defer h.Close()
	r := &fileReader{h: h, path: path}
	f := &File{}
	if format := r.scalar("format"); r.err == nil && format != Format {
		return nil, fmt.Errorf("retrieval: %s: format %q, want %q (not a cmrfm embed file?)", path, format, Format)
	}
	f.Checkpoint = r.scalar("checkpoint")
	f.CheckpointSHA256 = r.scalar("checkpoint_sha256")
	f.Config = r.scalar("config")
	if s := r.scalar("settings"); r.err == nil {
		if err := json.Unmarshal([]byte(s), &f.Settings); err != nil {
			return nil, fmt.Errorf("retrieval: %s: settings: %w", path, err)
		}
	}
	if s := r.scalar("text"); r.err == nil && s != "null" {
		f.Text = &TextInfo{}
		if err := json.Unmarshal([]byte(s), f.Text); err != nil {
			return nil, fmt.Errorf("retrieval: %s: text: %w", path, err)
		}
	}
	f.Studies = r.strings("study_keys")
	f.Splits = r.strings("study_split")
	f.StudyEmb, f.Dim = r.matrix("study_embedding", len(f.Studies), 0)
	f.ViewStudy = r.ints("view_study")
	f.ViewName = r.strings("view_name")
	f.ViewClips = r.ints("view_clips")
	f.ViewEmb, _ = r.matrix("view_embedding", len(f.ViewStudy), f.Dim)
	f.ClipStudy = r.ints("clip_study")
	f.ClipView = r.strings("clip_view")
	f.ClipSlice = r.ints("clip_slice")
	f.ClipStart = r.ints("clip_start")
	f.ClipEnd = r.ints("clip_end")
	f.ClipEmb, _ = r.matrix("clip_embedding", len(f.ClipStudy), f.Dim)
	f.Reports = r.strings("report_keys")
	f.ReportStudy = r.ints("report_study")
	f.ReportEmb, _ = r.matrix("report_embedding", len(f.Reports), f.Dim)
	f.SkippedStudies = r.strings("skipped_keys")
	f.SkippedReasons = r.strings("skipped_reason")
	if r.err != nil {
		return nil, r.err
	}
	for name, idx := range map[string][]int32{"view_study": f.ViewStudy, "clip_study": f.ClipStudy} {
		for i, s := range idx {
			if s < 0 || int(s) >= len(f.Studies) {
				return nil, fmt.Errorf("retrieval: %s: %s[%d] = %d, outside the %d studies", path, name, i, s, len(f.Studies))
			}
		}
	}
	for i, s := range f.ReportStudy {
		if s < -1 || int(s) >= len(f.Studies) {
			return nil, fmt.Errorf("retrieval: %s: report_study[%d] = %d, outside the %d studies", path, i, s, len(f.Studies))
		}
	}
	return f, nil
}

// fileReader reads datasets, keeping the first error (naming the file and
// the dataset).
type fileReader struct {
	h    *hdf5.File
	path string
	err  error
}

func (r *fileReader) open(name string) *hdf5.Dataset {
	if r.err != nil {
		return nil
	}
	ds, err := r.h.Dataset(name)
	if err != nil {
		r.err = fmt.Errorf("retrieval: %s: dataset %s: %w", r.path, name, err)
		return nil
	}
	return ds
}

func (r *fileReader) strings(name string) []string {
	ds := r.open(name)
	if ds == nil {
		return nil
	}
	s, err := ds.ReadStrings()
	if err != nil {
		r.err = fmt.Errorf("retrieval: %s: dataset %s: %w", r.path, name, err)
	}
	return s
}

func (r *fileReader) scalar(name string) string {
	s := r.strings(name)
	if r.err == nil && len(s) != 1 {
		r.err = fmt.Errorf("retrieval: %s: dataset %s holds %d values, want 1", r.path, name, len(s))
	}
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

func (r *fileReader) ints(name string) []int32 {
	ds := r.open(name)
	if ds == nil {
		return nil
	}
	if ds.Type != typeI32 || len(ds.Dims) != 1 {
		r.err = fmt.Errorf("retrieval: %s: dataset %s is %s %v, want int32 [n]", r.path, name, ds.Type, ds.Dims)
		return nil
	}
	raw, err := ds.ReadRaw()
	if err != nil {
		r.err = fmt.Errorf("retrieval: %s: dataset %s: %w", r.path, name, err)
		return nil
	}
	out := make([]int32, ds.Len())
	for i := range out {
		out[i] = int32(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return out
}

// matrix reads a float32 [rows, d] dataset (d = 0: any width, returned).
func (r *fileReader) matrix(name string, rows, d int) ([]float32, int) {
	ds := r.open(name)
	if ds == nil {
		return nil, 0
	}
	if len(ds.Dims) != 2 || int(ds.Dims[0]) != rows || (d > 0 && int(ds.Dims[1]) != d) || ds.Type != typeF32 {
		r.err = fmt.Errorf("retrieval: %s: dataset %s is %s %v, want float32 [%d, %d]", r.path, name, ds.Type, ds.Dims, rows, d)
		return nil, 0
	}
	v, err := ds.ReadFloat32()
	if err != nil {
		r.err = fmt.Errorf("retrieval: %s: dataset %s: %w", r.path, name, err)
		return nil, 0
	}
	for i, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			r.err = fmt.Errorf("retrieval: %s: dataset %s: value %d is %g", r.path, name, i, x)
			return nil, 0
		}
	}
	return v, int(ds.Dims[1])
}
