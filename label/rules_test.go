package label

import (
	"context"
	"strings"
	"testing"
)

func phantomRules(t *testing.T) *Rules {
	t.Helper()
	r, err := LoadRules("builtin:phantom")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestRuleScopes pins how the triggers read a mention.
func TestRuleScopes(t *testing.T) {
	r := phantomRules(t)
	for _, tc := range []struct {
		text, label string
		want        Answer
	}{
		{"FINDINGS: There is a small pericardial effusion.", "effusion", Present},
		{"FINDINGS: No pericardial effusion.", "effusion", Absent},
		{"FINDINGS: Pericardial effusion is not seen.", "effusion", Absent},
		{"FINDINGS: Small bilateral pleural effusions.", "effusion", Absent},
		{"FINDINGS: Possible small pericardial effusion.", "effusion", Uncertain},
		{"FINDINGS: A pericardial effusion cannot be excluded.", "effusion", Uncertain},
		{"FINDINGS: No LV thrombus but there is a pericardial effusion.", "effusion", Present},
		// the indication is not read
		{"CLINICAL INDICATION: Pericardial effusion on echo, please characterise.\n\nFINDINGS: Pericardium normal.", "effusion", Absent},
		{"INDICATION: Family history of hypertrophic cardiomyopathy.\n\nIMPRESSION: Normal study.", "hcm", Absent},
		{"IMPRESSION: Family history of hypertrophic cardiomyopathy; normal study.", "hcm", Absent},
		{"IMPRESSION: Asymmetric hypertrophy in keeping with HCM.", "hcm", Present},
		{"IMPRESSION: No features of hypertrophic cardiomyopathy.", "hcm", Absent},
		{"IMPRESSION: Non-ischaemic dilated cardiomyopathy with severely reduced LVEF of 21%.", "dcm", Present},
		{"IMPRESSION: Non-ischaemic dilated cardiomyopathy with severely reduced LVEF of 21%.", "infarct", Absent},
		// beyond max_words (8) the negation does not reach
		{"FINDINGS: No myocardial late gadolinium enhancement in the basal segments to suggest infarction.", "infarct", Present},
		{"FINDINGS: No myocardial late gadolinium enhancement to suggest infarction or fibrosis.", "infarct", Absent},
		{"IMPRESSION: Old LAD infarct. No pericardial effusion.", "normal", Absent},
		{"IMPRESSION: Structurally normal heart.", "normal", Present},
		{"IMPRESSION: ?pericardial effusion.", "normal", Uncertain},
	} {
		got := r.Label(tc.text)[tc.label]
		if got.Answer != tc.want {
			t.Errorf("%q: %s = %s (evidence %q), want %s; mentions %+v", tc.text, tc.label, got.Answer, got.Evidence, tc.want, r.Explain(tc.text))
		}
	}
	f := r.Label("FINDINGS:\nNo pericardial effusion.\nAssociated pericardial effusion is noted on the LGE images.")["effusion"]
	if f.Answer != Present || f.Evidence != "Associated pericardial effusion is noted on the LGE images." {
		t.Errorf("evidence: %+v", f)
	}
}

// TestRulesFileErrors: every mistake in a rule file is one clear error.
func TestRulesFileErrors(t *testing.T) {
	for _, tc := range []struct {
		f    RulesFile
		want string
	}{
		{RulesFile{}, "no labels"},
		{RulesFile{Labels: []LabelRule{{Keywords: []string{"x"}}}}, "has no name"},
		{RulesFile{Labels: []LabelRule{{Name: "a", Keywords: []string{"x"}}, {Name: "a", Keywords: []string{"y"}}}}, "defined twice"},
		{RulesFile{Labels: []LabelRule{{Name: "a"}}}, "needs keywords or none_of"},
		{RulesFile{Labels: []LabelRule{{Name: "normal", NoneOf: []string{"dcm"}}}}, `none_of names "dcm"`},
		{RulesFile{Labels: []LabelRule{{Name: "a_evidence", Keywords: []string{"x"}}}}, "reserved"},
	} {
		if _, err := CompileRules(tc.f); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want %q", tc.f, err, tc.want)
		}
	}
	if _, err := LoadRules("builtin:nope"); err == nil || !strings.Contains(err.Error(), "phantom") {
		t.Errorf("unknown builtin: %v", err)
	}
}

// TestRulesOnPhantomReports measures the phantom rule file on a generated
// cohort's reports against its labels.csv (truth known by construction),
// and shows that the negation and section rules carry the result: without
// them agreement collapses.
func TestRulesOnPhantomReports(t *testing.T) {
	co := sharedCohort(t)
	reports, err := ReadReports(co.phantomReports, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	truth, err := ReadTable(co.phantomLabels, "")
	if err != nil {
		t.Fatal(err)
	}
	measure := func(r *Rules) map[string]float64 {
		rs, err := r.LabelReports(context.Background(), reports, nil)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		if err := WriteTable(&b, r.Labels(), rs); err != nil {
			t.Fatal(err)
		}
		pred, err := readTable(strings.NewReader(b.String()), "rules", "")
		if err != nil {
			t.Fatal(err)
		}
		as, err := Agree(pred, truth, AgreeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		k := map[string]float64{}
		for _, a := range as {
			k[a.Label] = a.Kappa
			if a.N != len(reports) {
				t.Errorf("%s: compared %d of %d reports", a.Label, a.N, len(reports))
			}
		}
		return k
	}
	full := measure(phantomRules(t))
	for _, l := range []string{"normal", "dcm", "hcm", "infarct", "effusion"} {
		if !(full[l] >= 0.9) {
			t.Errorf("%s: kappa %.3f < 0.9", l, full[l])
		}
	}
	t.Logf("kappa on %d phantom reports: %v", len(reports), full)
	f := phantomRules(t).File
	f.Negation, f.IgnoreSections, f.Ignore = Triggers{}, nil, Triggers{}
	naive, err := CompileRules(f)
	if err != nil {
		t.Fatal(err)
	}
	ablated := measure(naive)
	t.Logf("without negation and section rules: %v", ablated)
	for _, l := range []string{"hcm", "infarct", "effusion"} {
		if ablated[l] > 0.8 {
			t.Errorf("%s: kappa %.3f without negation — the phantom reports should need it", l, ablated[l])
		}
	}
}
