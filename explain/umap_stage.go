package explain

import (
	"context"
	"encoding/binary"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/cmrfm/cmrfm/explain/umap"
	"github.com/cmrfm/cmrfm/internal/fsutil"
	"github.com/cmrfm/cmrfm/model/weights"
	"github.com/cmrfm/cmrfm/store"
)

// Output file names of "cmrfm explain umap" (stable: the HTML report links
// them).
const (
	UMAPCSV     = "umap.csv"
	UMAPPlot    = "umap" // .png and .svg
	UMAPSummary = "umap.json"
)

// Arrays of cmrfm predict --embeddings an embedding can be taken from.
const (
	ArrayStudy  = "study_embedding" // one row per study (the MIL-pooled embedding)
	ArrayView   = "view_embedding"  // one row per clip
	ArrayPooled = "study_pooled"    // the head's pooled features
)

// UMAPOptions configures [UMAP].
type UMAPOptions struct {
	// Embeddings is cmrfm predict --embeddings' .npz, a .npy [N, D] or a
	// CSV of N rows of D numbers (no header).
	Embeddings string
	// Array picks the .npz array (default study_embedding).
	Array string
	// Predictions is the predictions CSV of the same predict run: its
	// filenames name the embedding rows (study keys).
	Predictions string
	// Labels is a CSV holding ColorBy: a dataset index (keys
	// parent_folder-accession), a predictions CSV (filenames), or cmrfm
	// predict --clips' per-clip CSV, whose rows are the view_embedding
	// rows (so --color-by views colours clips by view). Without
	// Predictions, a labels file with a filenames column and one row per
	// embedding row names the rows itself.
	Labels, ColorBy string
	// Out is the output folder.
	Out string
	// UMAP are the projection's parameters (zero value: umap-learn's
	// defaults); Seed seeds it.
	UMAP umap.Options
	// Trustworthiness computes T(15) of the result when there are at most
	// this many points (0 means 5000; negative: never).
	Trustworthiness int
	Log             *slog.Logger
}

// UMAPResult is the summary [UMAP] writes as umap.json.
type UMAPResult struct {
	Embeddings string  `json:"embeddings"`
	Array      string  `json:"array"`
	Points     int     `json:"points"`
	Dim        int     `json:"dim"`
	ColorBy    string  `json:"color_by,omitempty"`
	Neighbors  int     `json:"n_neighbors"`
	MinDist    float64 `json:"min_dist"`
	Epochs     int     `json:"epochs"`
	Init       string  `json:"init"`
	Seed       uint64  `json:"seed"`
	A          float64 `json:"a"`
	B          float64 `json:"b"`
	// Trustworthiness is T(15) (sklearn's definition), when computed.
	Trustworthiness *float64 `json:"trustworthiness_15,omitempty"`
	Seconds         float64  `json:"seconds"`
	Files           []string `json:"files"`
	// Coords are the points (not in the JSON: umap.csv holds them).
	Coords [][2]float64 `json:"-"`
	Keys   []string     `json:"-"`
	Labels []string     `json:"-"`
}

// UMAP projects embeddings to 2-D and writes Out/umap.csv (row, key,
// label, x, y), the scatter plot Out/umap.{png,svg} coloured by label, and
// Out/umap.json (parameters, timing, trustworthiness).
func UMAP(ctx context.Context, o UMAPOptions) (*UMAPResult, error) {
	if o.Out == "" {
		return nil, errors.New("explain: umap: no output folder")
	}
	if o.ColorBy != "" && o.Labels == "" && o.Predictions == "" {
		return nil, errors.New("explain: umap: coloring by a column needs a labels (or predictions) file")
	}
	x, owner, array, err := readEmbeddings(o.Embeddings, o.Array)
	if err != nil {
		return nil, err
	}
	keys, err := rowKeys(o, x.N, owner)
	if err != nil {
		return nil, err
	}
	var labels []string
	if o.ColorBy != "" {
		src := o.Labels
		if src == "" {
			src = o.Predictions
		}
		if labels, err = labelsFor(src, o.ColorBy, keys, x.N, array == ArrayView); err != nil {
			return nil, err
		}
	}
	t0 := time.Now()
	res, err := umap.Fit(ctx, x, o.UMAP)
	if err != nil {
		return nil, fmt.Errorf("explain: %s: %w", o.Embeddings, err)
	}
	out := &UMAPResult{Embeddings: o.Embeddings, Array: array, Points: x.N, Dim: x.D, ColorBy: o.ColorBy,
		Neighbors: res.KNN.K, MinDist: o.UMAP.MinDist, Epochs: res.Epochs, Init: res.Init, Seed: o.UMAP.Seed, A: res.A, B: res.B,
		Seconds: time.Since(t0).Seconds(), Keys: keys, Labels: labels}
	if out.MinDist == 0 {
		out.MinDist = 0.1
	}
	for i := range x.N {
		p := res.Point(i)
		out.Coords = append(out.Coords, [2]float64{p[0], p[1]})
	}
	limit := o.Trustworthiness
	if limit == 0 {
		limit = 5000
	}
	if x.N <= limit && 15 < x.N/2 {
		t, err := umap.Trustworthiness(x, res.Embedding, res.Dim, 15)
		if err == nil {
			out.Trustworthiness = &t
		}
	}
	csvPath := filepath.Join(o.Out, UMAPCSV)
	if err := writeUMAPCSV(csvPath, out); err != nil {
		return nil, err
	}
	out.Files = append(out.Files, csvPath)
	p, err := UMAPScatter(out.Coords, labels, o.ColorBy)
	if err != nil {
		return nil, err
	}
	files, err := savePlot(p, 6*72, 5.2*72, o.Out, UMAPPlot)
	if err != nil {
		return nil, err
	}
	out.Files = append(out.Files, files...)
	sj := filepath.Join(o.Out, UMAPSummary)
	out.Files = append(out.Files, sj)
	if err := writeJSON(sj, out); err != nil {
		return nil, err
	}
	return out, nil
}

