package phantom_test

import (
	"bufio"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"
)

// referenceViews is the reference's exact-string view map (docs/reference.md
// §1.8, cmr_toolkit series_descriptions_master.csv and
// ukbiobank_series_map.csv), matched after ' '→'_' and '/'→'_'.
var referenceViews = map[string][]string{
	"4CH": strings.Fields("4CH_FIESTA_BH 4_Chamber 4CH_FIESTA_bh 4CH_FIESTA_BH_Asset *4CH_FIESTA_BH 4_CH_CINE_SENSE 4CH_CINE 4CH_CINE_FULL 4CH_CINE_SENSE bFFE_BH_4CH bFFE_BH_HLA CINE_4CH CINE_4CH_4_Slices CINE_HLA HLA_CINE HLA_CINE_SENSE HLA_STACK 4_CHAMBER_CINE 4-CHAMBERS CINE_segmented_LAX_4Ch 4CH_CINE_BH tfisp_cine_4_chamber_STACK 4_chamber_cine_trufi_retro four_chamber_cine Trufi_Cine_HLA"),
	"3CH": strings.Fields("3CH_FIESTA_BH LV3CH_FIESTA_BH VLAX_(LV3CH)_FIESTA_BH 3_Chamber VLAX_FIESTA 3CH_CINE_MID-HEART_3-5_SLICES bFFE_BH_LVOT CINE_3ch_3_SLICES CINE_LVOT LVOT_CINE LVOT_CINE_SENSE CINE_segmented_LAX_3Ch 3_CHAMBER_CINE 3CH_CINE_BH 3_ch__CINE tfisp_cine_3_chamber 3chamber_cine_trufi_retro three_chamber_cine 3_CHAMBER_CINE_STACK Trufi_Cine_3CH 3_chamber_cine_trufi_retro tfisp_cine_3_chamber_stack_(3_slices)"),
	"2CH": strings.Fields("2CH_FIESTA_BH LV2CH_FIESTA_BH 2_Chamber 2CH_FIESTA_CINE 2CH_FIESTA_BH_Asset 2CH_FIESTA_bh bFFE_BH_vla bFFE_BH_VLA CINE_2CH CINE_VLA VLA_CINE VLA_CINE_MID-HEART_3-5_SLICES VLA_CINE_SENSE VLA_CINE_WHOLE_HEART VLA_LV_2CH VLA_RV_2CH 2_CHAMBER_CINE CINE_segmented_LAX_2Ch 2CH_CINE_BH tfisp_cine_2_chamber 2chamber_cine_trufi_retro two_chamber_cine Trufi_Cine_VLA 2_chamber_cine_trufi_retro"),
	"SAX": strings.Fields("SAX_FIESTA_BH SAX_FIESTA_BH_Asset SAX_FIESTA SAX_FIESTA_ASSET_BH *SAX_FIESTA_BH bFFE_BH_CINE_SA bFFE_BH_SA CINE_SA CINE_SA_WHOLE_HEART CINE_SAX_WHOLE_HEART FIESTA_Cine_SA Funct_SA_CINE SA_CINE SA_CINE_FIESTA SA_CINE_SENSE SA_CINE_STACK SA_STACK SA_TEST Short_Ax_Base Short_Ax_Mid SHORT_AXIS_CINE_(10) tfisp_cine_sax short_axis_stack_cine_trufi_retro short_axis_cine SHORT_AXIS SAX_EF_CINE SHORT_AXIS_EF_CINE CINE-SHORT_AXIS_STACK Trufi_Cine_SAX CINE_segmented_SAX Trufi_Cine_SAX_InlineVF"),
}

func referenceView(desc string) string {
	key := strings.NewReplacer(" ", "_", "/", "_").Replace(desc)
	for v, names := range referenceViews {
		if slices.Contains(names, key) {
			return v
		}
	}
	if m := regexp.MustCompile(`^CINE_segmented_SAX_b([1-9]|1[0-5])$`).MatchString(key); m {
		return "SAX" // ukbiobank_series_map.csv
	}
	return "none"
}

