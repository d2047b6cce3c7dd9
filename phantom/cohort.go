package phantom

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// Options configures Generate. The zero value, with Out set, writes 8
// single-frame-per-file studies with seed 0 on one worker.
type Options struct {
	// Studies is the number of studies (0 means 8).
	Studies int
	// Out is the output folder; Generate writes dicom/, reports.jsonl,
	// labels.csv and truth.json into it.
	Out string
	// Seed makes the cohort reproducible: one seed, byte-identical files.
	Seed int64
	// Workers bounds parallelism (0 means 1); the output does not depend on it.
	Workers int
	// MultiFrame writes every series as one Enhanced MR Image file
	// (SOP class 1.2.840.10008.5.1.4.1.1.4.1) instead of one MR Image file per frame.
	MultiFrame bool
	// Matrix, when positive, overrides the vendors' reconstructed matrix
	// (columns; rows follow the vendor's rectangular field of view).
	Matrix int
	// Frames, when positive, overrides the vendors' frames per cycle.
	Frames int
	// Overwrite removes an earlier cohort in Out instead of refusing to write.
	Overwrite bool
	// Log receives progress; nil discards it.
	Log *slog.Logger
	// Progress, if set, is called after each study is written with the
	// number done so far (calls are serialised).
	Progress func(done, total int)
}

// Cohort describes a generated cohort.
type Cohort struct {
	Dir     string       `json:"-"`
	Seed    int64        `json:"seed"`
	Studies []StudyTruth `json:"studies"`
}

// StudyTruth is the ground truth of one study, as written to truth.json.
type StudyTruth struct {
	StudyKey         string             `json:"study_key"` // the AccessionNumber
	PatientID        string             `json:"patient_id"`
	PatientName      string             `json:"patient_name"`
	StudyInstanceUID string             `json:"study_instance_uid"`
	StudyDate        string             `json:"study_date"`
	StudyFolder      string             `json:"study_folder"` // relative to DIR/dicom
	Vendor           string             `json:"vendor"`
	Manufacturer     string             `json:"manufacturer"`
	Split            string             `json:"split"`
	Phenotype        Phenotype          `json:"phenotype"` // primary phenotype
	Labels           map[Phenotype]bool `json:"labels"`    // one flag per labels.csv phenotype column
	Truth
	Sex          string        `json:"sex"`
	Age          int           `json:"age"`
	SliceSpacing float64       `json:"slice_spacing_mm"`
	Frames       int           `json:"frames"`
	VolumeCurve  []float64     `json:"lv_volume_curve_ml"` // analytic LV volume at every frame
	Series       []SeriesTruth `json:"series"`
	Report       string        `json:"-"`
}

// SeriesTruth is the ground truth of one series.
type SeriesTruth struct {
	Folder            string `json:"series_folder"` // relative to the study folder
	SeriesInstanceUID string `json:"series_instance_uid"`
	SeriesNumber      int    `json:"series_number"`
	SeriesDescription string `json:"series_description"`
	// View is the true plane: 4CH, 3CH, 2CH, SAX, or "none" for the scout
	// and LGE series that ingest must exclude.
	View   string `json:"view"`
	Kind   string `json:"kind"` // cine, scout or lge
	Slices int    `json:"slices"`
	Frames int    `json:"frames"` // per slice
	Files  int    `json:"files"`
	// SAXSlice is, for a one-slice series of a SAX stack split over several
	// series, the slice's 0-based position from base to apex.
	SAXSlice *int `json:"sax_slice,omitempty"`
	// RepeatOf is the series number of an earlier acquisition of the same
	// view that this series repeats (a failed breath-hold), else 0.
	RepeatOf   int  `json:"repeat_of,omitempty"`
	MultiFrame bool `json:"multiframe"`
}

// labelRow returns the labels.csv phenotype flags in column order.
func (st *StudyTruth) labelRow() []string {
	var out []string
	for _, p := range Phenotypes() {
		if st.Labels[p] {
			out = append(out, "1")
		} else {
			out = append(out, "0")
		}
	}
	return out
}

// ErrExists is returned when the output folder already holds a cohort and
// Options.Overwrite is not set.
var ErrExists = errors.New("phantom: output folder already holds a cohort")

