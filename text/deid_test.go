package text

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// deidRecord is one report of the synthetic evaluation set written by
// testdata/gen/text/deid/make_deid_eval.py: text with planted identifiers
// at known byte spans, what ingest would know from the DICOM header, and
// the clinical text before planting.
type deidRecord struct {
	ID     int       `json:"id"`
	Source string    `json:"source"`
	Text   string    `json:"text"`
	Spans  [][3]any  `json:"spans"`
	Known  deidKnown `json:"known"`
	Clean  string    `json:"clean"`
	spans  []PHISpan // parsed Spans
}

type deidKnown struct {
	Names      []string `json:"names"`
	MRNs       []string `json:"mrns"`
	Accessions []string `json:"accessions"`
}

func readDeidEval(t testing.TB, name string) []*deidRecord {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "deid", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var out []*deidRecord
	sc := bufio.NewScanner(gz)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var r deidRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		for _, s := range r.Spans {
			r.spans = append(r.spans, PHISpan{Start: int(s[0].(float64)), End: int(s[1].(float64)), Kind: PHIKind(s[2].(string))})
		}
		out = append(out, &r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) < 400 {
		t.Fatalf("%d reports in the evaluation set", len(out))
	}
	return out
}

// deidScore holds span counts of one identifier type.
type deidScore struct {
	planted, found, foundTyped int // planted spans: all; fully removed; removed with this type's placeholder
	predicted, correct, typed  int // predicted spans of this type: all; overlapping a planted identifier; one of this type
}

func (s deidScore) recall() float64      { return ratio(s.found, s.planted) }
func (s deidScore) recallTyped() float64 { return ratio(s.foundTyped, s.planted) }
func (s deidScore) precision() float64   { return ratio(s.correct, s.predicted) }
func (s deidScore) precTyped() float64   { return ratio(s.typed, s.predicted) }

func ratio(a, b int) float64 {
	if b == 0 {
		return 1
	}
	return float64(a) / float64(b)
}

// scoreDeid compares predicted with planted spans. A planted identifier is
// found when predicted spans cover every byte of it; a predicted span is
// correct when it overlaps a planted identifier.
func scoreDeid(recs []*deidRecord, withKnown bool, misses func(r *deidRecord, miss PHISpan, fp bool)) map[PHIKind]*deidScore {
	sc := map[PHIKind]*deidScore{}
	get := func(k PHIKind) *deidScore {
		if sc[k] == nil {
			sc[k] = &deidScore{}
		}
		return sc[k]
	}
	for _, r := range recs {
		var k *Known
		if withKnown {
			k = &Known{Names: r.Known.Names, MRNs: r.Known.MRNs, Accessions: r.Known.Accessions}
		}
		pred := FindPHI(r.Text, k)
		for _, p := range r.spans {
			s := get(p.Kind)
			s.planted++
			covered, typed := covers(pred, p, "")
			if covered {
				s.found++
			} else if misses != nil {
				misses(r, p, false)
			}
			if typed {
				s.foundTyped++
			}
		}
		for _, q := range pred {
			s := get(q.Kind)
			s.predicted++
			hit, same := false, false
			for _, p := range r.spans {
				if q.Start < p.End && p.Start < q.End {
					hit = true
					same = same || p.Kind == q.Kind
				}
			}
			if hit {
				s.correct++
			} else if misses != nil {
				misses(r, q, true)
			}
			if same {
				s.typed++
			}
		}
	}
	return sc
}

// covers reports whether spans cover every byte of p, and whether they do
// with spans of p's kind.
func covers(spans []PHISpan, p PHISpan, _ PHIKind) (bool, bool) {
	all, typed := true, true
	for i := p.Start; i < p.End; i++ {
		in, inTyped := false, false
		for _, q := range spans {
			if q.Start <= i && i < q.End {
				in = true
				inTyped = inTyped || q.Kind == p.Kind
			}
		}
		all = all && in
		typed = typed && inTyped
	}
	return all, typed
}

func deidTable(sc map[PHIKind]*deidScore) string {
	var b strings.Builder
	fmt.Fprintf(&b, "| type | planted | recall | recall (same type) | predicted | precision | precision (same type) |\n|---|---:|---:|---:|---:|---:|---:|\n")
	for _, k := range PHIKinds() {
		s := sc[k]
		if s == nil {
			continue
		}
		fmt.Fprintf(&b, "| %s | %d | %.4f | %.4f | %d | %.4f | %.4f |\n", k, s.planted, s.recall(), s.recallTyped(), s.predicted, s.precision(), s.precTyped())
	}
	return b.String()
}

// TestDeidEvaluation measures the de-identifier on the synthetic evaluation
// set (docs/reliability.md holds the table this test prints with -v): for
// every identifier type, recall ≥ 0.98 and precision ≥ 0.90, with the
// DICOM names, patient ID and accession number known as ingest knows them.
func TestDeidEvaluation(t *testing.T) {
	for _, set := range []string{"eval", "holdout"} {
		t.Run(set, func(t *testing.T) { testDeidEvaluation(t, set) })
	}
}

