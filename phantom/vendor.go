package phantom

import (
	"github.com/cmrfm/cmrfm/cine"
)

// descFamily is one coherent set of series descriptions as a site's
// protocol names them. Every cine name is in the reference's view map
// (docs/reference.md §1.8), after its ' '→'_' replacement.
type descFamily struct {
	lax map[cine.View]string
	sax string
	// saxPerSlice writes one series per SAX slice. With perSliceNumbered the
	// description gets the slice number (UK Biobank's CINE_segmented_SAX_b1…),
	// otherwise every slice series shares the description.
	saxPerSlice      bool
	perSliceNumbered bool
}

// vendor is a scanner manufacturer's conventions: naming, numbering,
// matrices, intensity scaling and the sequence header fields.
type vendor struct {
	key          string // labels.csv vendor column
	manufacturer string
	models       []string
	software     []string
	families     []descFamily
	scout, lge   []string
	frames       []int
	cols         []int      // reconstructed matrix columns
	rowFrac      [2]float64 // rows = cols·frac rounded to 8 (rectangular FOV)
	fov          [2]float64 // mm along the rows
	gain         [2]float64 // real-world value of blood
	slope        [2]float64 // RescaleSlope range (0: slope 1)
	snr          [2]float64
	rot          float64 // ± in-plane rotation of LAX planes (deg)
	saxRot       float64
	frameMajor   bool // instance numbers run over slices within each phase
	seriesBase   int
	seriesStep   int
	apexToBase   float64 // probability the SAX stack is acquired apex first
	thickGap     [][2]float64
	scanSeq      string
	seqVariant   string
	scanOptions  string
	seqName      string
	lgeSeqName   string
	imageType    []string
	coil         []string
	sliceLocSign float64 // SliceLocation = sign·(centre·normal)
	temporalTags bool    // TemporalPositionIdentifier / NumberOfTemporalPositions
}

func lax(c4, c3, c2 string) map[cine.View]string {
	return map[cine.View]string{cine.View4CH: c4, cine.View3CH: c3, cine.View2CH: c2}
}

