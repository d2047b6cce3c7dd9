package phantom

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
)

// A report is built sentence by sentence from phrase pools. Measured values
// carry realistic measurement noise (LVEF ±2.5 points SD, volumes ±5 % SD),
// wording is varied (synonyms, British/American spelling, abbreviations),
// and every report mentions several phenotypes, most of them negated, so
// that no single word gives the label away.

type reportBuilder struct {
	r        *rand.Rand
	sections []reportSection
	british  bool
}

type reportSection struct {
	title     string
	sentences []string
	numbered  bool
}

func (b *reportBuilder) pick(opts ...string) string { return opts[b.r.IntN(len(opts))] }

func (b *reportBuilder) chance(p float64) bool { return b.r.Float64() < p }

// sp applies the report's spelling convention to s.
func (b *reportBuilder) sp(s string) string {
	if !b.british {
		return s
	}
	r := strings.NewReplacer("ischemi", "ischaemi", "Ischemi", "Ischaemi", "hemodynamic", "haemodynamic",
		"edema", "oedema", "Edema", "Oedema", "dyspnea", "dyspnoea", "Dyspnea", "Dyspnoea", "anemia", "anaemia")
	return r.Replace(s)
}

func (b *reportBuilder) add(sec int, s string) {
	b.sections[sec].sentences = append(b.sections[sec].sentences, b.sp(s))
}

func (b *reportBuilder) count() int {
	n := 0
	for _, s := range b.sections {
		n += len(s.sentences)
	}
	return n
}

func (b *reportBuilder) String() string {
	var out strings.Builder
	for i, s := range b.sections {
		if len(s.sentences) == 0 {
			continue
		}
		if i > 0 {
			out.WriteString("\n\n")
		}
		out.WriteString(s.title)
		switch {
		case s.numbered:
			for k, x := range s.sentences {
				fmt.Fprintf(&out, "\n%d. %s", k+1, x)
			}
		case i <= 1: // indication and technique run on the title line
			out.WriteString(" ")
			out.WriteString(strings.Join(s.sentences, " "))
		default:
			for _, x := range s.sentences {
				out.WriteString("\n")
				out.WriteString(x)
			}
		}
	}
	return out.String()
}

const (
	secIndication = iota
	secTechnique
	secFindings
	secImpression
)

var wallNames = map[string]string{"LAD": "anterior wall, anteroseptum and apex", "RCA": "inferior wall and inferoseptum", "LCx": "inferolateral and anterolateral walls"}

func severity(ef float64) string {
	switch {
	case ef < 30:
		return "severely"
	case ef < 40:
		return "moderately"
	case ef < 50:
		return "mildly"
	}
	return ""
}

