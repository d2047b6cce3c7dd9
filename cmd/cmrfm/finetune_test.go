package main

import (
	"bytes"
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cmrfm/cmrfm/model/weights"
	"github.com/cmrfm/cmrfm/store"
	"github.com/cmrfm/cmrfm/train/finetune"
	"github.com/cmrfm/cmrfm/train/traintest"
)

// TestFinetunePrintConfig: --print-config prints the preset with the
// file's and the flags' overrides applied, and that output reads back to
// the same configuration; unknown keys, unknown presets and missing data
// are errors.
func TestFinetunePrintConfig(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "f.yaml")
	os.WriteFile(cfg, []byte("model:\n  huber_delta: 2\ndata:\n  pos_weight: reference\n"), 0o644)
	out, err := runText(t, "", "finetune", "--preset", "diseases", "--config", cfg, "--print-config", "--mode", "transfer",
		"--data-fraction", "0.25", "--lr", "3e-4", "--reference-optimizer", "--out", "runs/x", "--init", "pt.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	back := filepath.Join(dir, "back.yaml")
	os.WriteFile(back, []byte(out), 0o644)
	c, err := finetune.LoadConfig(back, finetune.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Task != finetune.TaskClassification || c.Mode != "transfer" || c.Model.HuberDelta != 2 || c.Data.PosWeight != "reference" ||
		c.Data.Fraction != 0.25 || c.Optim.LR != 3e-4 || !c.Model.ReferenceOptimizer || c.Out != "runs/x" ||
		c.Init.Weights != "pt.safetensors" || c.Optim.WeightDecay != 5e-4 || c.Trainer.Epochs != 24 || !c.Model.LayerNorm ||
		strings.Join(c.Data.Targets, ",") != "dcm,hcm" {
		t.Errorf("printed config: %+v", c)
	}
	// The paper's regression defaults.
	out, err = runText(t, "", "finetune", "--print-config")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(back, []byte(out), 0o644)
	if c, err = finetune.LoadConfig(back, finetune.Config{}, nil); err != nil {
		t.Fatal(err)
	}
	if c.Task != finetune.TaskRegression || c.Mode != "finetune" || c.Optim.LR != 1e-4 || c.Optim.WeightDecay != 0.01 ||
		c.Trainer.MaxUpdates != 100000 || c.Model.HuberDelta != 1 || c.Model.EmbedDim != 512 || c.Data.SAXFraction != 0.5 {
		t.Errorf("paper regression defaults: %+v", c)
	}
	os.WriteFile(cfg, []byte("trainer:\n  epochz: 3\n"), 0o644)
	if _, err := runText(t, "", "finetune", "--config", cfg, "--print-config"); err == nil || !strings.Contains(err.Error(), "epochz") {
		t.Errorf("unknown key: %v", err)
	}
	if _, err := runText(t, "", "finetune", "--preset", "nope", "--print-config"); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("unknown preset: %v", err)
	}
	if _, err := runText(t, "", "finetune", "--preset", "tiny-lvef", "--out", filepath.Join(dir, "run")); err == nil ||
		!strings.Contains(err.Error(), "data.store") {
		t.Errorf("no store: %v", err)
	}
	if _, err := runText(t, "", "finetune", "--preset", "tiny-lvef", "--store", filepath.Join(dir, "nostore"), "--out", filepath.Join(dir, "run")); err == nil ||
		!strings.Contains(err.Error(), filepath.Join(dir, "nostore", "index.csv")) {
		t.Errorf("missing index: %v", err)
	}
}

