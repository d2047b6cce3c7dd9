package text

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cmrfm/cmrfm/internal/testenv"
)

// The expected splits below were written by hand, reading each report as a
// radiologist would, not produced by the splitter.

// mtNote returns the transcription of one MTSamples note by id.
func mtNote(t *testing.T, file string, id int) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.SharedData(t, "mtsamples"), file))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		var r struct {
			NoteID        int    `json:"note_id"`
			Transcription string `json:"transcription"`
		}
		if line == "" {
			continue
		}
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatal(err)
		}
		if r.NoteID == id {
			return r.Transcription
		}
	}
	t.Fatalf("%s: no note %d", file, id)
	return ""
}

// sec builds expected sentences: a string starting with "§" sets the section
// of the sentences after it.
func sec(items ...string) []Sentence {
	var out []Sentence
	section := ""
	for _, it := range items {
		if s, ok := strings.CutPrefix(it, "§"); ok {
			section = s
			continue
		}
		out = append(out, Sentence{Text: it, Section: section})
	}
	return out
}

func checkSplit(t *testing.T, name string, got, want []Sentence) {
	t.Helper()
	if slices.Equal(got, want) {
		return
	}
	t.Errorf("%s: %d sentences, want %d", name, len(got), len(want))
	for i := range max(len(got), len(want)) {
		var g, w Sentence
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			t.Errorf("  %d: got  [%s] %q\n     want [%s] %q", i, g.Section, g.Text, w.Section, w.Text)
		}
	}
}

