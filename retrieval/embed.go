package retrieval

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/cmrfm/cmrfm/cine"
	"github.com/cmrfm/cmrfm/store"
	"github.com/cmrfm/cmrfm/text"
	"github.com/cmrfm/cmrfm/train/data"
	"github.com/cmrfm/cmrfm/train/pretrain"
	"github.com/gomlx/compute"
)

// Study pooling rules (EmbedOptions.Pooling).
const (
	// PoolViews: the study embedding is the normalised mean of its view
	// embeddings (each view counts once, however many SAX slices it has).
	PoolViews = "views"
	// PoolClips: the normalised mean of all its clip embeddings (a SAX
	// stack of 10 slices weighs 10 times a 4CH clip).
	PoolClips = "clips"
	// PoolViewPrefix + a view name ("view:4CH"): that view's embedding
	// only; studies without the view are skipped.
	PoolViewPrefix = "view:"
)

// EmbedOptions configures Embed.
type EmbedOptions struct {
	// Checkpoint is a cmrfm pretrain checkpoint; Model, if set, is used
	// instead of loading it.
	Checkpoint string
	Model      *Model
	// Store is the study store; Index its dataset index (default
	// <store>/index.csv); Split selects rows ("" or "all": every row).
	Store, Index, Split string
	// Reports is a report index (cmrfm text index); "" embeds no text.
	Reports string
	// Out is the embeddings file. Finished chunks are kept in
	// <Out>.parts/ until the file is written, so a killed run resumes.
	Out string
	// Views are the views whose clips are embedded (default: the views
	// the checkpoint was pretrained on, its data.views).
	Views []string
	// Pooling is the study rule: PoolViews (default), PoolClips or
	// "view:<V>".
	Pooling string
	// Batch is the number of clips (and reports) per forward pass
	// (default 8); ChunkSize the number of studies per resumable part
	// (default 128).
	Batch, ChunkSize int
	// Workers load studies in parallel (default 1); the backend uses every
	// CPU for the towers.
	Workers int
	Backend compute.Backend
	Log     *slog.Logger
	// Progress, if set, is called with the number of studies done (from
	// this run or found done in the parts) and the total.
	Progress func(done, total int)
}

// EmbedSummary says what Embed did.
type EmbedSummary struct {
	Out                             string
	Studies, Views, Clips, Reports  int
	Skipped                         int
	Resumed                         int // studies found done in <Out>.parts
	UpToDate                        bool
	SkippedStudies, SkippedReasons  []string
	CheckpointSHA256, Pooling, Dims string
}

// ErrPartial is returned (wrapped) by Embed when some studies had no
// usable clip: the file is written without them and names them.
var ErrPartial = errors.New("some studies were skipped")