func testDeidEvaluation(t *testing.T, set string) {
	recs := readDeidEval(t, set+".jsonl.gz")
	var missed []string
	sc := scoreDeid(recs, true, func(r *deidRecord, p PHISpan, fp bool) {
		what := "missed"
		if fp {
			what = "false positive"
		}
		lo, hi := max(0, p.Start-30), min(len(r.Text), p.End+30)
		missed = append(missed, fmt.Sprintf("report %d (%s) %s %s %q in …%q…", r.ID, r.Source, what, p.Kind, r.Text[p.Start:p.End], r.Text[lo:hi]))
	})
	t.Logf("with the DICOM identifiers known (as in ingest), %d reports:\n%s", len(recs), deidTable(sc))
	bare := scoreDeid(recs, false, nil)
	t.Logf("patterns only (cmrfm text deid without --known):\n%s", deidTable(bare))
	for _, k := range PHIKinds() {
		s := sc[k]
		if s == nil {
			if k != PHIID {
				t.Errorf("%s: no planted identifiers", k)
			}
			continue
		}
		if k != PHIID && s.recall() < 0.98 {
			t.Errorf("%s: recall %.4f < 0.98", k, s.recall())
		}
		if s.predicted > 0 && s.precision() < 0.90 {
			t.Errorf("%s: precision %.4f < 0.90", k, s.precision())
		}
	}
	if t.Failed() || testing.Verbose() {
		for i, m := range missed {
			if i == 60 {
				t.Logf("… %d more", len(missed)-i)
				break
			}
			t.Log(m)
		}
	}
}

// TestDeidKeepsClinicalText: the clinical text of every report of the
// evaluation set (phantom reports, MTSamples, distractor sentences with
// blood pressures, sizes, doses and eponyms) passes through unchanged, so
// its WordPiece ids are those of the original; and in a report with
// identifiers, every sentence without one keeps its ids.
func TestDeidKeepsClinicalText(t *testing.T) {
	tok, err := Load("builtin:" + DefaultBuiltin)
	if err != nil {
		t.Fatal(err)
	}
	var sp Splitter
	recs := readDeidEval(t, "eval.jsonl.gz")
	sentences, changed := 0, 0
	for _, r := range recs {
		for _, s := range sp.Sentences(r.Clean) {
			sentences++
			out, spans := Deidentify(s, nil, DeidOptions{})
			if !slices.Equal(tok.Encode(out, 0).IDs, tok.Encode(s, 0).IDs) {
				changed++
				if changed <= 20 {
					t.Errorf("report %d: clinical sentence changed: %q → %q (%v)", r.ID, s, out, spans)
				}
			}
		}
	}
	t.Logf("%d clinical sentences, %d changed", sentences, changed)
	if sentences < 5000 {
		t.Errorf("only %d clinical sentences", sentences)
	}
	// Sentences of the de-identified reports that held no identifier.
	kept, total := 0, 0
	for _, r := range recs {
		k := &Known{Names: r.Known.Names, MRNs: r.Known.MRNs, Accessions: r.Known.Accessions}
		out, _ := Deidentify(r.Text, k, DeidOptions{})
		after := map[string]bool{}
		for _, s := range sp.Sentences(out) {
			after[s] = true
		}
		at := 0
		for _, s := range sp.Sentences(r.Text) {
			i := strings.Index(r.Text[at:], s)
			if i < 0 {
				continue // the splitter rewrote it (list marker, spaces)
			}
			start, end := at+i, at+i+len(s)
			at = end
			clean := true
			for _, p := range r.spans {
				if p.Start < end && start < p.End {
					clean = false
				}
			}
			if !clean {
				continue
			}
			total++
			if after[s] {
				kept++
			} else if total-kept <= 10 {
				t.Errorf("report %d: sentence without identifiers not kept: %q", r.ID, s)
			}
		}
	}
	t.Logf("%d of %d sentences without identifiers kept verbatim", kept, total)
}