// readEmbeddings reads the embedding matrix; owner maps view rows to
// their study row (nil otherwise).
func readEmbeddings(path, array string) (x umap.Data, owner []int, name string, err error) {
	if path == "" {
		return x, nil, "", errors.New("explain: umap: no embeddings file")
	}
	if strings.HasSuffix(strings.ToLower(path), ".csv") {
		x, err = readCSVMatrix(path)
		return x, nil, "csv", err
	}
	set, err := weights.Load(path)
	if err != nil {
		return x, nil, "", fmt.Errorf("explain: %w", err)
	}
	name = array
	if name == "" {
		name = ArrayStudy
		if _, ok := set.Tensors[name]; !ok && len(set.Tensors) == 1 {
			name = set.Names()[0]
		}
	}
	t, ok := set.Tensors[name]
	if !ok {
		return x, nil, "", fmt.Errorf("explain: %s has no array %q (it holds %v)", path, name, set.Names())
	}
	if len(t.Shape) != 2 || t.Shape[0] < 1 || t.Shape[1] < 2 {
		return x, nil, "", fmt.Errorf("explain: %s: %s has shape %v, want [points, width ≥ 2]", path, name, t.Shape)
	}
	// The arrays of one predict run share the embedding width.
	if name == ArrayView || name == ArrayStudy {
		other := map[string]string{ArrayView: ArrayStudy, ArrayStudy: ArrayView}[name]
		if o, ok := set.Tensors[other]; ok && len(o.Shape) == 2 && o.Shape[1] != t.Shape[1] {
			return x, nil, "", fmt.Errorf("explain: %s: %s is %d wide but %s %d: not one model's embeddings", path, name, t.Shape[1], other, o.Shape[1])
		}
	}
	v, err := t.Float32()
	if err != nil {
		return x, nil, "", fmt.Errorf("explain: %s: %s: %w", path, name, err)
	}
	x = umap.Data{N: t.Shape[0], D: t.Shape[1], X: v}
	for i, f := range v {
		if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
			return x, nil, "", fmt.Errorf("explain: %s: %s row %d has a non-finite value", path, name, i/x.D)
		}
	}
	if name == ArrayView {
		vs, ok := set.Tensors["view_study"]
		if ok && len(vs.Shape) == 1 && vs.Shape[0] == x.N && vs.DType == weights.I32 {
			owner = make([]int, x.N)
			for i := range owner {
				owner[i] = int(int32(binary.LittleEndian.Uint32(vs.Data[4*i:])))
			}
		}
	}
	return x, owner, name, nil
}