// Embed embeds the studies (and reports) of a store with a pretraining
// checkpoint's towers and writes an embeddings file (docs/retrieval.md).
//
// Clips are chosen as fine-tuning evaluates: every clip of every wanted
// view — each SAX slice, the whole cine of a single-slice view, a seeded
// slice of a multi-slice long-axis view — through the checkpoint's
// evaluation transform (no augmentation). A view's embedding is the
// normalised mean of its clips'; a study's follows Pooling. A report's is
// the text tower's on the sentences pretraining's validation would draw
// (k sentences, the run's seed, draw 0).
//
// The work is cut into chunks of ChunkSize studies, each written to
// <Out>.parts/ when done; a rerun with the same checkpoint, data and
// settings continues from the finished chunks, and assembles Out when all
// are done (then removes the parts). A rerun after that finds Out up to
// date. Studies without a usable clip are left out and named in the file
// (skipped_keys, skipped_reason); Embed then returns the summary and an
// error wrapping ErrPartial.
func Embed(ctx context.Context, o EmbedOptions) (*EmbedSummary, error) {
	log := o.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Out == "" || o.Store == "" {
		return nil, fmt.Errorf("retrieval: embed: a store and an output file are required")
	}
	m := o.Model
	var err error
	if m == nil {
		if o.Checkpoint == "" {
			return nil, fmt.Errorf("retrieval: embed: a pretraining checkpoint is required")
		}
		if m, err = LoadModel(o.Checkpoint, o.Backend); err != nil {
			return nil, err
		}
	}
	run, err := planEmbed(o, m)
	if err != nil {
		return nil, err
	}
	sum := &EmbedSummary{Out: o.Out, CheckpointSHA256: m.SHA256, Pooling: run.settings.Pooling}

	if old, err := ReadFile(o.Out); err == nil {
		if old.Settings.Fingerprint == run.settings.Fingerprint {
			sum.UpToDate = true
			fillSummary(sum, old)
			if o.Progress != nil {
				o.Progress(len(run.rows), len(run.rows))
			}
			return sum, partialErr(sum)
		}
		return nil, fmt.Errorf("retrieval: %s exists and was made from another checkpoint, data or settings; remove it or choose another output", o.Out)
	} else if _, statErr := os.Stat(o.Out); statErr == nil {
		return nil, fmt.Errorf("retrieval: %s exists and is not a readable embeddings file (%v); remove it or choose another output", o.Out, err)
	}

	partsDir := o.Out + ".parts"
	if err := run.prepareParts(partsDir); err != nil {
		return nil, err
	}
	total := len(run.rows)
	done := 0
	var parts []*File
	for c := 0; c*run.chunk < total; c++ {
		lo, hi := c*run.chunk, min((c+1)*run.chunk, total)
		path := filepath.Join(partsDir, fmt.Sprintf("part-%06d.h5", c))
		if p, err := ReadFile(path); err == nil && p.Settings.Fingerprint == run.settings.Fingerprint {
			parts = append(parts, p)
			done += hi - lo
			sum.Resumed += hi - lo
			if o.Progress != nil {
				o.Progress(done, total)
			}
			continue
		}
		p, err := run.chunkFile(ctx, lo, hi, func(n int) {
			if o.Progress != nil {
				o.Progress(done+n, total)
			}
		})
		if err != nil {
			return nil, err
		}
		if err := p.Write(path); err != nil {
			return nil, err
		}
		parts = append(parts, p)
		done += hi - lo
	}
	if sum.Resumed > 0 {
		log.Info("resumed", "studies done before", sum.Resumed, "of", total)
	}
	f := run.header()
	for _, p := range parts {
		appendPart(f, p)
	}
	if err := f.Write(o.Out); err != nil {
		return nil, err
	}
	if err := os.RemoveAll(partsDir); err != nil {
		log.Warn("could not remove the finished parts", "dir", partsDir, "error", err)
	}
	fillSummary(sum, f)
	return sum, partialErr(sum)
}

func partialErr(s *EmbedSummary) error {
	if s.Skipped > 0 {
		return fmt.Errorf("retrieval: %d of %d studies without a usable clip (named in %s, skipped_keys): %w",
			s.Skipped, s.Skipped+s.Studies, s.Out, ErrPartial)
	}
	return nil
}

func fillSummary(s *EmbedSummary, f *File) {
	s.Studies, s.Views, s.Clips, s.Reports = len(f.Studies), len(f.ViewStudy), len(f.ClipStudy), len(f.Reports)
	s.Skipped = len(f.SkippedStudies)
	s.SkippedStudies, s.SkippedReasons = f.SkippedStudies, f.SkippedReasons
	s.Dims = fmt.Sprint(f.Dim)
}

// embedRun is a planned Embed: the rows, the data pipeline and the
// settings.
type embedRun struct {
	o        EmbedOptions
	m        *Model
	rows     []store.IndexRow
	reports  *text.Index
	tb       *pretrain.TextBatcher
	bag      data.BagOptions
	tr       data.Transform
	views    []cine.View
	pool     string
	settings Settings
	textInfo *TextInfo
	chunk    int
}