// phantomStore writes n phantom studies (matrix 48, 16 frames) and
// ingests them, one channel, with the phantom's labels in index.csv.
func phantomStore(t *testing.T, n int) (string, *store.Index) {
	t.Helper()
	sum := traintest.PhantomStore(t, t.TempDir(), traintest.Cohort{Studies: n, Matrix: 48, Frames: 16, Seed: 5})
	root := filepath.Dir(sum.Index)
	idx, err := finetune.ReadIndex(root, "")
	if err != nil {
		t.Fatal(err)
	}
	return root, idx
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// checkTable checks a predictions table: the paper's columns, one row per
// study of the index, the index's labels, a prediction in range, and
// per-clip attention that sums to 1 and agrees with the per-view totals.
func checkTable(t *testing.T, path string, idx *store.Index, target string, lo, hi float64) {
	t.Helper()
	recs := readCSV(t, path)
	want := "filenames,probs,labels,views,softmax_attn,attn_2CH,attn_3CH,attn_4CH,attn_SAX,error"
	if lo != 0 || hi != 1 {
		want = strings.Replace(want, "probs", "preds", 1)
	}
	if got := strings.Join(recs[0], ","); got != want {
		t.Fatalf("%s header %q, want %q", path, got, want)
	}
	if len(recs)-1 != len(idx.Rows) {
		t.Fatalf("%s: %d rows for %d studies", path, len(recs)-1, len(idx.Rows))
	}
	labels := map[string]string{}
	for _, r := range idx.Rows {
		labels[r.Filename()] = r.Values[target]
	}
	for _, rec := range recs[1:] {
		l, ok := labels[rec[0]]
		lv, err1 := strconv.ParseFloat(l, 64)
		rv, err2 := strconv.ParseFloat(rec[2], 64)
		if !ok || err1 != nil || err2 != nil || float32(lv) != float32(rv) {
			t.Errorf("%s: study %s label %q, index says %q", path, rec[0], rec[2], l)
		}
		p, err := strconv.ParseFloat(rec[1], 64)
		if err != nil || p < lo || p > hi {
			t.Errorf("%s: study %s prediction %q", path, rec[0], rec[1])
		}
		views, attn := strings.Split(rec[3], ";"), strings.Split(rec[4], ";")
		if len(views) != len(attn) || len(views) < 4 {
			t.Fatalf("%s: views %q attention %q", path, rec[3], rec[4])
		}
		per := map[string]float64{}
		sum := 0.0
		for k, a := range attn {
			v, err := strconv.ParseFloat(a, 64)
			if err != nil || v <= 0 {
				t.Fatalf("attention %q", a)
			}
			sum += v
			per[views[k]] += v
		}
		if math.Abs(sum-1) > 1e-5 {
			t.Errorf("%s: attention sums to %g", path, sum)
		}
		for i, v := range []string{"2CH", "3CH", "4CH", "SAX"} {
			got, err := strconv.ParseFloat(rec[5+i], 64)
			if err != nil || math.Abs(got-per[v]) > 1e-5 {
				t.Errorf("%s: attn_%s %q, clips sum to %g", path, v, rec[5+i], per[v])
			}
		}
	}
}

// TestFinetuneAndPredict trains one epoch of each tiny preset through the
// command line and applies the models with cmrfm predict: the tables,
// the per-clip file and the embeddings have the documented layout; bad
// input fails with the file and the reason.
func TestFinetuneAndPredict(t *testing.T) {
	root, idx := phantomStore(t, 8)
	dir := t.TempDir()
	lvef := filepath.Join(dir, "lvef")
	out, err := runText(t, "", "finetune", "--preset", "tiny-lvef", "--store", root, "--out", lvef, "--epochs", "2", "--workers", "2")
	if err != nil {
		t.Fatal(err)
	}
	ck := filepath.Join(lvef, "checkpoints", "last.safetensors")
	if !strings.Contains(out, "fine-tuned (regression, transfer)") || !strings.Contains(out, ck) || !strings.Contains(out, "val_mae") {
		t.Errorf("finetune output:\n%s", out)
	}
	for _, f := range []string{"metrics.csv", "metrics.jsonl", "loss.png", "val.png", "config.yaml"} {
		if _, err := os.Stat(filepath.Join(lvef, f)); err != nil {
			t.Error(err)
		}
	}
	preds, clips, emb := filepath.Join(dir, "p.csv"), filepath.Join(dir, "clips.csv"), filepath.Join(dir, "e.npz")
	if _, err := runText(t, "", "predict", "--checkpoint", ck, "--store", root, "--out", preds, "--clips", clips, "--embeddings", emb); err != nil {
		t.Fatal(err)
	}
	checkTable(t, preds, idx, "lvef", -1000, 1000)
	cr := readCSV(t, clips)
	if got := strings.Join(cr[0], ","); got != "preds,labels,filenames,views,softmax_attn,clip,slice,start_frame,end_frame" {
		t.Errorf("clips header %q", got)
	}
	set, err := weights.Load(emb)
	if err != nil {
		t.Fatal(err)
	}
	nStudies, nClips := len(idx.Rows), len(cr)-1
	for name, shape := range map[string][]int{"study_embedding": {nStudies, 64}, "study_pooled": {nStudies, 32},
		"view_embedding": {nClips, 64}, "view_attention": {nClips}, "view_study": {nClips}} {
		tt, ok := set.Tensors[name]
		if !ok || !slices.Equal(tt.Shape, shape) {
			t.Errorf("embeddings %s: %v, want shape %v", name, tt, shape)
		}
	}
	// The view embeddings are L2-normalised.
	ve, _ := set.Tensors["view_embedding"].Float32()
	var n2 float64
	for _, v := range ve[:64] {
		n2 += float64(v) * float64(v)
	}
	if math.Abs(n2-1) > 1e-4 {
		t.Errorf("view embedding norm² %g", n2)
	}

	// Classification: a folder with one table per target.
	dx := filepath.Join(dir, "dx")
	if _, err := runText(t, "", "finetune", "--preset", "tiny-diseases", "--store", root, "--out", dx, "--epochs", "1", "--workers", "2"); err != nil {
		t.Fatal(err)
	}
	pdir := filepath.Join(dir, "dxpreds")
	if _, err := runText(t, "", "predict", "--checkpoint", filepath.Join(dx, "checkpoints", "last.safetensors"), "--store", root, "--out", pdir); err != nil {
		t.Fatal(err)
	}
	for _, tg := range []string{"dcm", "hcm"} {
		checkTable(t, filepath.Join(pdir, tg, "predictions.csv"), idx, tg, 0, 1)
	}

	// Bad input.
	notCk := filepath.Join(dir, "not.safetensors")
	os.WriteFile(notCk, []byte("hello"), 0o644)
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"predict", "--checkpoint", notCk, "--store", root, "--out", preds}, []string{notCk}},
		{[]string{"predict", "--checkpoint", filepath.Join(dir, "none.safetensors"), "--store", root, "--out", preds}, []string{"none.safetensors", "no such file"}},
		{[]string{"predict", "--checkpoint", ck, "--store", filepath.Join(dir, "nostore"), "--out", preds}, []string{filepath.Join(dir, "nostore", "index.csv"), "no such file"}},
		{[]string{"predict", "--checkpoint", ck, "--store", root}, []string{"nothing to write"}},
		{[]string{"predict", "--checkpoint", ck, "--store", root, "--split", "nosplit", "--out", preds}, []string{"nosplit"}},
	} {
		_, err := runText(t, "", c.args...)
		for _, w := range c.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%v: error %v, want it to name %q", c.args, err, w)
			}
		}
	}
}

