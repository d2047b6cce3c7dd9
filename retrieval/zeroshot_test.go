package retrieval

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/cmrfm/cmrfm/internal/gomlxtest"
	"github.com/cmrfm/cmrfm/internal/testenv"
	"github.com/cmrfm/cmrfm/stats"
	"github.com/cmrfm/cmrfm/stats/evaluate"
)

// TestPrompts: the built-in prompt files hold the phantom labels and the
// paper's 35 targets under the names the authors' released tables use
// (the target folders of raw_dataframes/internal_classification_test/
// internal_test_artifacts in the shared data); bad files are errors naming
// the file and the label.
func TestPrompts(t *testing.T) {
	p, err := LoadPrompts("builtin:phantom")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range p.Labels {
		names = append(names, l.Label)
	}
	if !slices.Equal(names, []string{"normal", "dcm", "hcm", "infarct", "effusion"}) {
		t.Fatalf("phantom labels %v", names)
	}
	p, err = LoadPrompts("builtin:paper")
	if err != nil {
		t.Fatal(err)
	}
	names = nil
	for _, l := range p.Labels {
		names = append(names, l.Label)
	}
	entries, err := os.ReadDir(testenv.SharedData(t, "cmr_transformer-raw_dataframes", "internal_classification_test", "internal_test_artifacts"))
	if err != nil {
		t.Fatal(err)
	}
	var paperTargets []string
	for _, e := range entries {
		if e.IsDir() {
			paperTargets = append(paperTargets, e.Name())
		}
	}
	slices.Sort(names)
	if len(paperTargets) != 35 || !slices.Equal(names, paperTargets) {
		t.Fatalf("built-in paper targets %v\nthe authors' tables %v", names, paperTargets)
	}
	for name, doc := range map[string]string{
		"no positive":     "labels:\n  dcm:\n    negative: [Normal.]\n",
		"empty negative":  "labels:\n  dcm:\n    positive: [Dilated.]\n    negative: []\n",
		"blank prompt":    "labels:\n  dcm:\n    positive: [Dilated., '  ']\n    negative: [Normal.]\n",
		"no labels":       "labels: {}\n",
		"unknown key":     "labels:\n  dcm:\n    positive: [a]\n    negative: [b]\n    neutral: [c]\n",
		"top-level typo":  "label:\n  dcm:\n    positive: [a]\n    negative: [b]\n",
		"duplicate label": "labels:\n  dcm:\n    positive: [a]\n    negative: [b]\n  dcm:\n    positive: [a]\n    negative: [b]\n",
	} {
		_, err := ParsePrompts([]byte(doc), "my-prompts.yaml")
		if err == nil || !strings.Contains(err.Error(), "my-prompts.yaml") || !errors.Is(err, ErrPrompts) {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if name != "no labels" && name != "top-level typo" && name != "duplicate label" && !strings.Contains(err.Error(), "label dcm") {
			t.Errorf("%s: error does not name the label: %v", name, err)
		}
	}
	if _, err := LoadPrompts("builtin:nope"); err == nil || !strings.Contains(err.Error(), "builtin:phantom") {
		t.Errorf("unknown built-in: %v", err)
	}
}

var (
	embOnce sync.Once
	embPath string
	embErr  error
)

// sharedEmbeddings embeds the fixture's whole cohort once.
func sharedEmbeddings(t *testing.T) (*fixture, string) {
	fx := testFixture(t)
	embOnce.Do(func() {
		embPath = filepath.Join(fx.dir, "shared-emb.h5")
		_, embErr = Embed(context.Background(), embedOpts(t, fx, embPath))
	})
	if embErr != nil {
		t.Fatal(embErr)
	}
	return fx, embPath
}

// TestTextEncoderMatchesReports: a text is embedded exactly as a report:
// encoding each study's raw report text (from the reports file ingest
// wrote) gives the report embedding the file holds (the fixture's k = 40
// covers every sentence, so the whole report is the text).
func TestTextEncoderMatchesReports(t *testing.T) {
	fx, path := sharedEmbeddings(t)
	f, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m, err := LoadModel(fx.ckpt, gomlxtest.Backend(t))
	if err != nil {
		t.Fatal(err)
	}
	enc, err := NewTextEncoder(m, *f.Text, "")
	if err != nil {
		t.Fatal(err)
	}
	enc.Batch = 7 // another padding than embed's
	raw := map[string]string{}
	rf, err := os.Open(filepath.Join(fx.cohort.Root, "reports.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer rf.Close()
	sc := bufio.NewScanner(rf)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r struct {
			Key  string `json:"study_key"`
			Text string `json:"text"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		raw[r.Key] = r.Text
	}
	var texts []string
	for _, k := range f.Reports {
		texts = append(texts, raw[k])
	}
	got, err := enc.Encode(texts)
	if err != nil {
		t.Fatal(err)
	}
	if d := maxDiff(got, f.ReportEmb); d > 2e-6 {
		t.Fatalf("encoded report texts differ from the file's report embeddings by %.2g", d)
	}
	if _, err := enc.Encode([]string{"Normal.", "  ...  "}); err == nil || !strings.Contains(err.Error(), "text 2") {
		t.Fatalf("a text with no sentence: %v", err)
	}
}

// TestZeroShot: scores are mean cosine to the positive prompts minus mean
// cosine to the negative ones (recomputed here from prompts encoded one
// at a time), probs = σ(score/τ), the CSVs have cmrfm predict's columns,
// and cmrfm evaluate's reader scores them: its AUROC equals the AUROC of
// the scores.
func TestZeroShot(t *testing.T) {
	fx, path := sharedEmbeddings(t)
	out := filepath.Join(t.TempDir(), "zs")
	s, err := ZeroShot(context.Background(), ZeroShotOptions{Embeddings: path, Labels: fx.cohort.IndexPath, Prompts: "builtin:phantom",
		Out: out, Backend: gomlxtest.Backend(t)})
	if err != nil {
		t.Fatal(err)
	}
	if s.Studies != 24 || len(s.Files) != 5 || s.Temperature != fx.cfg.Model.Temperature {
		t.Fatalf("summary: %d studies, files %v, τ %g", s.Studies, s.Files, s.Temperature)
	}
	f, _ := ReadFile(path)
	m, _ := LoadModel(fx.ckpt, gomlxtest.Backend(t))
	enc, _ := NewTextEncoder(m, *f.Text, "")
	p, _ := LoadPrompts("builtin:phantom")
	one := map[string][]float32{} // each prompt encoded alone
	meanCos := func(v []float32, prompts []string) float64 {
		sum := 0.0
		for _, q := range prompts {
			e, ok := one[q]
			if !ok {
				var err error
				if e, err = enc.Encode([]string{q}); err != nil {
					t.Fatal(err)
				}
				one[q] = e
			}
			for c := range v {
				sum += float64(v[c]) * float64(e[c])
			}
		}
		return sum / float64(len(prompts))
	}
	for i, pred := range s.Predictions {
		row, _ := f.StudyRow(pred.Key, path)
		v := f.Row(f.StudyEmb, row)
		for j, l := range p.Labels {
			want := meanCos(v, l.Positive) - meanCos(v, l.Negative)
			if math.Abs(s.Scores[i][j]-want) > 1e-5 {
				t.Fatalf("%s %s: score %g, recomputed %g", pred.Key, l.Label, s.Scores[i][j], want)
			}
			if pr := 1 / (1 + math.Exp(-want/s.Temperature)); math.Abs(pred.Pred[j]-pr) > 1e-5 {
				t.Fatalf("probs %g, σ(score/τ) %g", pred.Pred[j], pr)
			}
		}
		if len(pred.Attention) != 1 || pred.Attention[0] != 1 {
			t.Fatalf("pooling weights %v for a single 4CH clip", pred.Attention)
		}
	}
	b, err := os.ReadFile(filepath.Join(out, "dcm", "predictions.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if h := strings.SplitN(string(b), "\n", 2)[0]; h != "filenames,probs,labels,views,softmax_attn,attn_2CH,attn_3CH,attn_4CH,attn_SAX,error" {
		t.Fatalf("header %q", h)
	}
	rep, err := evaluate.Classify(evaluate.ClassOptions{Pred: out, Direction: stats.Less, Level: 0.95})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Targets) != 5 {
		t.Fatalf("evaluate read %d targets", len(rep.Targets))
	}
	for _, tr := range rep.Targets {
		j := slices.Index(s.Targets, tr.Name)
		var scores []float64
		var labels []bool
		for i, pred := range s.Predictions {
			scores = append(scores, s.Scores[i][j])
			labels = append(labels, pred.Labels[j] == 1)
		}
		roc, err := stats.NewROC(scores, labels, stats.Less)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(roc.AUC()-tr.Pretrained.AUC) > 1e-12 {
			t.Errorf("%s: evaluate AUROC %g, AUROC of the scores %g", tr.Name, tr.Pretrained.AUC, roc.AUC())
		}
	}
}

// TestZeroShotBadInput: another checkpoint than the embeddings', a label
// column the labels file lacks, a split whose studies were not embedded:
// clear errors naming the files.
func TestZeroShotBadInput(t *testing.T) {
	fx, path := sharedEmbeddings(t)
	be := gomlxtest.Backend(t)
	o := ZeroShotOptions{Embeddings: path, Labels: fx.cohort.IndexPath, Prompts: "builtin:phantom", Backend: be}
	o.Checkpoint = fx.other
	if _, err := ZeroShot(context.Background(), o); err == nil || !strings.Contains(err.Error(), path) ||
		!strings.Contains(err.Error(), "epoch-0001") || !strings.Contains(err.Error(), "not comparable") {
		t.Errorf("other checkpoint: %v", err)
	}
	o.Checkpoint = ""
	o.Prompts = "builtin:paper"
	if _, err := ZeroShot(context.Background(), o); err == nil || !strings.Contains(err.Error(), fx.cohort.IndexPath) ||
		!strings.Contains(err.Error(), "Amyloid") {
		t.Errorf("missing label columns: %v", err)
	}
	o.Prompts = "builtin:phantom"
	test := filepath.Join(t.TempDir(), "test.h5")
	eo := embedOpts(t, fx, test)
	eo.Split = "test"
	if _, err := Embed(context.Background(), eo); err != nil {
		t.Fatal(err)
	}
	o.Embeddings = test
	if _, err := ZeroShot(context.Background(), o); !errors.Is(err, ErrNoStudy) || !strings.Contains(err.Error(), test) {
		t.Errorf("studies absent from the file: %v", err)
	}
	o.Split = "test"
	if s, err := ZeroShot(context.Background(), o); err != nil || s.Studies == 0 {
		t.Errorf("the embedded split: %v", err)
	}
	o.Embeddings = filepath.Join(t.TempDir(), "missing.h5")
	if _, err := ZeroShot(context.Background(), o); err == nil || !strings.Contains(err.Error(), "missing.h5") {
		t.Errorf("missing file: %v", err)
	}
}

// TestSearch: text and study queries return exactly the ranking
// recomputed here in float64 (ties aside), a study is not its own
// neighbour, and an unknown study key is an error naming the file.
func TestSearch(t *testing.T) {
	_, path := sharedEmbeddings(t)
	s, err := NewSearcher(SearchOptions{Embeddings: path, Backend: gomlxtest.Backend(t)})
	if err != nil {
		t.Fatal(err)
	}
	f := s.File()
	check := func(q []float32, m []Match, keys []string, emb []float32, self string) {
		t.Helper()
		type kv struct {
			key string
			s   float64
		}
		var all []kv
		for i, k := range keys {
			if k == self {
				continue
			}
			v := f.Row(emb, i)
			dot, nq := 0.0, 0.0
			for c := range v {
				dot += float64(v[c]) * float64(q[c])
				nq += float64(q[c]) * float64(q[c])
			}
			all = append(all, kv{k, dot / math.Sqrt(nq)})
		}
		slices.SortStableFunc(all, func(a, b kv) int {
			if a.s > b.s {
				return -1
			}
			if a.s < b.s {
				return 1
			}
			return 0
		})
		for i, mm := range m {
			if math.Abs(float64(mm.Score)-all[i].s) > 1e-5 {
				t.Fatalf("rank %d: %s %.6f, recomputed %s %.6f", i+1, mm.Key, mm.Score, all[i].key, all[i].s)
			}
		}
	}
	res, err := s.Text("Dilated left ventricle with severely reduced systolic function.", 5)
	if err != nil {
		t.Fatal(err)
	}
	enc, _ := s.Encoder()
	q, _ := enc.Encode([]string{res.Query})
	if len(res.Studies) != 5 || len(res.Reports) != 5 {
		t.Fatalf("%d studies, %d reports", len(res.Studies), len(res.Reports))
	}
	check(q, res.Studies, f.Studies, f.StudyEmb, "")
	check(q, res.Reports, f.Reports, f.ReportEmb, "")
	key := f.Studies[3]
	res, err = s.Study(key, 30)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Studies) != 23 || slices.ContainsFunc(res.Studies, func(m Match) bool { return m.Key == key }) {
		t.Fatalf("study query: %d neighbours, itself among them?", len(res.Studies))
	}
	check(f.Row(f.StudyEmb, 3), res.Studies, f.Studies, f.StudyEmb, key)
	check(f.Row(f.StudyEmb, 3), res.Reports, f.Reports, f.ReportEmb, "")
	if _, err := s.Study("nope-x.h5", 3); !errors.Is(err, ErrNoStudy) || !strings.Contains(err.Error(), path) {
		t.Fatalf("unknown study: %v", err)
	}
	if _, err := s.Text("   ", 3); err == nil {
		t.Fatal("empty query accepted")
	}
}