func planEmbed(o EmbedOptions, m *Model) (*embedRun, error) {
	r := &embedRun{o: o, m: m, chunk: o.ChunkSize}
	if r.chunk <= 0 {
		r.chunk = 128
	}
	if r.o.Batch <= 0 {
		r.o.Batch = 8
	}
	indexPath := o.Index
	if indexPath == "" {
		indexPath = filepath.Join(o.Store, "index.csv")
	}
	fi, err := os.Open(indexPath)
	if err != nil {
		return nil, fmt.Errorf("retrieval: dataset index: %w", err)
	}
	idx, err := store.ReadIndex(fi)
	fi.Close()
	if err != nil {
		return nil, fmt.Errorf("retrieval: %s: %w", indexPath, err)
	}
	r.rows = idx.Rows
	if o.Split != "" && o.Split != "all" {
		r.rows = idx.Filter(o.Split)
	}
	if len(r.rows) == 0 {
		return nil, fmt.Errorf("retrieval: %s: no rows of split %q", indexPath, o.Split)
	}
	seen := map[string]bool{}
	for _, row := range r.rows {
		if seen[row.Filename()] {
			return nil, fmt.Errorf("retrieval: %s: study %s appears twice", indexPath, row.Filename())
		}
		seen[row.Filename()] = true
	}

	cfg, mc := m.Config, m.MC
	names := o.Views
	if len(names) == 0 {
		names = cfg.Data.Views
	}
	for _, v := range names {
		cv := cine.View(strings.ToUpper(v))
		if !slices.Contains([]cine.View{cine.View4CH, cine.View3CH, cine.View2CH, cine.ViewSAX}, cv) {
			return nil, fmt.Errorf("retrieval: view %q: want 4CH, 3CH, 2CH or SAX", v)
		}
		r.views = append(r.views, cv)
	}
	r.pool = o.Pooling
	if r.pool == "" {
		r.pool = PoolViews
	}
	if v, ok := strings.CutPrefix(r.pool, PoolViewPrefix); ok {
		if !slices.Contains(r.views, cine.View(strings.ToUpper(v))) {
			return nil, fmt.Errorf("retrieval: pooling %q: view %s is not among the embedded views %v", r.pool, v, r.views)
		}
		r.pool = PoolViewPrefix + strings.ToUpper(v)
	} else if r.pool != PoolViews && r.pool != PoolClips {
		return nil, fmt.Errorf("retrieval: pooling %q: want %s, %s or %s<VIEW>", o.Pooling, PoolViews, PoolClips, PoolViewPrefix)
	}
	_, r.tr, err = cfg.Transforms(mc)
	if err != nil {
		return nil, fmt.Errorf("retrieval: %w", err)
	}
	r.bag = data.BagOptions{Clip: cfg.ClipOptions(mc), Views: r.views, SAX: data.SAXAll, KeepSingleSliceSAX: true}

	fp := sha256.New()
	fmt.Fprintf(fp, "checkpoint %s\n", m.SHA256)
	for _, row := range r.rows {
		fmt.Fprintf(fp, "study %s %s\n", row.Filename(), row.Split)
	}
	if o.Reports != "" {
		b, err := os.ReadFile(o.Reports)
		if err != nil {
			return nil, fmt.Errorf("retrieval: report index: %w", err)
		}
		fmt.Fprintf(fp, "reports %x\n", sha256.Sum256(b))
		if r.reports, err = text.ReadIndex(bytes.NewReader(b)); err != nil {
			return nil, fmt.Errorf("retrieval: %s: %w", o.Reports, err)
		}
		if r.tb, err = pretrain.NewTextBatcher(r.reports, mc, pretrain.TextOptions{Seed: cfg.Seed, Shuffle: cfg.Data.ShuffleSentences}); err != nil {
			return nil, fmt.Errorf("retrieval: %s: %w", o.Reports, err)
		}
		r.textInfo = &TextInfo{Tokenizer: r.reports.Tokenizer, Splitter: r.reports.Splitter}
	}
	r.settings = Settings{Split: o.Split, Pooling: r.pool, Sentences: mc.Sentences, SentenceSeed: cfg.Seed, SentenceDraw: 0, ClipSeed: cfg.Seed}
	for _, v := range r.views {
		r.settings.Views = append(r.settings.Views, string(v))
	}
	sj, _ := json.Marshal(r.settings)
	fmt.Fprintf(fp, "settings %s\nbatch-independent\n", sj)
	r.settings.Fingerprint = hex.EncodeToString(fp.Sum(nil))
	return r, nil
}

// header returns an empty file with the run's metadata.
func (r *embedRun) header() *File {
	return &File{Checkpoint: r.m.Path, CheckpointSHA256: r.m.SHA256, Config: r.m.ConfigYAML, Settings: r.settings,
		Text: r.textInfo, Dim: r.m.Dim()}
}

// prepareParts creates the parts folder, or checks that the one there
// belongs to this run.
func (r *embedRun) prepareParts(dir string) error {
	meta := filepath.Join(dir, "run.json")
	b, err := os.ReadFile(meta)
	if err == nil {
		var got struct {
			Fingerprint string `json:"fingerprint"`
		}
		if json.Unmarshal(b, &got) != nil || got.Fingerprint != r.settings.Fingerprint {
			return fmt.Errorf("retrieval: %s holds an unfinished run with another checkpoint, data or settings; remove it to start over", dir)
		}
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("retrieval: %w", err)
	}
	j, _ := json.MarshalIndent(map[string]any{"fingerprint": r.settings.Fingerprint, "checkpoint": r.m.Path, "studies": len(r.rows),
		"chunk": r.chunk}, "", "  ")
	return os.WriteFile(meta, append(j, '\n'), 0o644)
}

// loaded is one study's bag, or why it has none.
type loaded struct {
	key, split string
	bag        *data.BagSample
	reason     string
}

