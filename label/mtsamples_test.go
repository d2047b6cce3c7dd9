package label

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/cmrfm/cmrfm/internal/testenv"
)

// TestRulesOnMTSamples measures builtin:mtsamples on the real MTSamples
// reports of testdata/mtsamples-hand-labels.csv (method:
// testdata/mtsamples-hand-labels.md) and pins the numbers docs/labels.md
// reports: kappa, and the two misses (a pericardial window note that never
// says "effusion"; the held-out "left ventricle is slightly enlarged").
func TestRulesOnMTSamples(t *testing.T) {
	path := testenv.SharedData(t, "mtsamples", "mtsamples_cardiac.jsonl")
	all, err := ReadReports(path, ReadOptions{KeyColumn: "note_id", TextColumn: "transcription"})
	if err != nil {
		t.Fatal(err)
	}
	truth, err := ReadTable("testdata/mtsamples-hand-labels.csv", "note_id")
	if err != nil {
		t.Fatal(err)
	}
	var reports []Report
	for _, r := range all {
		if _, ok := truth.Rows[r.Key]; ok {
			reports = append(reports, r)
		}
	}
	if len(reports) != len(truth.Keys) {
		t.Fatalf("%d of %d hand-labelled reports found in %s", len(reports), len(truth.Keys), path)
	}
	rules, err := LoadRules("builtin:mtsamples")
	if err != nil {
		t.Fatal(err)
	}
	rs, err := rules.LabelReports(context.Background(), reports, nil)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	WriteTable(&b, rules.Labels(), rs)
	pred, err := readTable(strings.NewReader(b.String()), "rules", "")
	if err != nil {
		t.Fatal(err)
	}
	as, err := Agree(pred, truth, AgreeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	WriteAgreementText(&out, as, -1)
	t.Logf("builtin:mtsamples on %d hand-labelled MTSamples reports:\n%s", len(reports), out.String())
	want := map[string]struct {
		kappa    float64
		disagree string
	}{
		"pericardial_effusion": {0.791, "4662"}, "lv_hypertrophy": {1, ""}, "lv_dilation": {0.791, "4924"},
		"la_dilation": {1, ""}, "aortic_stenosis": {1, ""},
	}
	for _, a := range as {
		w := want[a.Label]
		if math.Abs(a.Kappa-w.kappa) > 5e-4 || strings.Join(a.Disagree, " ") != w.disagree {
			t.Errorf("%s: kappa %.4f, disagree %v; docs/labels.md says %.3f, %q", a.Label, a.Kappa, a.Disagree, w.kappa, w.disagree)
		}
	}
}