func readCSVMatrix(path string) (umap.Data, error) {
	var x umap.Data
	f, err := os.Open(path)
	if err != nil {
		return x, fmt.Errorf("explain: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	line := 0
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line++
		if err != nil {
			return x, fmt.Errorf("explain: %s: %w", path, err)
		}
		if x.D == 0 {
			x.D = len(rec)
		}
		if len(rec) != x.D {
			return x, fmt.Errorf("explain: %s line %d: %d values, the first row has %d (embeddings of one width)", path, line, len(rec), x.D)
		}
		for _, s := range rec {
			v, err := strconv.ParseFloat(strings.TrimSpace(s), 32)
			if err != nil {
				return x, fmt.Errorf("explain: %s line %d: %q is not a number", path, line, s)
			}
			x.X = append(x.X, float32(v))
		}
		x.N++
	}
	if x.N == 0 || x.D < 2 {
		return x, fmt.Errorf("explain: %s: want rows of at least 2 numbers", path)
	}
	return x, nil
}

// readKeyed reads a CSV's header and rows.
func readKeyed(path string) ([]string, [][]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("explain: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		return nil, nil, fmt.Errorf("explain: %s: %w", path, err)
	}
	if len(recs) == 0 {
		return nil, nil, fmt.Errorf("explain: %s: empty file", path)
	}
	return recs[0], recs[1:], nil
}

func colIndex(head []string, name string) int {
	for i, h := range head {
		if strings.TrimSpace(h) == name {
			return i
		}
	}
	return -1
}

// rowKeys names the embedding rows by study key (nil when nothing names
// them).
func rowKeys(o UMAPOptions, n int, owner []int) ([]string, error) {
	src := o.Predictions
	if src == "" && o.Labels != "" {
		head, _, err := readKeyed(o.Labels)
		if err != nil {
			return nil, err
		}
		if colIndex(head, "filenames") >= 0 && colIndex(head, "clip") < 0 {
			src = o.Labels
		}
	}
	if src == "" {
		return nil, nil
	}
	head, rows, err := readKeyed(src)
	if err != nil {
		return nil, err
	}
	fc := colIndex(head, "filenames")
	if fc < 0 {
		return nil, fmt.Errorf("explain: %s has no filenames column to name the embedding rows", src)
	}
	keys := make([]string, len(rows))
	for i, r := range rows {
		if fc >= len(r) {
			return nil, fmt.Errorf("explain: %s line %d: too few fields", src, i+2)
		}
		keys[i] = r[fc]
	}
	if owner != nil {
		out := make([]string, n)
		for i, s := range owner {
			if s < 0 || s >= len(keys) {
				return nil, fmt.Errorf("explain: %s: view row %d belongs to study row %d, %s has %d rows", o.Embeddings, i, s, src, len(keys))
			}
			out[i] = keys[s]
		}
		return out, nil
	}
	if len(keys) != n {
		return nil, fmt.Errorf("explain: %s has %d rows but %s has %d embeddings: not the same predict run", src, len(keys), o.Embeddings, n)
	}
	return keys, nil
}

// labelsFor reads column col for every key from a dataset index
// (parent_folder, accession) or a table with a filenames column; a
// per-clip table (a clip column) labels view rows by position.
func labelsFor(path, col string, keys []string, n int, viewRows bool) ([]string, error) {
	head, rows, err := readKeyed(path)
	if err != nil {
		return nil, err
	}
	cc := colIndex(head, col)
	if cc < 0 {
		return nil, fmt.Errorf("explain: %s has no column %q (columns %v)", path, col, head)
	}
	if colIndex(head, "clip") >= 0 {
		if !viewRows || len(rows) != n {
			return nil, fmt.Errorf("explain: %s is a per-clip table (%d rows): it labels the %d view_embedding rows of the same predict run, not these %d rows",
				path, len(rows), len(rows), n)
		}
		out := make([]string, n)
		for i, r := range rows {
			if cc < len(r) {
				out[i] = strings.TrimSpace(r[cc])
			}
		}
		return out, nil
	}
	byKey := map[string]string{}
	fc, pc, ac := colIndex(head, "filenames"), colIndex(head, "parent_folder"), colIndex(head, "accession")
	for _, r := range rows {
		if cc >= len(r) {
			continue
		}
		switch {
		case fc >= 0 && fc < len(r):
			byKey[r[fc]] = r[cc]
		case pc >= 0 && ac >= 0 && pc < len(r) && ac < len(r):
			byKey[store.IndexRow{ParentFolder: r[pc], Accession: r[ac]}.Filename()] = r[cc]
		}
	}
	if keys == nil {
		return nil, fmt.Errorf("explain: coloring by %q needs the study key of every embedding row: give the predictions CSV of the same predict run", col)
	}
	out := make([]string, n)
	missing := 0
	for i, k := range keys {
		v, ok := byKey[k]
		if !ok {
			missing++
			v = ""
		}
		out[i] = strings.TrimSpace(v)
	}
	if missing == n {
		return nil, fmt.Errorf("explain: none of the %d embedding rows' studies is in %s", n, path)
	}
	return out, nil
}

func writeUMAPCSV(path string, r *UMAPResult) error {
	err := fsutil.WriteFileAtomic(path, func(f io.Writer) error {
		w := csv.NewWriter(f)
		head := []string{"row", "key", "label", "umap_1", "umap_2"}
		if err := w.Write(head); err != nil {
			return err
		}
		for i, c := range r.Coords {
			var key, lab string
			if r.Keys != nil {
				key = r.Keys[i]
			}
			if r.Labels != nil {
				lab = r.Labels[i]
			}
			if err := w.Write([]string{strconv.Itoa(i), key, lab, fmtFloat(c[0]), fmtFloat(c[1])}); err != nil {
				return err
			}
		}
		w.Flush()
		return w.Error()
	})
	if err != nil {
		return fmt.Errorf("explain: %s: %w", path, err)
	}
	return nil
}