// vendors are the three manufacturers the reference's series maps come
// from, in a fixed order (the cohort samples by index).
var vendors = []vendor{
	{
		key: "siemens", manufacturer: "SIEMENS",
		models:   []string{"Avanto", "Aera", "Skyra", "MAGNETOM Sola", "Prisma_fit"},
		software: []string{"syngo MR E11", "syngo MR D13", "syngo MR XA20"},
		families: []descFamily{
			{lax: lax("4_chamber_cine_trufi_retro", "3_chamber_cine_trufi_retro", "2_chamber_cine_trufi_retro"), sax: "short_axis_stack_cine_trufi_retro"},
			{lax: lax("CINE_segmented_LAX_4Ch", "CINE_segmented_LAX_3Ch", "CINE_segmented_LAX_2Ch"), sax: "CINE_segmented_SAX_b", saxPerSlice: true, perSliceNumbered: true},
			{lax: lax("four_chamber_cine", "three_chamber_cine", "two_chamber_cine"), sax: "short_axis_cine", saxPerSlice: true},
			{lax: lax("Trufi_Cine_HLA", "Trufi_Cine_3CH", "Trufi_Cine_VLA"), sax: "Trufi_Cine_SAX"},
			{lax: lax("CINE_4CH", "CINE_LVOT", "CINE_2CH"), sax: "CINE_SA"},
		},
		scout:  []string{"localizer", "AAHScout", "localizer_3plane"},
		lge:    []string{"LGE_PSIR_SAX", "tfl_LGE_SAX_PSIR", "PSIR_single_shot_SAX"},
		frames: []int{25, 25, 30, 20}, cols: []int{192, 208, 224, 256}, rowFrac: [2]float64{0.75, 0.9},
		fov: [2]float64{340, 380}, gain: [2]float64{220, 700}, snr: [2]float64{25, 55},
		rot: 12, saxRot: 12, seriesBase: 1, seriesStep: 1, apexToBase: 0.2,
		thickGap: [][2]float64{{8, 2}, {8, 0}, {6, 4}, {8, 1}},
		scanSeq:  "GR", seqVariant: "SK\\SS", scanOptions: "", seqName: "*tfi2d1_12", lgeSeqName: "*tfl2d1r_2",
		imageType: []string{"ORIGINAL", "PRIMARY", "M", "RETRO", "DIS2D"},
		coil:      []string{"Body_18", "BO1,2;SP5-7", "HEA;HEP"}, sliceLocSign: 1,
	},
	{
		key: "ge", manufacturer: "GE MEDICAL SYSTEMS",
		models:   []string{"SIGNA Artist", "DISCOVERY MR450", "Signa HDxt", "SIGNA Premier", "Optima MR450w"},
		software: []string{"27\\LX\\MR Software release:DV26.0_R03_1831.b", "24\\LX\\MR Software release:DV24.0_R01_1344.a", "16\\LX\\MR Software release:HD16.0_V02_1131.a"},
		families: []descFamily{
			{lax: lax("4CH FIESTA BH", "3CH FIESTA BH", "2CH FIESTA BH"), sax: "SAX FIESTA BH"},
			{lax: lax("4CH FIESTA BH Asset", "LV3CH FIESTA BH", "LV2CH FIESTA BH"), sax: "SAX FIESTA BH Asset"},
			{lax: lax("4CH CINE BH", "3CH CINE BH", "2CH CINE BH"), sax: "SAX EF CINE"},
			{lax: lax("4CH FIESTA BH", "LV3CH FIESTA BH", "2CH FIESTA CINE"), sax: "FIESTA Cine SA"},
		},
		scout:  []string{"3-Plane Loc", "3Plane Loc SSFP", "3-pl T2* FGRE S"},
		lge:    []string{"MDE SAX", "PSIR SAX", "MDE PSIR SA"},
		frames: []int{20, 20, 25, 30}, cols: []int{192, 224, 256}, rowFrac: [2]float64{0.8, 1},
		fov: [2]float64{340, 400}, gain: [2]float64{900, 2600}, snr: [2]float64{20, 45},
		rot: 0, saxRot: 8, seriesBase: 1, seriesStep: 1, apexToBase: 0.35,
		thickGap: [][2]float64{{8, 2}, {8, 0}, {7, 3}, {8, 1}},
		scanSeq:  "GR", seqVariant: "SS\\SK", scanOptions: "CG\\FAST_GEMS", seqName: "fiestacine", lgeSeqName: "psir_mde",
		imageType: []string{"ORIGINAL", "PRIMARY", "OTHER"},
		coil:      []string{"HD Cardiac", "32Ch Body", "8HRBRAIN"}, sliceLocSign: -1,
	},
	{
		key: "philips", manufacturer: "Philips Medical Systems",
		models:   []string{"Ingenia", "Achieva", "Ingenia Elition X", "Intera"},
		software: []string{"5.6.1\\5.6.1.2", "5.3.1\\5.3.1.0", "3.2.3\\3.2.3.1"},
		families: []descFamily{
			{lax: lax("bFFE BH 4CH", "bFFE BH LVOT", "bFFE BH VLA"), sax: "bFFE BH SA"},
			{lax: lax("4CH CINE SENSE", "LVOT CINE SENSE", "VLA CINE SENSE"), sax: "SA CINE SENSE"},
			{lax: lax("HLA CINE", "LVOT CINE", "VLA CINE"), sax: "SA STACK"},
		},
		scout:  []string{"Survey", "SURVEY_BH", "SmartExam Survey"},
		lge:    []string{"LGE PSIR SA", "3D LGE SA", "LGE_SA_PSIR"},
		frames: []int{30, 25, 30, 24}, cols: []int{208, 224, 240, 256}, rowFrac: [2]float64{0.85, 1},
		fov: [2]float64{320, 380}, gain: [2]float64{150, 500}, slope: [2]float64{1.2, 3.4}, snr: [2]float64{25, 60},
		rot: 15, saxRot: 15, frameMajor: true, seriesBase: 101, seriesStep: 100, apexToBase: 0.1,
		thickGap: [][2]float64{{8, 0}, {8, 2}, {10, 0}, {7, 1}},
		scanSeq:  "GR", seqVariant: "SS", scanOptions: "CG", seqName: "B-TFE", lgeSeqName: "IR-TFE",
		imageType: []string{"ORIGINAL", "PRIMARY", "M_FFE", "M", "FFE"},
		coil:      []string{"MULTI COIL", "SENSE-Cardiac", "dS Torso"}, sliceLocSign: 1, temporalTags: true,
	},
}

// vendorByKey returns the vendor with the given key, or nil.
func vendorByKey(key string) *vendor {
	for i := range vendors {
		if vendors[i].key == key {
			return &vendors[i]
		}
	}
	return nil
}
