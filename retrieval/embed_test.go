package retrieval

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cmrfm/cmrfm/internal/gomlxtest"
	"github.com/cmrfm/cmrfm/stats"
	"github.com/cmrfm/cmrfm/train/pretrain"
	"github.com/gomlx/gomlx/core/tensors"
)

func embedOpts(t *testing.T, fx *fixture, out string) EmbedOptions {
	return EmbedOptions{Checkpoint: fx.ckpt, Store: fx.cohort.Root, Reports: fx.cohort.ReportsPath, Out: out,
		Batch: 5, ChunkSize: 7, Workers: 2, Backend: gomlxtest.Backend(t)}
}

func maxDiff(a, b []float32) float64 {
	m := 0.0
	for i := range a {
		m = max(m, math.Abs(float64(a[i]-b[i])))
	}
	return m
}

// TestEmbedMatchesPretrainingValidation: the embeddings file holds, for
// every study and report, the embeddings pretraining's own validation
// computes (pretrain.Embedder on the validation loader: the same clip,
// transform, sentence draw and towers), within float32 rounding — so
// retrieval on the file reproduces the run's validation recall exactly.
func TestEmbedMatchesPretrainingValidation(t *testing.T) {
	fx := testFixture(t)
	out := filepath.Join(t.TempDir(), "emb.h5")
	s, err := Embed(context.Background(), embedOpts(t, fx, out))
	if err != nil {
		t.Fatal(err)
	}
	if s.Studies != 24 || s.Reports != 24 || s.Clips != 24 || s.Views != 24 || s.Skipped != 0 {
		t.Fatalf("summary %+v", s)
	}
	f, err := ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	mc, _ := fx.cfg.ModelConfig()
	d, err := pretrain.NewData(fx.cfg, mc, fx.cohort.Index, fx.cohort.Reports, nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := pretrain.LoadModel(fx.ckpt)
	if err != nil {
		t.Fatal(err)
	}
	e, err := pretrain.NewEmbedder(gomlxtest.Backend(t), st, mc)
	if err != nil {
		t.Fatal(err)
	}
	ep := d.Val.Epoch(context.Background(), 0, 0)
	defer ep.Close()
	var vs, us []float32
	n := 0
	for {
		b, _, err := ep.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		v, u, _, _, err := e.Embed(b)
		if err != nil {
			t.Fatal(err)
		}
		vs, us = append(vs, v...), append(us, u...)
		for i, key := range b.Keys {
			row, err := f.StudyRow(key, out)
			if err != nil {
				t.Fatal(err)
			}
			dim := mc.EmbedDim
			dv := maxDiff(f.Row(f.StudyEmb, row), v[i*dim:(i+1)*dim])
			du := maxDiff(f.Row(f.ReportEmb, slices.Index(f.Reports, key)), u[i*dim:(i+1)*dim])
			if dv > 2e-6 || du > 2e-6 {
				t.Errorf("%s: |video − validation| %.2g, |text − validation| %.2g", key, dv, du)
			}
			n++
		}
	}
	if n != 24 {
		t.Fatalf("compared %d studies", n)
	}
	r, err := EvaluateRetrieval(f, "emb", RetrievalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := pretrain.Recall(vs, us, n, mc.EmbedDim, []int{1, 5}, 0)
	if r.TextToVideo[0] != want.TextToVideo[0] || r.VideoToText[1] != want.VideoToText[1] || r.Pairs != 24 {
		t.Errorf("evaluate retrieval %v / %v, pretraining validation %v / %v", r.TextToVideo, r.VideoToText, want.TextToVideo, want.VideoToText)
	}
	t.Logf("24 studies: R@1 t→v %.3f v→t %.3f (chance %.3f), median ranks %g / %g", r.TextToVideo[0], r.VideoToText[0], r.Chance[0], r.MedianRankT2V, r.MedianRankV2T)
	if f.CheckpointSHA256 == "" || f.Config == "" || f.Text == nil || f.Settings.Sentences != 40 || f.Settings.Pooling != PoolViews ||
		!slices.Equal(f.Settings.Views, []string{"4CH"}) || f.Checkpoint != fx.ckpt {
		t.Errorf("metadata: sha %q settings %+v text %v", f.CheckpointSHA256, f.Settings, f.Text)
	}
}

// TestEmbedResume: a run stopped after its first chunk leaves that chunk
// in <out>.parts; the rerun embeds only the rest and writes the same file,
// value for value, as an uninterrupted run (with another worker count); a
// third run finds it up to date; a run with other settings into the same
// file is refused. Another batch size changes the embeddings only by
// float32 rounding.
func TestEmbedResume(t *testing.T) {
	fx := testFixture(t)
	dir := t.TempDir()
	full := filepath.Join(dir, "full.h5")
	o := embedOpts(t, fx, full)
	o.Workers = 1
	if _, err := Embed(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	o = embedOpts(t, fx, filepath.Join(dir, "batch3.h5"))
	o.Batch = 3
	if _, err := Embed(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	f5, _ := ReadFile(full)
	f3, _ := ReadFile(o.Out)
	if d := maxDiff(f5.ClipEmb, f3.ClipEmb); d > 2e-6 {
		t.Errorf("batch 3 vs 5: clip embeddings differ by %.2g", d)
	}

	out := filepath.Join(dir, "resumed.h5")
	ctx, cancel := context.WithCancel(context.Background())
	o = embedOpts(t, fx, out)
	o.Progress = func(done, total int) {
		if done >= 7 {
			cancel() // as Ctrl-C after the first chunk
		}
	}
	if _, err := Embed(ctx, o); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: %v", err)
	}
	parts, _ := filepath.Glob(filepath.Join(out+".parts", "part-*.h5"))
	if len(parts) != 1 {
		t.Fatalf("after the interruption: parts %v", parts)
	}
	if _, err := os.Stat(out); err == nil {
		t.Fatal("the output exists before the run finished")
	}
	o.Progress = nil
	s, err := Embed(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if s.Resumed != 7 || s.Studies != 24 {
		t.Fatalf("resumed %d studies, %d in all", s.Resumed, s.Studies)
	}
	fa, _ := ReadFile(full)
	fb, _ := ReadFile(out)
	if !sameFile(fa, fb) {
		t.Fatal("the resumed file differs from the uninterrupted one")
	}
	if _, err := os.Stat(out + ".parts"); !os.IsNotExist(err) {
		t.Fatalf("parts left behind: %v", err)
	}
	s, err = Embed(context.Background(), o)
	if err != nil || !s.UpToDate || s.Studies != 24 {
		t.Fatalf("third run: %+v %v", s, err)
	}
	o.Pooling = PoolClips
	if _, err := Embed(context.Background(), o); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Fatalf("other settings into the same file: %v", err)
	}
}

func tensorOf(v []float32, dims []int) *tensors.Tensor {
	return tensors.FromFlatDataAndDimensions(v, dims...)
}

// sameFile compares every dataset of two files byte for byte.
func sameFile(a, b *File) bool {
	var x, y bytes.Buffer
	da, err1 := a.datasets()
	db, err2 := b.datasets()
	if err1 != nil || err2 != nil || len(da) != len(db) {
		return false
	}
	for i := range da {
		x.Write(da[i].Data)
		y.Write(db[i].Data)
	}
	return bytes.Equal(x.Bytes(), y.Bytes())
}

// TestEmbedSkipsBadStudy: a damaged study file does not stop the run: the
// other studies are embedded, the damaged one is named with the reason,
// and the error wraps ErrPartial (cmrfm embed exits 3).
func TestEmbedSkipsBadStudy(t *testing.T) {
	fx := testFixture(t)
	dir := t.TempDir()
	// A copy of the store with one study truncated.
	store := filepath.Join(dir, "store")
	if err := os.CopyFS(store, os.DirFS(fx.cohort.Root)); err != nil {
		t.Fatal(err)
	}
	bad := fx.cohort.Index.Rows[3]
	if err := os.WriteFile(bad.Path(store), []byte("\x89HDF\r\n\x1a\nnot really"), 0o644); err != nil {
		t.Fatal(err)
	}
	o := embedOpts(t, fx, filepath.Join(dir, "emb.h5"))
	o.Store = store
	s, err := Embed(context.Background(), o)
	if !errors.Is(err, ErrPartial) {
		t.Fatalf("err %v, want ErrPartial", err)
	}
	if s.Studies != 23 || s.Skipped != 1 || s.SkippedStudies[0] != bad.Filename() || s.SkippedReasons[0] == "" {
		t.Fatalf("summary %+v", s)
	}
	f, err := ReadFile(o.Out)
	if err != nil {
		t.Fatal(err)
	}
	// Its report is still embedded, linked to no study.
	i := slices.Index(f.Reports, bad.Filename())
	if i < 0 || f.ReportStudy[i] != -1 || len(f.Reports) != 24 {
		t.Fatalf("report of the skipped study: row %d, link %v", i, f.ReportStudy)
	}
	t.Logf("skipped %s: %s", s.SkippedStudies[0], s.SkippedReasons[0])
}

// TestConstantModelRetrieval: the rank convention end to end. A checkpoint
// whose video projection is zeroed (every study embeds to the same zero
// vector: a collapsed tower) scores recall@k = 0 in both directions and
// median rank = the pool, never the perfect video→text score a "ties
// count as hits" rule gives it.
func TestConstantModelRetrieval(t *testing.T) {
	fx := testFixture(t)
	m, err := LoadModel(fx.ckpt, gomlxtest.Backend(t))
	if err != nil {
		t.Fatal(err)
	}
	for v := range m.store.IterVariables() {
		if strings.HasPrefix(v.Path(), "/model/video_proj/") && !strings.Contains(v.Path(), "/norm/") {
			zero, _ := v.Value()
			z := make([]float32, zero.Shape().Size())
			if err := v.SetValue(tensorOf(z, zero.Shape().Dimensions)); err != nil {
				t.Fatal(err)
			}
		}
	}
	o := embedOpts(t, fx, filepath.Join(t.TempDir(), "constant.h5"))
	o.Model = m
	if _, err := Embed(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	f, err := ReadFile(o.Out)
	if err != nil {
		t.Fatal(err)
	}
	if maxDiff(f.Row(f.StudyEmb, 0), f.Row(f.StudyEmb, 5)) != 0 {
		t.Fatal("the zeroed tower does not give one embedding")
	}
	for _, pool := range []int{0, 8} {
		r, err := EvaluateRetrieval(f, "constant", RetrievalOptions{Pool: pool})
		if err != nil {
			t.Fatal(err)
		}
		for i, k := range r.K {
			want := 0.0
			if k >= r.Pool {
				want = 1
			}
			if r.VideoToText[i] != want || r.TextToVideo[i] != want {
				t.Errorf("pool %d: constant model recall@%d %g / %g, want %g", r.Pool, k, r.VideoToText[i], r.TextToVideo[i], want)
			}
		}
		if r.MedianRankV2T != float64(r.Pool) || r.MedianRankT2V != float64(r.Pool) || r.Chance[0] != stats.ChanceRecall(1, r.Pool) {
			t.Errorf("pool %d: median ranks %g / %g", r.Pool, r.MedianRankV2T, r.MedianRankT2V)
		}
	}
}

// normMean is the float64 reference of a pooled embedding.
func normMean(f *File, m []float32, rows []int) []float32 {
	acc := make([]float64, f.Dim)
	for _, r := range rows {
		for c, v := range f.Row(m, r) {
			acc[c] += float64(v)
		}
	}
	ss := 0.0
	for _, v := range acc {
		ss += v * v
	}
	out := make([]float32, f.Dim)
	for c, v := range acc {
		out[c] = float32(v / math.Sqrt(ss))
	}
	return out
}

// TestEmbedPooling: with 4CH and every SAX slice embedded, each view's
// embedding is the normalised mean of its clips', and the study's follows
// the pooling rule: the mean of its views (views), of all its clips
// (clips), or one view (view:SAX); zero-shot's attention columns carry
// the matching clip weights.
func TestEmbedPooling(t *testing.T) {
	fx := testFixture(t)
	for _, pool := range []string{PoolViews, PoolClips, "view:sax"} {
		o := embedOpts(t, fx, filepath.Join(t.TempDir(), "emb.h5"))
		o.Views, o.Pooling = []string{"4CH", "SAX"}, pool
		s, err := Embed(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		f, err := ReadFile(o.Out)
		if err != nil {
			t.Fatal(err)
		}
		if s.Views != 48 || s.Clips <= 48 || f.Settings.Pooling != strings.Replace(pool, "sax", "SAX", 1) {
			t.Fatalf("%s: %d views, %d clips, pooling %q", pool, s.Views, s.Clips, f.Settings.Pooling)
		}
		for st := range f.Studies {
			var clips, views []int
			clipsOf := map[string][]int{}
			for i, cs := range f.ClipStudy {
				if int(cs) == st {
					clips = append(clips, i)
					clipsOf[f.ClipView[i]] = append(clipsOf[f.ClipView[i]], i)
				}
			}
			for i, vs := range f.ViewStudy {
				if int(vs) != st {
					continue
				}
				views = append(views, i)
				want := normMean(f, f.ClipEmb, clipsOf[f.ViewName[i]])
				if d := maxDiff(f.Row(f.ViewEmb, i), want); d > 1e-6 || int(f.ViewClips[i]) != len(clipsOf[f.ViewName[i]]) {
					t.Fatalf("%s: view %s of %s: %.2g from the mean of its %d clips", pool, f.ViewName[i], f.Studies[st], d, len(clipsOf[f.ViewName[i]]))
				}
			}
			var want []float32
			switch pool {
			case PoolViews:
				want = normMean(f, f.ViewEmb, views)
			case PoolClips:
				want = normMean(f, f.ClipEmb, clips)
			default:
				want = normMean(f, f.ClipEmb, clipsOf["SAX"])
			}
			if d := maxDiff(f.Row(f.StudyEmb, st), want); d > 1e-6 {
				t.Fatalf("%s: study %s differs from its pooling rule by %.2g", pool, f.Studies[st], d)
			}
			if len(clipsOf["SAX"]) < 2 || len(clipsOf["4CH"]) != 1 {
				t.Fatalf("%s: %d SAX and %d 4CH clips", f.Studies[st], len(clipsOf["SAX"]), len(clipsOf["4CH"]))
			}
		}
		z, err := ZeroShot(context.Background(), ZeroShotOptions{File: f, Embeddings: o.Out, Labels: fx.cohort.IndexPath,
			Prompts: "builtin:phantom", Targets: []string{"dcm"}, Backend: gomlxtest.Backend(t)})
		if err != nil {
			t.Fatal(err)
		}
		p := z.Predictions[0]
		nSAX := 0
		for _, c := range p.Clips {
			if c.View == "SAX" {
				nSAX++
			}
		}
		for k, c := range p.Clips {
			want := map[string]map[bool]float64{
				PoolViews:  {true: 0.5 / float64(nSAX), false: 0.5},
				PoolClips:  {true: 1 / float64(len(p.Clips)), false: 1 / float64(len(p.Clips))},
				"view:sax": {true: 1 / float64(nSAX), false: 0},
			}[pool][c.View == "SAX"]
			if math.Abs(p.Attention[k]-want) > 1e-12 {
				t.Fatalf("%s: clip %d (%s) weight %g, want %g", pool, k, c.View, p.Attention[k], want)
			}
		}
	}
	o := embedOpts(t, fx, filepath.Join(t.TempDir(), "x.h5"))
	o.Pooling = "view:SAX" // SAX is not among the checkpoint's views (4CH)
	if _, err := Embed(context.Background(), o); err == nil || !strings.Contains(err.Error(), "not among the embedded views") {
		t.Fatalf("pooling on a view not embedded: %v", err)
	}
}
