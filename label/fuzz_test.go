package label

import (
	"strings"
	"testing"
)

// FuzzRules: any report text labels without a panic, every label gets an
// answer, and evidence is always a sentence of the report as the splitter
// gives it.
func FuzzRules(f *testing.F) {
	for _, s := range fixtureReports {
		f.Add(s)
	}
	f.Add("IMPRESSION: ?pericardial effusion... no; but DCM.\x00\xff")
	f.Add("left atrium , , , dilated ... ...")
	rules, err := LoadRules("builtin:phantom")
	if err != nil {
		f.Fatal(err)
	}
	mts, err := LoadRules("builtin:mtsamples")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, r := range []*Rules{rules, mts} {
			got := r.Label(s)
			sentences := map[string]bool{}
			for _, x := range r.split.Sentences(s) {
				sentences[x] = true
			}
			for _, l := range r.Labels() {
				fd, ok := got[l]
				if !ok || fd.Answer == "" {
					t.Fatalf("%s: no answer for %q", l, s)
				}
				if fd.Evidence != "" && !sentences[fd.Evidence] {
					t.Fatalf("%s: evidence %q is not a sentence of %q", l, fd.Evidence, s)
				}
			}
		}
	})
}

// FuzzParseAnswer: no content makes the validator panic, and whatever it
// accepts has a valid answer and evidence found in the report.
func FuzzParseAnswer(f *testing.F) {
	f.Add(`{"answer": "present", "evidence": "Small pericardial effusion."}`, "FINDINGS: Small pericardial effusion.")
	f.Add("```json\n{\"answer\": \"absent\", \"evidence\": \"\"}\n```", "x")
	f.Add(`{"answer": "uncertain", "evidence": "?"}`, "?")
	f.Fuzz(func(t *testing.T, content, report string) {
		fd, err := parseAnswer(&completion{Content: content, FinishReason: "stop"}, report)
		if err != nil {
			return
		}
		switch fd.Answer {
		case Present, Uncertain:
			if fd.Evidence == "" {
				t.Fatalf("%s without evidence from %q", fd.Answer, content)
			}
		case Absent:
		default:
			t.Fatalf("answer %q accepted from %q", fd.Answer, content)
		}
		if fd.Evidence != "" && !strings.Contains(squash(report), squash(fd.Evidence)) {
			t.Fatalf("evidence %q not in report %q", fd.Evidence, report)
		}
	})
}