// patientPlan and studyPlan are the cohort's sequential decisions, made
// before any study is rendered so that the result does not depend on the
// number of workers.
type patientPlan struct {
	index     int
	id, name  string
	birth     time.Time
	demog     demographics
	phenotype Phenotype
	effusion  bool
	split     string
}

type studyPlan struct {
	index   int
	patient *patientPlan
	nth     int // 1 for the first study of the patient
	date    time.Time
	vendor  *vendor
	seed    uint64
}

var givenNames = []string{"ALEX", "BLAIR", "CASEY", "DANA", "ELLIS", "FRANKIE", "GRAY", "HARPER", "INDIGO", "JORDAN",
	"KAI", "LOGAN", "MORGAN", "NOEL", "OAKLEY", "PAT", "QUINN", "RILEY", "SAGE", "TAYLOR", "UMA", "VAL", "WREN",
	"XEN", "YAEL", "ZION", "AVERY", "BRIDGE", "CAMERON", "DREW", "EMERY", "FINLEY", "HAYDEN", "JESSIE", "KENDALL",
	"LANE", "MARLOWE", "PEYTON", "REESE", "SKYLER"}

// plan makes the patient and study decisions for n studies.
func plan(seed int64, n int) ([]*patientPlan, []*studyPlan) {
	r := rand.New(rand.NewPCG(uint64(seed), 0xc0407))
	perm := r.Perm(5)
	all := Phenotypes()
	var patients []*patientPlan
	var studies []*studyPlan
	for len(studies) < n {
		p := &patientPlan{index: len(patients)}
		if p.index < 5 {
			p.phenotype = all[perm[p.index]]
		} else {
			x := r.Float64()
			switch {
			case x < 0.3:
				p.phenotype = Normal
			case x < 0.475:
				p.phenotype = DCM
			case x < 0.65:
				p.phenotype = HCM
			case x < 0.825:
				p.phenotype = Infarct
			default:
				p.phenotype = Effusion
			}
		}
		p.effusion = p.phenotype == Effusion
		if (p.phenotype == DCM || p.phenotype == Infarct) && r.Float64() < 0.12 {
			p.effusion = true
		}
		p.id = fmt.Sprintf("PHI-PID-%06d", p.index+1)
		p.name = "PHANTOM^" + givenNames[r.IntN(len(givenNames))]
		p.demog = sampleDemographics(r, p.phenotype)
		first := time.Date(2014, 1, 6, 0, 0, 0, 0, time.UTC).AddDate(0, 0, r.IntN(3650))
		p.birth = first.AddDate(-p.demog.Age, 0, -r.IntN(364)-1)
		nStudies := 1
		if r.Float64() < 0.15 {
			nStudies = 2
		}
		for k := 0; k < nStudies && len(studies) < n; k++ {
			sp := &studyPlan{index: len(studies), patient: p, nth: k + 1, date: first}
			if k > 0 {
				sp.date = first.AddDate(0, 0, 200+r.IntN(600))
			}
			sp.vendor = &vendors[r.IntN(len(vendors))]
			sp.seed = mix64(uint64(seed), uint64(sp.index))
			studies = append(studies, sp)
		}
		patients = append(patients, p)
	}
	// Splits by patient: a seeded permutation, 15 % validation, 15 % test,
	// the rest training, with at least one patient in each when there are three.
	np := len(patients)
	nVal, nTest := int(math.Round(0.15*float64(np))), int(math.Round(0.15*float64(np)))
	if np >= 3 {
		nVal, nTest = max(nVal, 1), max(nTest, 1)
	}
	for i, j := range r.Perm(np) {
		switch {
		case i < nVal:
			patients[j].split = "val"
		case i < nVal+nTest:
			patients[j].split = "test"
		default:
			patients[j].split = "train"
		}
	}
	return patients, studies
}