// TestTables checks labels.csv, reports.jsonl and truth.json against each
// other and against the DICOM headers.
func TestTables(t *testing.T) {
	dir, c := sharedCohort(t)
	labels := readLabels(t, dir)
	tf := readTruth(t, dir)
	if len(labels) != 15 || len(tf.Studies) != 15 || len(c.Studies) != 15 {
		t.Fatalf("%d label rows, %d truth studies, %d returned; want 15", len(labels), len(tf.Studies), len(c.Studies))
	}
	f, _ := os.Open(filepath.Join(dir, "labels.csv"))
	header, _ := bufio.NewReader(f).ReadString('\n')
	f.Close()
	if want := "study_key,patient_id,lvef,edv_ml,esv_ml,wall_thickness_mm,rv_edv_ml,normal,dcm,hcm,infarct,effusion,split,vendor\n"; header != want {
		t.Errorf("labels.csv header %q, want %q", header, want)
	}
	splitOf := map[string]string{}
	splits := map[string]int{}
	for i, row := range labels {
		st := tf.Studies[i]
		if row["study_key"] != st.StudyKey || row["patient_id"] != st.PatientID {
			t.Errorf("row %d: %s/%s vs truth %s/%s", i, row["study_key"], row["patient_id"], st.StudyKey, st.PatientID)
		}
		if s, ok := splitOf[row["patient_id"]]; ok && s != row["split"] {
			t.Errorf("patient %s is in splits %s and %s", row["patient_id"], s, row["split"])
		}
		splitOf[row["patient_id"]] = row["split"]
		splits[row["split"]]++
		var flags int
		for _, p := range []string{"dcm", "hcm", "infarct", "effusion"} {
			if row[p] == "1" {
				flags++
			}
		}
		if (row["normal"] == "1") != (flags == 0) {
			t.Errorf("row %d: normal=%s with %d disease flags", i, row["normal"], flags)
		}
		if row[st.Phenotype] != "1" {
			t.Errorf("row %d: primary phenotype %s not flagged", i, st.Phenotype)
		}
		lvef, _ := strconv.ParseFloat(row["lvef"], 64)
		edv, _ := strconv.ParseFloat(row["edv_ml"], 64)
		esv, _ := strconv.ParseFloat(row["esv_ml"], 64)
		if math.Abs(100*(edv-esv)/edv-lvef) > 0.05 {
			t.Errorf("row %d: lvef %v inconsistent with edv %v, esv %v", i, lvef, edv, esv)
		}
		wt, _ := strconv.ParseFloat(row["wall_thickness_mm"], 64)
		ranges := map[string][2]float64{"normal": {56, 72}, "dcm": {15, 35}, "hcm": {62, 80}, "infarct": {30, 50}, "effusion": {55, 72}}
		rg := ranges[st.Phenotype]
		if lvef < rg[0]-1 || lvef > rg[1]+1 {
			t.Errorf("row %d (%s): lvef %.1f outside %v", i, st.Phenotype, lvef, rg)
		}
		if st.Phenotype == "hcm" && (wt < 15 || wt > 26.5) {
			t.Errorf("row %d: HCM maximal wall thickness %.1f mm outside 15–26", i, wt)
		}
		if st.Phenotype != "hcm" && wt > 13 {
			t.Errorf("row %d (%s): wall thickness %.1f mm", i, st.Phenotype, wt)
		}
	}
	for _, s := range []string{"train", "val", "test"} {
		if splits[s] == 0 {
			t.Errorf("no %s study", s)
		}
	}

	// Reports: one per study, 8–20 sentences, stating LVEF near the label.
	rf, err := os.Open(filepath.Join(dir, "reports.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer rf.Close()
	sc := bufio.NewScanner(rf)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	sentEnd := regexp.MustCompile(`[.!?](\s|$)`)
	efRe := regexp.MustCompile(`(?i)(?:LVEF|EF:?|ejection fraction(?: is| of)?)\s*(\d+)\s*%`)
	keywords := map[string]*regexp.Regexp{"dcm": regexp.MustCompile(`(?i)dilated`), "hcm": regexp.MustCompile(`(?i)hypertroph|HCM`),
		"infarct": regexp.MustCompile(`(?i)infarct`), "effusion": regexp.MustCompile(`(?i)effusion`)}
	i := 0
	for ; sc.Scan(); i++ {
		var rep struct {
			StudyKey  string `json:"study_key"`
			PatientID string `json:"patient_id"`
			Text      string `json:"text"`
		}
		if err := json.Unmarshal(sc.Bytes(), &rep); err != nil {
			t.Fatalf("reports.jsonl line %d: %v", i+1, err)
		}
		row := labels[i]
		if rep.StudyKey != row["study_key"] || rep.PatientID != row["patient_id"] {
			t.Errorf("report %d is for %s, labels row is %s", i, rep.StudyKey, row["study_key"])
		}
		n := len(sentEnd.FindAllString(rep.Text, -1))
		if n < 8 || n > 20 {
			t.Errorf("%s: %d sentences, want 8–20:\n%s", rep.StudyKey, n, rep.Text)
		}
		if !strings.Contains(rep.Text, "\n") {
			t.Errorf("%s: report has no line breaks", rep.StudyKey)
		}
		m := efRe.FindStringSubmatch(rep.Text)
		if m == nil {
			t.Errorf("%s: report states no LVEF:\n%s", rep.StudyKey, rep.Text)
		} else {
			stated, _ := strconv.ParseFloat(m[1], 64)
			lvef, _ := strconv.ParseFloat(row["lvef"], 64)
			if math.Abs(stated-lvef) > 10 {
				t.Errorf("%s: report states LVEF %v, label %v", rep.StudyKey, stated, lvef)
			}
		}
		for p, re := range keywords {
			if row[p] == "1" && !re.MatchString(rep.Text) {
				t.Errorf("%s: %s study whose report never names it:\n%s", rep.StudyKey, p, rep.Text)
			}
		}
	}
	if i != len(labels) {
		t.Errorf("%d reports for %d studies", i, len(labels))
	}

	// truth.json: views agree with the reference's series-description map,
	// every study has each view and the non-cine series ingest must drop, and
	// the headers carry the documented fake PHI.
	perSlice, oneSeries := 0, 0
	for _, st := range tf.Studies {
		var saxIdx []int
		saxSeries := 0
		for _, se := range st.Series {
			if se.View != "SAX" {
				continue
			}
			saxSeries++
			if se.SAXSlice != nil {
				saxIdx = append(saxIdx, *se.SAXSlice)
				if se.Slices != 1 {
					t.Errorf("%s: per-slice SAX series %s has %d slices", st.StudyKey, se.Folder, se.Slices)
				}
			}
		}
		switch {
		case saxSeries == 1 && len(saxIdx) == 0:
			oneSeries++
		case saxSeries > 1 && len(saxIdx) == saxSeries:
			perSlice++
			slices.Sort(saxIdx)
			for k, v := range saxIdx {
				if v != k {
					t.Errorf("%s: per-slice SAX positions %v, want 0..%d", st.StudyKey, saxIdx, saxSeries-1)
					break
				}
			}
		default:
			t.Errorf("%s: %d SAX series with positions %v", st.StudyKey, saxSeries, saxIdx)
		}
	}
	if perSlice == 0 || oneSeries == 0 {
		t.Errorf("cohort has %d per-slice and %d single-series SAX stacks; want both kinds", perSlice, oneSeries)
	}
	for _, st := range tf.Studies {
		views := map[string]int{}
		for _, se := range st.Series {
			views[se.View]++
			want := se.View
			if ref := referenceView(se.SeriesDescription); ref != want {
				t.Errorf("%s series %d %q: truth view %s, reference map says %s", st.StudyKey, se.SeriesNumber, se.SeriesDescription, want, ref)
			}
			files, _ := filepath.Glob(filepath.Join(dir, "dicom", st.StudyFolder, se.Folder, "*.dcm"))
			ds, err := dicom.ParseFile(files[0], nil, dicom.SkipPixelData())
			if err != nil {
				t.Fatal(err)
			}
			for tg, re := range map[tag.Tag]*regexp.Regexp{
				tag.PatientName:       regexp.MustCompile(`^PHANTOM\^[A-Z]+$`),
				tag.PatientID:         regexp.MustCompile(`^PHI-PID-\d{6}$`),
				tag.AccessionNumber:   regexp.MustCompile(`^PHI-ACC-\d{8}$`),
				tag.InstitutionName:   regexp.MustCompile(`^PHI-INST `),
				tag.SeriesDescription: regexp.MustCompile(`^` + regexp.QuoteMeta(se.SeriesDescription) + `$`),
				tag.PatientBirthDate:  regexp.MustCompile(`^(19|20)\d{6}$`),
			} {
				v, err := elemStrings(&ds, tg)
				if err != nil || len(v) != 1 || !re.MatchString(v[0]) {
					t.Errorf("%s: %v = %v (%v), want %v", files[0], tg, v, err, re)
				}
			}
		}
		for _, v := range []string{"4CH", "3CH", "2CH", "SAX"} {
			if views[v] == 0 {
				t.Errorf("%s: no %s series", st.StudyKey, v)
			}
		}
		if views["none"] < 2 {
			t.Errorf("%s: %d non-cine series, want a scout and an LGE", st.StudyKey, views["none"])
		}
	}
}