// loadStudy reads a study's clips; problems with the study are a reason,
// not an error (the study is skipped).
func (r *embedRun) loadStudy(row store.IndexRow) loaded {
	l := loaded{key: row.Filename(), split: row.Split}
	h := fnv.New64a()
	h.Write([]byte(l.key))
	ds := &data.BagDataset{Root: r.o.Store, Rows: []store.IndexRow{row}, Bag: r.bag, Transform: r.tr, Seed: r.settings.ClipSeed ^ h.Sum64()}
	s, err := ds.Load(0, 0)
	switch {
	case err != nil:
		l.reason = err.Error()
	case len(s.Clips) == 0:
		var why []string
		for _, sk := range s.Skipped {
			why = append(why, fmt.Sprintf("%s slice %d: %s", sk.View, sk.Slice, sk.Reason))
		}
		l.reason = fmt.Sprintf("no usable clip in views %v", r.views)
		if len(why) > 0 {
			l.reason += " (" + strings.Join(why, "; ") + ")"
		}
	default:
		l.bag = s
	}
	return l
}

// chunkFile embeds rows lo … hi−1.
func (r *embedRun) chunkFile(ctx context.Context, lo, hi int, progress func(n int)) (*File, error) {
	f := r.header()
	d := r.m.Dim()
	ch := r.m.MC.Video.InChannels
	stream := data.Prefetch(ctx, hi-lo, func(_ context.Context, p int) (loaded, error) {
		return r.loadStudy(r.rows[lo+p]), nil
	}, data.PrefetchOptions{Workers: max(r.o.Workers, 1)})
	defer stream.Close()

	// Clips wait in a batch until it is full; their embeddings go back to
	// their studies in order (want[si] clips for study si).
	var pending []*data.Clip
	var studies []loaded
	var want []int
	var clipEmb [][]float32 // per study: its clips' embeddings, in bag order
	next := 0               // first study still waiting for embeddings
	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		n := len(pending)
		for len(pending) < r.o.Batch {
			pending = append(pending, pending[0]) // a full batch: one compiled shape
		}
		flat, dims, err := data.StackClips(pending)
		if err != nil {
			return fmt.Errorf("retrieval: %w", err)
		}
		emb, err := r.m.EmbedClips(flat, dims)
		if err != nil {
			return err
		}
		for k := 0; k < n; {
			if len(clipEmb[next]) == want[next]*d {
				next++
				continue
			}
			clipEmb[next] = append(clipEmb[next], emb[k*d:(k+1)*d]...)
			k++
		}
		pending = pending[:0]
		return nil
	}
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		s, _, err := stream.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		var clips []*data.Clip
		if s.bag != nil {
			clips = s.bag.Clips
			s.bag.Clips = nil // kept only until embedded
		}
		studies = append(studies, s)
		want = append(want, len(clips))
		clipEmb = append(clipEmb, make([]float32, 0, len(clips)*d))
		for _, c := range clips {
			if c.C == 1 && ch > 1 {
				c = &data.Clip{C: ch, T: c.T, H: c.H, W: c.W, Shared: true, Data: c.Data}
			}
			pending = append(pending, c)
			if len(pending) == r.o.Batch {
				if err := flush(); err != nil {
					return nil, err
				}
				progress(next)
			}
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	for si, s := range studies {
		if s.bag == nil {
			f.SkippedStudies, f.SkippedReasons = append(f.SkippedStudies, s.key), append(f.SkippedReasons, s.reason)
			continue
		}
		if err := r.addStudy(f, s, clipEmb[si]); err != nil {
			f.SkippedStudies, f.SkippedReasons = append(f.SkippedStudies, s.key), append(f.SkippedReasons, err.Error())
		}
	}
	if r.tb != nil {
		var keys []string
		for _, s := range studies {
			if _, ok := r.reports.Studies[s.key]; ok {
				keys = append(keys, s.key)
			}
		}
		emb, err := embedKeys(r.m, r.tb, keys, r.settings.SentenceDraw, r.o.Batch)
		if err != nil {
			return nil, err
		}
		for _, k := range keys {
			f.Reports = append(f.Reports, k)
			f.ReportStudy = append(f.ReportStudy, int32(slices.Index(f.Studies, k)))
		}
		f.ReportEmb = emb
	}
	progress(hi - lo)
	return f, nil
}