func TestSplitMTSamples(t *testing.T) {
	const cardiac, mri = "mtsamples_cardiac.jsonl", "mtsamples_mri_radiology.jsonl"
	cases := []struct {
		file string
		note int
		want []Sentence
	}{
		{cardiac, 4, sec( // numbered findings under "2-D M-MODE: , ," and "DOPPLER: , ,"
			"§2-D M-MODE",
			"Left atrial enlargement with left atrial diameter of 4.7 cm.",
			"Normal size right and left ventricle.",
			"Normal LV systolic function with left ventricular ejection fraction of 51%.",
			"Normal LV diastolic function.",
			"No pericardial effusion.",
			"Normal morphology of aortic valve, mitral valve, tricuspid valve, and pulmonary valve.",
			"PA systolic pressure is 36 mmHg.",
			"§DOPPLER",
			"Mild mitral and tricuspid regurgitation.",
			"Trace aortic and pulmonary regurgitation.")},
		{cardiac, 12, sec( // headers without colons above numbered lists
			"§2-D STUDY",
			"Mild aortic stenosis, widely calcified, minimally restricted.",
			"Mild left ventricular hypertrophy but normal systolic function.",
			"Moderate biatrial enlargement.",
			"Normal right ventricle.",
			"Normal appearance of the tricuspid and mitral valves.",
			"Normal left ventricle and left ventricular systolic function.",
			"§DOPPLER",
			"There is 1 to 2+ aortic regurgitation easily seen, but no aortic stenosis.",
			"Mild tricuspid regurgitation with only mild increase in right heart pressures, 30-35 mmHg maximum.",
			"§SUMMARY",
			"Normal left ventricle.",
			"Moderate biatrial enlargement.",
			"Mild tricuspid regurgitation, but only mild increase in right heart pressures.")},
		{cardiac, 1496, sec( // decimals glued to units, "8 weeks, 2 days"
			"§FINDINGS",
			"By dates the patient is 8 weeks, 2 days.",
			"There is a gestational sac within the endometrial cavity measuring 2.1cm consistent with 6 weeks 4 days.",
			"There is a fetal pole measuring 7mm consistent with 6 weeks 4 days.",
			"There was no fetal heart motion on Doppler or on color Doppler.",
			"There is no fluid within the endometrial cavity.",
			"There is a 2.8 x 1.2cm right adnexal cyst.",
			"§IMPRESSION",
			"Gestational sac with a fetal pole but no fetal heart motion consistent with fetal demise at 6 weeks 4 days.",
			"By dates the patient is 8 weeks, 2 days.",
			"A preliminary report was called by the ultrasound technologist to the referring physician.")},
		{cardiac, 1526, nil}, // "INDICATIONS:," — a header and nothing else
		{cardiac, 1551, sec(
			"§DIAGNOSIS",
			"Shortness of breath.", "Fatigue and weakness.", "Hypertension.", "Hyperlipidemia.",
			"§INDICATION",
			"To evaluate for coronary artery disease.")},
		{cardiac, 1727, sec( // inline "1) … 2) …" list, dates, "y/o", "h/o"
			"§CC",
			"Transient visual field loss.",
			"§HX",
			"This 58 y/o RHF had a 2 yr h/o increasing gait difficulty which she attributed to generalized weakness and occasional visual obscurations.",
			"She was evaluated by a local physician several days prior to this presentation (1/7/91), for clumsiness of her right hand and falling.",
			"HCT and MRI brain revealed bilateral posterior clinoid masses.",
			"§MEDS",
			"Colace, Quinidine, Synthroid, Lasix, Lanoxin, KCL, Elavil, Tenormin.",
			"§PMH",
			"Obesity.", "VBG, 1990.", "A-Fib.", "HTN.", "Hypothyroidism.", "Hypercholesterolemia.",
			"Briquet's syndrome: h/o of hysterical paralysis.",
			"CLL, dx 1989; in 1992 presented with left neck lymphadenopathy and received 5 cycles of chlorambucil/prednisone chemotherapy; 10/95 parotid gland biopsy was consistent with CLL and she received 5 more cycles of chlorambucil/prednisone; 1/10/96, she received 3000cGy to right parotid mass.",
			"SNHL",
			"§FHX",
			"Father died, MI age 61.",
			"§SHX",
			"Denied Tobacco/ETOH/illicit drug use.",
			"§EXAM",
			"Vitals were unremarkable.",
			"The neurologic exam was unremarkable except for obesity and mild decreased PP about the right upper and lower face, diffusely about the left upper and lower face, per neurosurgery notes.",
			"The neuro-ophthalmologic exam was unremarkable, per Neuro-ophthalmology.",
			"§COURSE",
			"She underwent Cerebral Angiography on 1/8/91.",
			"This revealed a 15x17x20mm LICA paraclinoid/ophthalmic artery aneurysm and a 5x7mm RICA paraclinoid/ophthalmic artery aneurysm.",
			"On 1/16/91 she underwent a left frontotemporal craniotomy and exploration of the left aneurysm.",
			"The aneurysm neck went into the cavernous sinus and was unclippable so it was wrapped.",
			"She has complained of headaches since.")},
		{mri, 1569, sec( // the exam title is content, not a header
			"§EXAM",
			"MRI-UP EXT JOINT LEFT SHOULDER",
			"§CLINICAL",
			"Left shoulder pain.", "Evaluate for rotator cuff tear.",
			"§FINDINGS",
			"Multiple T1 and gradient echo axial images were obtained, as well as T1 and fat suppressed T2-weighted coronal images.",
			"The rotator cuff appears intact and unremarkable.",
			"There is no significant effusion seen.",
			"Osseous structures are unremarkable.",
			"There is no significant downward spurring at the acromioclavicular joint.",
			"The glenoid labrum is intact and unremarkable.",
			"§IMPRESSION",
			"Unremarkable MRI of the left shoulder.")},
		{mri, 1601, sec(
			"§FINDINGS",
			"There is a large intrasellar mass lesion producing diffuse expansion of the sella turcica.",
			"This mass lesions measures approximately 16 x 18 x 18mm (craniocaudal x AP x mediolateral) in size.")},
		{mri, 1609, sec( // "IMPRESSION,: NORMAL MRI…" — a header without its colon
			"§EXAM",
			"MRI OF THE RIGHT ANKLE",
			"§CLINICAL",
			"Pain.",
			"§FINDINGS",
			"The bone marrow demonstrates normal signal intensity.",
			"There is no evidence of bone contusion or fracture.",
			"There is no evidence of joint effusion.",
			"Tendinous structures surrounding the ankle joint are intact.",
			"No abnormal mass or fluid collection is seen surrounding the ankle joint.",
			"§IMPRESSION",
			"NORMAL MRI OF THE RIGHT ANKLE.")},
		{mri, 1554, sec(
			"§CC",
			"Bilateral lower extremity numbness.",
			"§HX",
			"21 y/o RHM complained of gradual onset numbness and incoordination of both lower extremities beginning approximately 11/5/96.",
			"The symptoms became maximal over a 12-24 hour period and have not changed since.",
			"The symptoms consist of tingling in the distal lower extremities approximately half way up the calf bilaterally.",
			"He noted decreased coordination of both lower extremities which he thought might be due to uncertainty as to where his feet were being placed in space.",
			"He denied bowel/bladder problems, or weakness or numbness elsewhere.",
			"Hot showers may improve his symptoms.",
			"He has suffered no recent flu-like illness.",
			"Past medical and family histories are unremarkable.",
			"He was on no medications.",
			"§EXAM",
			"Unremarkable except for mild distal vibratory sensation loss in the toes (R>L).",
			"§LAB",
			"CBC, Gen Screen, TSH, FT4, SPE, ANA were all WNL.",
			"§MRI L-SPINE",
			"Normal.",
			"§COURSE",
			"Normal exam and diminished symptoms at following visit 4/23/93.")},
	}
	sp := Splitter{CommaLineBreaks: true}
	for _, c := range cases {
		checkSplit(t, c.file+" note "+itoa(c.note), sp.Split(mtNote(t, c.file, c.note)), c.want)
	}

	// Long reports: the tricky sentences must come out whole.
	contains := []struct {
		file string
		note int
		want []string
		not  []string
	}{
		{mri, 1559, []string{
			"During the one hour flight her BLE weakness progressed to a non-weight bearing state (i.e. she could not stand).",
			"She awoke the next morning, 5/9/97, with \"pins & needles\" sensation in BLE up to her buttocks.",
			"Local laboratory evaluation: WBC 12.7, ESR 10.",
			"Missionary.", "Married.", "4 children ( ages 7,5,3,6 weeks).",
		}, nil},
		{mri, 1558, []string{
			"The patient was scanned in a 1.5 Tesla magnet.",
			"The findings suggest early changes of a “hidden” lesion.",
		}, nil},
		{cardiac, 4776, []string{ // a cath report with "A.", "B." sub-lists
			"Left main coronary: The left main coronary artery is of good caliber and has no evidence of obstructive lesions.",
		}, []string{"A.", "B.", "C."}},
	}
	for _, c := range contains {
		got := sp.Sentences(mtNote(t, c.file, c.note))
		for _, w := range c.want {
			if !slices.Contains(got, w) {
				t.Errorf("%s note %d: no sentence %q in %q", c.file, c.note, w, got)
			}
		}
		for _, n := range c.not {
			if slices.Contains(got, n) {
				t.Errorf("%s note %d: list marker %q came out as a sentence", c.file, c.note, n)
			}
		}
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func TestSplitCardiacMRIReport(t *testing.T) {
	report := "CARDIAC MRI REPORT\r\n\r\n" +
		"Indication: Chest pain, r/o myocarditis.\r\n" +
		"Technique: SSFP cine, T2 STIR and LGE imaging\r\n" +
		"after 0.15 mmol/kg gadobutrol (approx. 10 mL).\r\n" +
		"\r\n" +
		"FINDINGS:\n" +
		"- LV normal in size (LVEDV 162 mL, i.e. 85 mL/m²). LVEF 55%.\n" +
		"- Mass 2.5x3.1 cm in the RA, e.g. thrombus vs. myxoma\n" +
		"- No. 3 of 4 segments show LGE\n" +
		"• RV normal\n" +
		"1) Pericardium normal; no effusion\n" +
		"2) Aorta 3.2 cm at the sinus.\n" +
		"Late enhancement is consistent with\n" +
		"LV non-compaction or scar.\n" +
		"Normal LA size\n" +
		"Normal RA size\n" +
		"\n" +
		"Impression: Findings c/w acute myocarditis, as discussed with Dr. Smith on 1/2/2024. Recommend follow-up CMR in 3 months!\n" +
		"Is LVEF reduced? No.\n"
	want := sec(
		"CARDIAC MRI REPORT",
		"§INDICATION", "Chest pain, r/o myocarditis.",
		"§TECHNIQUE", "SSFP cine, T2 STIR and LGE imaging after 0.15 mmol/kg gadobutrol (approx. 10 mL).",
		"§FINDINGS",
		"LV normal in size (LVEDV 162 mL, i.e. 85 mL/m²).",
		"LVEF 55%.",
		"Mass 2.5x3.1 cm in the RA, e.g. thrombus vs. myxoma",
		"No. 3 of 4 segments show LGE",
		"RV normal",
		"Pericardium normal; no effusion",
		"Aorta 3.2 cm at the sinus.",
		"Late enhancement is consistent with LV non-compaction or scar.",
		"Normal LA size",
		"Normal RA size",
		"§IMPRESSION",
		"Findings c/w acute myocarditis, as discussed with Dr. Smith on 1/2/2024.",
		"Recommend follow-up CMR in 3 months!",
		"Is LVEF reduced?",
		"No.",
	)
	checkSplit(t, "cardiac MRI report", Splitter{}.Split(report), want)
}

func TestSplitOptionsAndEdges(t *testing.T) {
	checkSplit(t, "KeepHeaders", Splitter{KeepHeaders: true}.Split("FINDINGS:\nNormal.\nIMPRESSION: Normal study."),
		sec("§FINDINGS", "FINDINGS:", "Normal.", "§IMPRESSION", "IMPRESSION:", "Normal study."))

	text := "The lesion (cf. Fig. 2) is stable. Sag. T2 shows edema."
	checkSplit(t, "built-in abbreviations", Splitter{}.Split(text),
		sec("The lesion (cf. Fig. 2) is stable.", "Sag.", "T2 shows edema."))
	checkSplit(t, "extra abbreviation", Splitter{Abbreviations: []string{"Sag."}}.Split(text),
		sec("The lesion (cf. Fig. 2) is stable.", "Sag. T2 shows edema."))

	checkSplit(t, "empty", Splitter{}.Split(""), nil)
	checkSplit(t, "punctuation only", Splitter{}.Split(" .. ,;: \n - \n"), nil)
	checkSplit(t, "no final period", Splitter{}.Split("Normal study"), sec("Normal study"))
	checkSplit(t, "decimals and ranges", Splitter{}.Split("EF 55-60%. Mass 2.5 x 3.1 cm. LVEF 0.55, i.e. normal."),
		sec("EF 55-60%.", "Mass 2.5 x 3.1 cm.", "LVEF 0.55, i.e. normal."))
	checkSplit(t, "lower-case after period is not a boundary", Splitter{}.Split("Seen approx. five times. Next."),
		sec("Seen approx. five times.", "Next."))
	checkSplit(t, "mixed-case words start sentences", Splitter{}.Split("CMR at 1.5T. bSSFP cines were obtained. eGFR 60. pH 7.4, i.e. normal. and then lower"),
		sec("CMR at 1.5T.", "bSSFP cines were obtained.", "eGFR 60.", "pH 7.4, i.e. normal. and then lower"))
	checkSplit(t, "quote and bracket after the period", Splitter{}.Split("He said \"normal.\" Then (see above.) Done."),
		sec("He said \"normal.\"", "Then (see above.)", "Done."))
	checkSplit(t, "invalid UTF-8 does not panic", Splitter{}.Split("Normal\xff LV. Normal RV."),
		sec("Normal\uFFFD LV.", "Normal RV."))
	checkSplit(t, "inline bullets", Splitter{}.Split("Findings: • LV normal • RV normal"),
		sec("§FINDINGS", "LV normal", "RV normal"))
	// without CommaLineBreaks a comma is a comma
	checkSplit(t, "commas kept", Splitter{}.Split("Meds: Benadryl,ECASA,Lasix."), sec("Meds: Benadryl,ECASA,Lasix."))
	checkSplit(t, "commas as line breaks", Splitter{CommaLineBreaks: true}.Split("FINDINGS:,1.  Normal LV.,2.  Normal RV. Costs 1,000."),
		sec("§FINDINGS", "Normal LV.", "Normal RV.", "Costs 1,000."))
}
