package finetune

import (
	"context"
	"encoding/csv"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cmrfm/cmrfm/internal/gomlxtest"
	"github.com/cmrfm/cmrfm/stats/evaluate"
	"github.com/cmrfm/cmrfm/store"
)

// blankLabels returns a copy of idx with the given target columns emptied
// in the first n rows of split.
func blankLabels(idx *store.Index, split string, n int, cols ...string) (*store.Index, []string) {
	out := &store.Index{Columns: idx.Columns}
	var keys []string
	for _, r := range idx.Rows {
		r2 := r
		r2.Values = map[string]string{}
		for k, v := range r.Values {
			r2.Values[k] = v
		}
		if r.Split == split && len(keys) < n {
			for _, c := range cols {
				r2.Values[c] = ""
			}
			keys = append(keys, r.Filename())
		}
		out.Rows = append(out.Rows, r2)
	}
	return out, keys
}

// TestUnlabelledRowsNeverStopTraining: a training row whose LVEF is blank
// is left out and counted (it used to make the masked loss 0/0 = NaN at
// update 1, applied, and again after --resume); a row missing one of two
// disease labels stays, with the missing one masked. Every logged loss is
// finite and nothing is skipped.
func TestUnlabelledRowsNeverStopTraining(t *testing.T) {
	co := testCohort(t)
	idx, keys := blankLabels(co.Index, "train", 1, "lvef")
	c := resumeConfig(t, co, TaskRegression, ModeTransfer)
	c.Trainer.Epochs, c.Optim.Accumulate = 1, 1
	s, err := Run(context.Background(), c, RunOptions{Index: idx, Backend: gomlxtest.Backend(t)})
	if err != nil {
		t.Fatal(err)
	}
	if s.Unlabelled.Train != 1 || s.Skipped != 0 {
		t.Errorf("unlabelled %+v, skipped %d; want 1 training row (%s) left out, nothing skipped", s.Unlabelled, s.Skipped, keys[0])
	}
	trainRows, _, _, err := Splits(c, co.Index)
	if err != nil {
		t.Fatal(err)
	}
	if s.TrainStudies != len(trainRows)-1 {
		t.Errorf("%d training studies, want %d", s.TrainStudies, len(trainRows)-1)
	}
	for _, r := range s.Rows {
		if v, ok := r.Get("loss"); ok && (math.IsNaN(v) || math.IsInf(v, 0)) {
			t.Errorf("update %d: loss %g", r.Step, v)
		}
	}
	// Classification: one row without any label (left out), one without hcm (masked, kept).
	idx2, _ := blankLabels(co.Index, "train", 1, "dcm", "hcm")
	idx3, _ := blankLabels(idx2, "train", 2, "hcm")
	c = resumeConfig(t, co, TaskClassification, ModeTransfer)
	c.Trainer.Epochs, c.Optim.Accumulate = 1, 1
	s, err = Run(context.Background(), c, RunOptions{Index: idx3, Backend: gomlxtest.Backend(t)})
	if err != nil {
		t.Fatal(err)
	}
	if s.Unlabelled.Train != 1 || s.TrainStudies != len(trainRows)-1 || s.Skipped != 0 {
		t.Errorf("classification: unlabelled %+v, %d studies, %d skipped", s.Unlabelled, s.TrainStudies, s.Skipped)
	}
	if _, _, _, err := Splits(c, func() *store.Index { i, _ := blankLabels(co.Index, "train", 1000, "dcm", "hcm"); return i }()); err == nil ||
		!strings.Contains(err.Error(), "has a label for [dcm hcm]") {
		t.Errorf("no labelled row: %v", err)
	}
}

// TestPredictGoesOnAndEvaluateReadsIt: in a copy of the store, one study's
// .h5 is cut short and another's label blanked. predict writes a row for
// every study — the truncated one with empty predictions and the reason in
// the error column — and evaluate regression computes its statistics over
// the rest, counting what it left out.
func TestPredictGoesOnAndEvaluateReadsIt(t *testing.T) {
	co := testCohort(t)
	c := resumeConfig(t, co, TaskRegression, ModeTransfer)
	c.Optim.Accumulate = 1
	ck := runFT(t, c, co, RunOptions{StopAfter: 1}).Checkpoint
	root := t.TempDir()
	if err := os.CopyFS(root, os.DirFS(co.Root)); err != nil {
		t.Fatal(err)
	}
	rows := co.Index.Rows
	bad := rows[2].Path(root)
	b, err := os.ReadFile(bad)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, b[:len(b)/3], 0o644); err != nil {
		t.Fatal(err)
	}
	idx, _ := blankLabels(co.Index, rows[5].Split, 0)
	for i := range idx.Rows {
		if i == 5 {
			idx.Rows[i].Values["lvef"] = ""
		}
	}
	f, err := os.Create(filepath.Join(root, "index.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if err := idx.Write(f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	out := filepath.Join(t.TempDir(), "preds.csv")
	s, err := Predict(context.Background(), PredictOptions{Checkpoint: ck, Store: root, Out: out, Backend: gomlxtest.Backend(t)})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Failed) != 1 || s.Failed[0].Key != rows[2].Filename() || len(s.Predictions) != len(rows)-1 {
		t.Fatalf("failed %+v, %d predictions of %d rows", s.Failed, len(s.Predictions), len(rows))
	}
	fh, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(fh).ReadAll()
	fh.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != len(rows)+1 || recs[0][len(recs[0])-1] != "error" {
		t.Fatalf("%d records, header %v", len(recs), recs[0])
	}
	for i, r := range recs[1:] {
		if r[0] != rows[i].Filename() {
			t.Errorf("row %d is %s, want %s (index order)", i, r[0], rows[i].Filename())
		}
		if failed := i == 2; failed != (r[len(r)-1] != "") || failed != (r[1] == "") {
			t.Errorf("row %d: preds %q, error %q", i, r[1], r[len(r)-1])
		}
	}
	if e := recs[3][len(recs[3])-1]; !strings.Contains(e, "store") || strings.Contains(e, root) {
		t.Errorf("error cell %q: want the store's reason without the store's folder", e)
	}
	rep, err := evaluate.Regress(evaluate.RegOptions{Pred: out, Cutoff: 40})
	if err != nil {
		t.Fatal(err)
	}
	m := rep.Targets[0].Pretrained
	if m.N != len(rows)-2 || m.Excluded != (evaluate.Excluded{NoLabel: 1, NoPrediction: 1}) {
		t.Errorf("evaluate: N %d, excluded %+v; want %d, 1 and 1", m.N, m.Excluded, len(rows)-2)
	}
	if _, err := Predict(context.Background(), PredictOptions{Checkpoint: ck, Store: root, Split: "nope", Out: out}); err == nil || errors.Is(err, context.Canceled) {
		t.Errorf("unknown split: %v", err)
	}
}