// makeReport writes a free-text CMR report (8–20 sentences) for a study.
func makeReport(r *rand.Rand, st *StudyTruth, s *Subject, a *acquisition) string {
	b := &reportBuilder{r: r, british: r.IntN(2) == 0}
	b.sections = []reportSection{
		{title: b.pick("CLINICAL INDICATION:", "INDICATION:", "Clinical history:", "REASON FOR EXAM:")},
		{title: b.pick("TECHNIQUE:", "Technique:", "PROTOCOL:")},
		{title: b.pick("FINDINGS:", "Findings:", "REPORT:")},
		{title: b.pick("IMPRESSION:", "CONCLUSION:", "Impression:", "SUMMARY:"), numbered: r.IntN(2) == 0},
	}
	t := st.Truth
	ph := st.Phenotype
	bsa := s.BSA()
	ef := math.Round(t.LVEF + r.NormFloat64()*2.5)
	edv := math.Round(t.EDV * (1 + r.NormFloat64()*0.05))
	esv := math.Round(edv * (1 - ef/100))
	rvedv := math.Round(t.RVEDV * (1 + r.NormFloat64()*0.06))
	rvef := math.Round(t.RVEF + r.NormFloat64()*3)
	mwt := math.Round(t.WallThickness + r.NormFloat64()*0.8)
	mass := math.Round(t.LVMass * (1 + r.NormFloat64()*0.07))

	// Indication: weakly informative, sometimes misleading.
	common := []string{"Dyspnea on exertion.", "Chest pain, ?cause.", "Palpitations.", "Abnormal ECG.", "Breathlessness.",
		"Murmur on auscultation.", "Assessment of LV function.", "Syncope.", "Abnormal echocardiogram, further characterisation requested.",
		"Pre-chemotherapy baseline assessment.", "Atypical chest pain with raised troponin.", "Suspected cardiomyopathy.",
		"Family history of sudden cardiac death.", "Fatigue and reduced exercise tolerance."}
	specific := map[Phenotype][]string{
		DCM:      {"Heart failure with reduced ejection fraction on echo.", "New LBBB and breathlessness.", "Known cardiomyopathy, follow-up."},
		HCM:      {"Family history of hypertrophic cardiomyopathy.", "LVH on ECG.", "Systolic murmur and LVH on echo."},
		Infarct:  {"Previous MI, viability assessment.", "Known coronary artery disease.", "Regional wall motion abnormality on echo."},
		Effusion: {"Pericardial effusion on echo, please characterise.", "Pleuritic chest pain.", "Recent viral illness, ?pericarditis."},
	}
	ind := common[r.IntN(len(common))]
	if sp, ok := specific[ph]; ok && r.Float64() < 0.5 {
		ind = sp[r.IntN(len(sp))]
	}
	b.add(secIndication, ind)

	// Technique.
	field := fmt.Sprintf("%.1fT", a.field)
	b.add(secTechnique, b.pick(
		fmt.Sprintf("CMR was performed on a %s %s scanner.", field, capitalize(strings.ToLower(strings.Fields(st.Manufacturer)[0]))),
		fmt.Sprintf("Cardiac MRI at %s.", field),
		fmt.Sprintf("Imaging performed at %s with ECG gating and breath-holding.", field)))
	b.add(secTechnique, b.pick(
		"Cine SSFP images were acquired in the 2-, 3- and 4-chamber long axis planes and as a short axis stack.",
		"Balanced SSFP cine imaging in long axis views and a contiguous SAX stack.",
		"bSSFP cines (2CH, 3CH, 4CH and short axis stack) were obtained.",
		"Standard cine imaging in LAX and SAX orientations."))
	if b.chance(0.8) {
		b.add(secTechnique, b.pick(
			"LGE imaging was performed 10 minutes after intravenous gadolinium.",
			"Late gadolinium enhancement images were acquired after 0.15 mmol/kg gadobutrol.",
			"Post-contrast PSIR LGE imaging in matching planes."))
	}

	// Findings: LV size and function.
	sev := severity(ef)
	switch {
	case ph == DCM:
		b.add(secFindings, b.pick(
			fmt.Sprintf("The left ventricle is dilated (LVEDV %.0f ml, %.0f ml/m2) with %s impaired systolic function.", edv, edv/bsa, sev),
			fmt.Sprintf("Dilated LV, EDV %.0f mL (indexed %.0f mL/m²), with global hypokinesis.", edv, edv/bsa),
			fmt.Sprintf("LV cavity is enlarged with an end-diastolic volume of %.0f ml and diffuse hypokinesia.", edv)))
	case ph == Infarct:
		b.add(secFindings, fmt.Sprintf("%s LV (EDV %.0f ml, ESV %.0f ml) with %s reduced systolic function.",
			b.pick("Mildly dilated", "Normal sized to mildly dilated", "Upper normal size"), edv, esv, sev))
		b.add(secFindings, b.pick(
			fmt.Sprintf("There is akinesis and wall thinning of the %s.", wallNames[t.InfarctTerritory]),
			fmt.Sprintf("Regional wall motion abnormality: the %s is thinned and akinetic.", wallNames[t.InfarctTerritory]),
			fmt.Sprintf("RWMA with akinetic, thinned myocardium in the %s.", wallNames[t.InfarctTerritory])))
	case ph == HCM:
		site := "basal to mid anteroseptum and inferoseptum"
		if t.HypertrophySite == "apical" {
			site = "apical segments"
		}
		b.add(secFindings, b.pick(
			fmt.Sprintf("There is asymmetric LV hypertrophy with a maximal wall thickness of %.0f mm in the %s.", mwt, site),
			fmt.Sprintf("Hypertrophy of the %s, measuring up to %.0f mm.", site, mwt),
			fmt.Sprintf("Maximal end-diastolic wall thickness %.0f mm (%s).", mwt, site)))
		b.add(secFindings, b.pick("Small LV cavity with hyperdynamic systolic function.", "LV cavity size is normal to small.",
			"Vigorous LV systolic function with near cavity obliteration at end-systole."))
		if b.chance(0.6) {
			b.add(secFindings, b.pick("No systolic anterior motion of the mitral valve.", "No LVOT flow acceleration at rest.",
				"No dynamic LVOT obstruction is seen."))
		}
	default:
		b.add(secFindings, b.pick(
			"The left ventricle is normal in size and wall thickness.",
			"Normal LV dimensions and wall thickness.",
			fmt.Sprintf("LV size normal (EDVi %.0f ml/m2).", edv/bsa)))
	}
	b.add(secFindings, b.pick(
		fmt.Sprintf("LVEF %.0f%% (EDV %.0f ml, ESV %.0f ml).", ef, edv, esv),
		fmt.Sprintf("Ejection fraction is %.0f %%, with end-diastolic and end-systolic volumes of %.0f mL and %.0f mL.", ef, edv, esv),
		fmt.Sprintf("LV EF: %.0f%%, LVEDV %.0f ml, LVESV %.0f ml.", ef, edv, esv),
		fmt.Sprintf("Calculated LV ejection fraction of %.0f%%; EDV %.0f ml/ESV %.0f ml.", ef, edv, esv)))
	if b.chance(0.5) {
		b.add(secFindings, fmt.Sprintf("LV mass %.0f g (%.0f g/m2).", mass, mass/bsa))
	}
	if ph != HCM && ph != Infarct && b.chance(0.6) {
		b.add(secFindings, b.pick("No regional wall motion abnormality.", "No RWMA.", "Wall motion is globally "+map[bool]string{true: "reduced", false: "normal"}[ph == DCM]+"."))
	}
	if ph != HCM && b.chance(0.5) {
		b.add(secFindings, fmt.Sprintf("Maximal wall thickness %.0f mm.", mwt))
	}
	// RV.
	rvPhrase := "normal in size and function"
	if ph == DCM && rvef < 45 {
		rvPhrase = "mildly dilated with impaired function"
	}
	b.add(secFindings, b.pick(
		fmt.Sprintf("The right ventricle is %s (RVEDV %.0f ml, RVEF %.0f%%).", rvPhrase, rvedv, rvef),
		fmt.Sprintf("RV %s, RVEF %.0f%%.", rvPhrase, rvef),
		fmt.Sprintf("Right ventricular volumes and systolic function: RVEDV %.0f mL, EF %.0f %%.", rvedv, rvef)))
	// Atria and valves.
	if b.chance(0.7) {
		la := "normal in size"
		if ph == DCM {
			la = b.pick("dilated", "moderately dilated")
		}
		b.add(secFindings, fmt.Sprintf("The left atrium is %s.", la))
	}
	if b.chance(0.5) {
		b.add(secFindings, b.pick("No significant valvular abnormality on cine imaging.", "Valves appear structurally normal.",
			"Mild functional mitral regurgitation.", "Trivial tricuspid regurgitation."))
	}
	// Pericardium.
	if s.Effusion {
		size := "small"
		switch {
		case t.EffusionMM >= 15:
			size = "large"
		case t.EffusionMM >= 10:
			size = "moderate"
		}
		b.add(secFindings, b.pick(
			fmt.Sprintf("There is a %s circumferential pericardial effusion measuring up to %.0f mm.", size, t.EffusionMM),
			fmt.Sprintf("%s pericardial effusion (maximal depth %.0f mm) without diastolic chamber collapse.", capitalize(size), t.EffusionMM),
			fmt.Sprintf("Pericardial fluid collection, %s, up to %.0f mm.", size, t.EffusionMM)))
		if b.chance(0.6) {
			b.add(secFindings, b.pick("No features of tamponade.", "No hemodynamic compromise.", "Pericardium is not thickened."))
		}
	} else if b.chance(0.7) {
		b.add(secFindings, b.pick("No pericardial effusion.", "Pericardium normal.", "No pericardial thickening or effusion."))
	}
	// LGE.
	switch {
	case ph == Infarct:
		b.add(secFindings, b.pick(
			fmt.Sprintf("Subendocardial to transmural LGE in the %s territory, consistent with prior infarction.", t.InfarctTerritory),
			fmt.Sprintf("Transmural late enhancement of the %s (%s territory).", wallNames[t.InfarctTerritory], t.InfarctTerritory),
			fmt.Sprintf("LGE: >50%% transmural scar in the %s distribution.", t.InfarctTerritory)))
	case ph == DCM:
		b.add(secFindings, b.pick("Mid-wall septal LGE.", "No LGE to suggest an ischemic aetiology.", "Patchy mid-wall enhancement in the septum; no subendocardial LGE."))
	case ph == HCM:
		b.add(secFindings, b.pick("Patchy LGE at the RV insertion points.", "Patchy mid-wall LGE in the hypertrophied segments.", "No significant LGE."))
	default:
		b.add(secFindings, b.pick("No LGE.", "No myocardial late gadolinium enhancement to suggest infarction or fibrosis.",
			"No ischemic or non-ischemic pattern of LGE."))
	}
	if b.chance(0.4) {
		b.add(secFindings, b.pick("Incidental note is made of a small hiatus hernia.", "Extracardiac structures are unremarkable.",
			"Small bilateral pleural effusions.", "No significant extracardiac findings.", "Simple hepatic cyst noted incidentally."))
	}

	// Impression.
	switch ph {
	case DCM:
		b.add(secImpression, b.pick(
			fmt.Sprintf("Dilated LV with %s impaired systolic function (LVEF %.0f%%), in keeping with dilated cardiomyopathy.", sev, ef),
			fmt.Sprintf("DCM phenotype, LVEF %.0f%%.", ef),
			fmt.Sprintf("Non-ischemic dilated cardiomyopathy with %s reduced LVEF of %.0f%%.", sev, ef)))
	case HCM:
		b.add(secImpression, b.pick(
			fmt.Sprintf("Appearances are consistent with hypertrophic cardiomyopathy (MWT %.0f mm).", mwt),
			"Asymmetric hypertrophy in keeping with HCM.",
			fmt.Sprintf("Hypertrophic cardiomyopathy with preserved systolic function (LVEF %.0f%%).", ef)))
	case Infarct:
		b.add(secImpression, b.pick(
			fmt.Sprintf("Prior %s territory myocardial infarction with %s impaired LV function (LVEF %.0f%%).", t.InfarctTerritory, sev, ef),
			fmt.Sprintf("Ischemic cardiomyopathy: old %s infarct, LVEF %.0f%%.", t.InfarctTerritory, ef),
			fmt.Sprintf("Established infarction in the %s territory; the affected segments are non-viable.", t.InfarctTerritory)))
	case Effusion:
		b.add(secImpression, b.pick("Pericardial effusion without evidence of tamponade.", "Pericardial effusion; normal biventricular function.",
			fmt.Sprintf("Pericardial effusion (%.0f mm) with LVEF %.0f%%.", t.EffusionMM, ef)))
	default:
		b.add(secImpression, b.pick(
			fmt.Sprintf("Normal biventricular size and function (LVEF %.0f%%).", ef),
			"Structurally normal heart.",
			fmt.Sprintf("Normal study, LVEF %.0f%%.", ef)))
	}
	if s.Effusion && ph != Effusion {
		b.add(secImpression, "Associated pericardial effusion.")
	}
	negations := []string{"No evidence of infiltrative cardiomyopathy.", "No LGE to suggest myocarditis.",
		"No features of hypertrophic cardiomyopathy.", "No evidence of prior myocardial infarction.", "No pericardial effusion.",
		"No cardiomyopathy phenotype identified."}
	for _, n := range negations {
		if b.count() >= 20 {
			break
		}
		bad := (strings.Contains(n, "hypertrophic") && ph == HCM) || (strings.Contains(n, "infarction") && ph == Infarct) ||
			(strings.Contains(n, "effusion") && s.Effusion) || (strings.Contains(n, "cardiomyopathy phenotype") && ph != Normal && ph != Effusion)
		if !bad && (b.chance(0.25) || b.count() < 8) {
			b.add(secImpression, n)
		}
	}
	if b.count() < 8 {
		b.add(secImpression, "Clinical correlation is recommended.")
	}
	for b.count() > 20 {
		f := &b.sections[secFindings]
		f.sentences = f.sentences[:len(f.sentences)-1]
	}
	return b.String()
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	if s == "ge" {
		return "GE"
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