// Generate writes a synthetic cohort to o.Out: DICOM studies under dicom/,
// one report per study in reports.jsonl, labels.csv and truth.json.
func Generate(ctx context.Context, o Options) (*Cohort, error) {
	if o.Out == "" {
		return nil, errors.New("phantom: no output folder")
	}
	if o.Studies == 0 {
		o.Studies = 8
	}
	if o.Studies < 0 || o.Studies > 999999 {
		return nil, fmt.Errorf("phantom: %d studies: want 1–999999", o.Studies)
	}
	if o.Workers <= 0 {
		o.Workers = 1
	}
	if o.Matrix != 0 && (o.Matrix < 32 || o.Matrix > 1024) {
		return nil, fmt.Errorf("phantom: matrix %d: want 32–1024", o.Matrix)
	}
	if o.Frames != 0 && (o.Frames < 8 || o.Frames > 200) {
		return nil, fmt.Errorf("phantom: %d frames: want 8–200", o.Frames)
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	dicomDir := filepath.Join(o.Out, "dicom")
	if _, err := os.Stat(dicomDir); err == nil {
		if !o.Overwrite {
			return nil, fmt.Errorf("%w: %s exists (use a new folder, or overwrite)", ErrExists, dicomDir)
		}
		if err := os.RemoveAll(dicomDir); err != nil {
			return nil, fmt.Errorf("phantom: removing earlier cohort: %w", err)
		}
	}
	if err := os.MkdirAll(dicomDir, 0o755); err != nil {
		return nil, fmt.Errorf("phantom: %w", err)
	}
	_, studies := plan(o.Seed, o.Studies)
	results := make([]*StudyTruth, len(studies))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan int)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		done     int
	)
	t0 := time.Now()
	for range min(o.Workers, len(studies)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := newStudyWriter(o)
			for i := range jobs {
				st, err := w.write(ctx, studies[i])
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
					cancel()
				}
				results[i] = st
				done++
				if err == nil {
					log.Debug("phantom study written", "study", st.StudyKey, "done", done, "of", len(studies))
					if o.Progress != nil {
						o.Progress(done, len(studies))
					}
				}
				mu.Unlock()
			}
		}()
	}
feed:
	for i := range studies {
		select {
		case jobs <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c := &Cohort{Dir: o.Out, Seed: o.Seed}
	for _, st := range results {
		c.Studies = append(c.Studies, *st)
	}
	if err := c.writeTables(); err != nil {
		return nil, err
	}
	log.Info("phantom cohort written", "studies", len(c.Studies), "dir", o.Out, "elapsed", time.Since(t0).Round(time.Millisecond))
	return c, nil
}

// labelsHeader is labels.csv's header.
func labelsHeader() []string {
	h := []string{"study_key", "patient_id", "lvef", "edv_ml", "esv_ml", "wall_thickness_mm", "rv_edv_ml"}
	for _, p := range Phenotypes() {
		h = append(h, string(p))
	}
	return append(h, "split", "vendor")
}

func ff(v float64, prec int) string { return strconv.FormatFloat(v, 'f', prec, 64) }

// writeTables writes reports.jsonl, labels.csv and truth.json.
func (c *Cohort) writeTables() error {
	write := func(name string, fill func(w io.Writer) error) error {
		path := filepath.Join(c.Dir, name)
		tmp := path + ".tmp"
		f, err := os.Create(tmp)
		if err != nil {
			return fmt.Errorf("phantom: %w", err)
		}
		if err := fill(f); err != nil {
			f.Close()
			return fmt.Errorf("phantom: writing %s: %w", name, err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("phantom: writing %s: %w", name, err)
		}
		return os.Rename(tmp, path)
	}
	err := write("reports.jsonl", func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		for _, st := range c.Studies {
			if err := enc.Encode(struct {
				StudyKey  string `json:"study_key"`
				PatientID string `json:"patient_id"`
				Text      string `json:"text"`
			}{st.StudyKey, st.PatientID, st.Report}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	err = write("labels.csv", func(w io.Writer) error {
		cw := csv.NewWriter(w)
		if err := cw.Write(labelsHeader()); err != nil {
			return err
		}
		for _, st := range c.Studies {
			row := []string{st.StudyKey, st.PatientID, ff(st.LVEF, 2), ff(st.EDV, 2), ff(st.ESV, 2), ff(st.WallThickness, 2), ff(st.RVEDV, 2)}
			row = append(row, st.labelRow()...)
			row = append(row, st.Split, st.Vendor)
			if err := cw.Write(row); err != nil {
				return err
			}
		}
		cw.Flush()
		return cw.Error()
	})
	if err != nil {
		return err
	}
	return write("truth.json", func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", " ")
		enc.SetEscapeHTML(false)
		return enc.Encode(struct {
			Generator string `json:"generator"`
			*Cohort
		}{"cmrfm phantom", c})
	})
}