// TestDeidentifyExamples pins behaviour on hand-written cases, clinical
// numbers that must survive included.
func TestDeidentifyExamples(t *testing.T) {
	k := &Known{Names: []string{"ZYLBER^QUENTINA^M"}, MRNs: []string{"MRN-884422"}, Accessions: []string{"ACC7731"}}
	cases := []struct{ in, want string }{
		{"Patient: Quentina Zylber, DOB 03/04/1961, MRN: 88442211.", "Patient: [NAME], DOB [DATE], MRN: [MRN]."},
		{"Name: ZYLBER, QUENTINA   Accession: A99881234", "Name: [NAME]   Accession: [ACCESSION]"},
		{"Reported by Dr. Alan O'Brien-Smith, FRCR on 12 March 2021.", "Reported by Dr. [NAME], FRCR on [DATE]."},
		{"Discussed with Dr Patel (bleep 4432) on 2021-03-04.", "Discussed with Dr [NAME] (bleep [PHONE]) on [DATE]."},
		{"Contact: (555) 123-4567 or jane.doe@hospital.org; 12 Elm Street, Springfield, IL 62704.", "Contact: [PHONE] or [EMAIL]; [ADDRESS]."},
		{"Mrs Zylber's symptoms began in May 2019.", "Mrs [NAME]'s symptoms began in [DATE]."},
		{"mrn-884422 and acc 7731 and ACC7731", "[MRN] and [ACCESSION] and [ACCESSION]"}, // known IDs match across separators
		// Kept: clinical numbers, eponyms, MR/MS as valve lesions, a lower-case word that is also the name.
		{"LVEF 55 %, 2.5 × 3.1 cm mass, BP 120/80 mmHg at 1.5T; 0.15 mmol/kg gadobutrol.", ""},
		{"Moderate MR and mild MS. Simpson's method. Bruce protocol stage 3. 3/17 segments.", ""},
		{"Ejection fraction 35-40%. 17-segment model. Troponin 1450 ng/L. In 2015 a CABG x3.", ""},
		{"The quentina-free wall zylber text stays lower case.", ""},
	}
	for i, c := range cases {
		want := c.want
		if want == "" {
			want = c.in
		}
		if got, _ := Deidentify(c.in, k, DeidOptions{}); got != want {
			t.Errorf("%d: %q\n got  %q\n want %q", i, c.in, got, want)
		}
	}
}

// TestShiftDates: a shifted date keeps its layout and moves by the offset
// (checked against time.AddDate); unreadable dates become [DATE].
func TestShiftDates(t *testing.T) {
	cases := []struct {
		in   string
		days int
		want string
	}{
		{"on 2021-03-04.", -40, "on 2021-01-23."},
		{"on 20210304.", -4, "on 20210228."},
		{"on 03/04/2021.", -40, "on 01/23/2021."}, // month first
		{"on 15/04/2021.", -20, "on 26/03/2021."}, // day first: 15 > 12
		{"on 4 March 2021.", 1, "on 5 March 2021."},
		{"on March 4, 2021.", -4, "on February 28, 2021."},
		{"on 04-Mar-2021.", -365, "on 04-Mar-2020."},
		{"in May 2019.", -31, "in April 2019."},
		{"in Dec 2019.", 31, "in Jan 2020."},
		{"on 1st January 2020", -1, "on 31st December 2019"},
	}
	for _, c := range cases {
		if got, _ := Deidentify(c.in, nil, DeidOptions{Dates: DatesShift, ShiftDays: c.days}); got != c.want {
			t.Errorf("%q %+d: got %q, want %q", c.in, c.days, got, c.want)
		}
	}
	key := []byte("0123456789abcdef")
	a, b := ShiftDays(key, "PID-1", 365), ShiftDays(key, "PID-1", 365)
	if a != b || a > -1 || a < -365 {
		t.Errorf("ShiftDays: %d, %d", a, b)
	}
	seen := map[int]bool{}
	for i := range 50 {
		seen[ShiftDays(key, fmt.Sprint("P", i), 365)] = true
	}
	if len(seen) < 40 {
		t.Errorf("only %d distinct offsets over 50 patients", len(seen))
	}
}

func TestDeidentifyTable(t *testing.T) {
	in := "key,name,mrn,text\nA1,\"SMITH^JANE\",H123456,\"Jane Smith (H123456) seen 03/04/2021. LVEF 55%.\"\n"
	var out strings.Builder
	st, err := DeidentifyTable(strings.NewReader(in), "r.csv", &out, TableDeidOptions{NameColumns: []string{"name"}, IDColumns: []string{"mrn"}})
	if err != nil {
		t.Fatal(err)
	}
	want := "key,name,mrn,text\nA1,SMITH^JANE,H123456,[NAME] ([MRN]) seen [DATE]. LVEF 55%.\n"
	if out.String() != want || st.Rows != 1 || st.Changed != 1 || st.Found[PHIName] != 1 {
		t.Errorf("got %q %+v", out.String(), st)
	}
	out.Reset()
	jin := `{"study_key":"A1","patient":"P1","text":"Seen by Dr Who on 2021-03-04 <ok>"}` + "\n"
	_, err = DeidentifyTable(strings.NewReader(jin), "r.jsonl", &out, TableDeidOptions{PatientColumn: "patient", ShiftKey: []byte("0123456789abcdef"), Deid: DeidOptions{Dates: DatesShift}})
	if err != nil {
		t.Fatal(err)
	}
	d := ShiftDays([]byte("0123456789abcdef"), "P1", 0)
	shifted := time.Date(2021, 3, 4, 0, 0, 0, 0, time.UTC).AddDate(0, 0, d).Format("2006-01-02")
	if want := `{"patient":"P1","study_key":"A1","text":"Seen by Dr [NAME] on ` + shifted + ` <ok>"}` + "\n"; out.String() != want {
		t.Errorf("got  %s\nwant %s", out.String(), want)
	}
	if _, err := DeidentifyTable(strings.NewReader(in), "r.csv", &out, TableDeidOptions{NameColumns: []string{"nope"}}); err == nil || !strings.Contains(err.Error(), `no column "nope"`) {
		t.Errorf("missing column: %v", err)
	}
}