// TestFinetuneResumeOtherWorkers: --resume accepts a run folder written
// with another --workers (a machine setting, not part of the run's
// identity) — before, every resume on a machine with another core count
// was refused — and a finished run resumed stays as it was; another
// learning rate is refused.
func TestFinetuneResumeOtherWorkers(t *testing.T) {
	root, _ := phantomStore(t, 8)
	run := filepath.Join(t.TempDir(), "run")
	args := []string{"finetune", "--preset", "tiny-lvef", "--store", root, "--out", run, "--epochs", "1"}
	if _, err := runText(t, "", append(args, "--workers", "2")...); err != nil {
		t.Fatal(err)
	}
	ck := filepath.Join(run, "checkpoints", "last.safetensors")
	before, err := os.ReadFile(ck)
	if err != nil {
		t.Fatal(err)
	}
	out, err := runText(t, "", append(args, "--workers", "1", "--resume")...)
	if err != nil {
		t.Fatalf("resume with --workers 1: %v", err)
	}
	if !strings.Contains(out, "fine-tuned") {
		t.Errorf("resume output:\n%s", out)
	}
	if after, err := os.ReadFile(ck); err != nil || !bytes.Equal(before, after) {
		t.Errorf("resuming a finished run changed its checkpoint (%v)", err)
	}
	if _, err := runText(t, "", append(args, "--workers", "1", "--resume", "--lr", "1e-3")...); err == nil ||
		!strings.Contains(err.Error(), "another configuration") {
		t.Errorf("resume with another --lr: %v, want a refusal", err)
	}
}