// addStudy pools one study's clip embeddings into its views and itself.
func (r *embedRun) addStudy(f *File, s loaded, clips []float32) error {
	d := f.Dim
	refs := s.bag.Refs
	if len(clips) != len(refs)*d {
		return fmt.Errorf("internal: %d clip values for %d clips", len(clips), len(refs))
	}
	row := int32(len(f.Studies))
	var viewOrder []cine.View
	byView := map[cine.View][]int{}
	for i, ref := range refs {
		if _, ok := byView[ref.View]; !ok {
			viewOrder = append(viewOrder, ref.View)
		}
		byView[ref.View] = append(byView[ref.View], i)
	}
	var study []float32
	switch {
	case r.pool == PoolClips:
		study = meanNormalised(clips, d, nil)
	case strings.HasPrefix(r.pool, PoolViewPrefix):
		v := cine.View(strings.TrimPrefix(r.pool, PoolViewPrefix))
		if len(byView[v]) == 0 {
			return fmt.Errorf("no %s clip (pooling %s)", v, r.pool)
		}
		study = meanNormalised(clips, d, byView[v])
	}
	var views []float32
	for _, v := range viewOrder {
		ve := meanNormalised(clips, d, byView[v])
		views = append(views, ve...)
		f.ViewStudy = append(f.ViewStudy, row)
		f.ViewName = append(f.ViewName, string(v))
		f.ViewClips = append(f.ViewClips, int32(len(byView[v])))
	}
	f.ViewEmb = append(f.ViewEmb, views...)
	if r.pool == PoolViews {
		study = meanNormalised(views, d, nil)
	}
	for i, ref := range refs {
		f.ClipStudy = append(f.ClipStudy, row)
		f.ClipView = append(f.ClipView, string(ref.View))
		f.ClipSlice = append(f.ClipSlice, int32(ref.Slice))
		f.ClipStart = append(f.ClipStart, int32(ref.Start))
		f.ClipEnd = append(f.ClipEnd, int32(ref.End))
		f.ClipEmb = append(f.ClipEmb, clips[i*d:(i+1)*d]...)
	}
	f.Studies = append(f.Studies, s.key)
	f.Splits = append(f.Splits, s.split)
	f.StudyEmb = append(f.StudyEmb, study...)
	return nil
}

// meanNormalised returns the L2-normalised mean of the rows (all when
// rows is nil) of a [n, d] matrix, summed in float64. A zero mean stays
// zero.
func meanNormalised(m []float32, d int, rows []int) []float32 {
	acc := make([]float64, d)
	add := func(i int) {
		for j := range d {
			acc[j] += float64(m[i*d+j])
		}
	}
	if rows == nil {
		for i := range len(m) / d {
			add(i)
		}
	} else {
		for _, i := range rows {
			add(i)
		}
	}
	ss := 0.0
	for _, v := range acc {
		ss += v * v
	}
	out := make([]float32, d)
	if ss > 0 {
		inv := 1 / math.Sqrt(ss)
		for j, v := range acc {
			out[j] = float32(v * inv)
		}
	}
	return out
}

// appendPart appends a part's rows to f, shifting its study links.
func appendPart(f, p *File) {
	off := int32(len(f.Studies))
	shift := func(dst *[]int32, src []int32, keepNeg bool) {
		for _, s := range src {
			if keepNeg && s < 0 {
				*dst = append(*dst, s)
				continue
			}
			*dst = append(*dst, s+off)
		}
	}
	f.Studies = append(f.Studies, p.Studies...)
	f.Splits = append(f.Splits, p.Splits...)
	f.StudyEmb = append(f.StudyEmb, p.StudyEmb...)
	shift(&f.ViewStudy, p.ViewStudy, false)
	f.ViewName = append(f.ViewName, p.ViewName...)
	f.ViewClips = append(f.ViewClips, p.ViewClips...)
	f.ViewEmb = append(f.ViewEmb, p.ViewEmb...)
	shift(&f.ClipStudy, p.ClipStudy, false)
	f.ClipView = append(f.ClipView, p.ClipView...)
	f.ClipSlice = append(f.ClipSlice, p.ClipSlice...)
	f.ClipStart = append(f.ClipStart, p.ClipStart...)
	f.ClipEnd = append(f.ClipEnd, p.ClipEnd...)
	f.ClipEmb = append(f.ClipEmb, p.ClipEmb...)
	f.Reports = append(f.Reports, p.Reports...)
	shift(&f.ReportStudy, p.ReportStudy, true)
	f.ReportEmb = append(f.ReportEmb, p.ReportEmb...)
	f.SkippedStudies = append(f.SkippedStudies, p.SkippedStudies...)
	f.SkippedReasons = append(f.SkippedReasons, p.SkippedReasons...)
}
