package ingest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/cmrfm/cmrfm/cine"
	"github.com/cmrfm/cmrfm/dicom"
	"github.com/cmrfm/cmrfm/store"
	"github.com/cmrfm/cmrfm/text"
)

// Study statuses in the manifest.
const (
	StatusOK      = "ok"       // written
	StatusNoViews = "no_views" // readable, but no series could be used
	StatusFailed  = "failed"   // an error stopped this study
	// StatusDuplicate: the same study (same AccessionNumber, else
	// StudyInstanceUID) was already written from another unit; it is not
	// written twice.
	StatusDuplicate = "duplicate"
)

// Entry is one manifest line: one study of one unit. It never holds
// identifiers: the study is named by its pseudonyms, files by redacted paths.
type Entry struct {
	Unit    string `json:"unit"`
	StudyID string `json:"study_id,omitempty"` // pseudonym of the AccessionNumber (or StudyInstanceUID)
	Patient string `json:"patient_id,omitempty"`
	// Key is the reference loader's study key, <site>_<patient>-<study>.h5.
	Key      string        `json:"key,omitempty"`
	Output   string        `json:"output,omitempty"` // relative to the store root
	Status   string        `json:"status"`
	Error    string        `json:"error,omitempty"`
	Views    []ViewEntry   `json:"views,omitempty"`
	Series   []SeriesEntry `json:"series,omitempty"`
	BadFiles []FileProblem `json:"bad_files,omitempty"`
	Skipped  int           `json:"non_dicom_files,omitempty"`
	// FileChecksum is store.FileChecksum of the written .h5 (CRC-32C).
	FileChecksum string `json:"file_checksum,omitempty"`
	// Labels found in the input itself (ACDC's Info.cfg group), joined into index.csv.
	Labels map[string]string `json:"labels,omitempty"`
	// Seconds and Time (UTC) are in the journal only: the manifest,
	// rewritten at the end of each run, is the same whatever the timing.
	Seconds    float64         `json:"seconds,omitempty"`
	Time       string          `json:"time,omitempty"`
	Duplicates []string        `json:"duplicate_of,omitempty"`
	identity   *studyIdentity  // not serialised: for the crosswalk
	study      *cine.Study     // not serialised: written by the collector
	unitDone   *unitCompletion // not serialised
	journal    string          // the journal the entry was read from ("" for this run's)
}

// ViewEntry describes one written view.
type ViewEntry struct {
	View        cine.View `json:"view"`
	Shape       [4]int    `json:"shape_cfhw"`
	Slices      int       `json:"slices"`
	SliceFrames []int32   `json:"slice_frames"`
	Series      []string  `json:"series"`
	Rule        string    `json:"rule"`
	// PixelSHA256 is the sha256 of channel 0's pixels as stored (uint8, or
	// float32 little-endian), in (f, h, w) order.
	PixelSHA256 string `json:"pixel_sha256"`
}

// SeriesEntry records the decision for one series of the study.
type SeriesEntry struct {
	Series   string    `json:"series"` // number, description, matrix
	Images   int       `json:"images"`
	Slices   int       `json:"slices"`
	Frames   []int     `json:"frames_per_slice,omitempty"`
	View     cine.View `json:"view,omitempty"`
	Rule     string    `json:"rule"`
	Reason   string    `json:"reason,omitempty"`
	Failed   bool      `json:"failed,omitempty"`
	Warnings []string  `json:"warnings,omitempty"`
}

// FileProblem is a file that could not be read.
type FileProblem struct {
	File  string `json:"file"`
	Error string `json:"error"`
}

// studyIdentity holds the identifiers of one study, in memory only: the
// crosswalk's, and what report de-identification removes.
type studyIdentity struct {
	PatientID, Accession, StudyUID, UnitPath string
	// Names are person names of the headers (patient, referring and
	// performing physicians, operators), OtherIDs other patient IDs,
	// Institution the institution's name.
	Names, OtherIDs []string
	Institution     string
}

// identityOf reads a study's identifiers from one of its files.
func identityOf(ds *dicom.DataSet, unitPath string) studyIdentity {
	id := studyIdentity{
		PatientID: ds.String(dicom.TagPatientID), Accession: ds.String(dicom.TagAccessionNumber),
		StudyUID: ds.String(dicom.TagStudyInstanceUID), UnitPath: unitPath,
		Institution: ds.String(dicom.TagInstitutionName),
	}
	for _, t := range []dicom.Tag{dicom.TagPatientName, dicom.TagReferringPhysicianName, dicom.TagPerformingPhysicianName,
		dicom.TagOperatorsName, dicom.TagNameOfPhysiciansReadingStudy, dicom.TagRequestingPhysician} {
		id.Names = append(id.Names, ds.Strings(t)...)
	}
	id.OtherIDs = ds.Strings(dicom.TagOtherPatientIDs)
	return id
}

type unitCompletion struct {
	Key     string
	Studies int
}

// studyGroup gathers the images of one StudyInstanceUID inside a unit.
type studyGroup struct {
	id     studyIdentity
	images []cine.Image
	// paths maps the files' labels (cine.Image.File) to their paths.
	paths map[string]string
}

// seriesLabel names a series for the manifest: number, description and
// matrix. The description is a header value the series map needs; it is
// shown only when it reads as a protocol name (letters, digits and
// punctuation, no identifier the de-identifier finds, none of the study's
// own identifiers), else it is withheld.
func seriesLabel(s *cine.Series, id *studyIdentity) string {
	return strings.TrimSpace(fmt.Sprintf("%s %q %dx%d", s.SeriesNumber, safeDescription(s.SeriesDescription, id), s.Rows, s.Cols))
}

var reProtocolName = regexp.MustCompile(`^[A-Za-z0-9 _.+\-/()#*:,=<>%&]{0,64}$`)

// safeDescription returns a series description fit for the manifest.
func safeDescription(d string, id *studyIdentity) string {
	if !reProtocolName.MatchString(d) {
		return "[description withheld]"
	}
	var k *text.Known
	if id != nil {
		k = &text.Known{Names: id.Names, MRNs: append([]string{id.PatientID}, id.OtherIDs...), Accessions: []string{id.Accession, id.StudyUID}}
		if id.Institution != "" {
			k.Other = []string{id.Institution}
		}
	}
	if spans := text.FindPHI(d, k); len(spans) > 0 {
		return "[description withheld]"
	}
	return d
}

// fileLabel names file p, the ordinal-th file of its unit, in messages and
// the manifest: "<unit pseudonym>/<folder pseudonym>/#<ordinal>" — folder
// and file names are often patient names, MRNs, accession numbers or dates,
// so neither is ever used. PlainPaths: the path itself.
func (r *runner) fileLabel(unitID, unitPath, p string, ordinal int) string {
	if r.cfg.PlainPaths {
		return p
	}
	folder := "-"
	if rel, err := filepath.Rel(unitPath, filepath.Dir(p)); err == nil && rel != "." && !strings.HasPrefix(rel, "..") {
		folder = r.pseudo.Pseudonym("folder", filepath.ToSlash(rel))[:8]
	}
	return fmt.Sprintf("%s/%s/#%d", unitID, folder, ordinal)
}

// uid replaces a DICOM UID by a pseudonym (equal UIDs, equal pseudonyms), so
// the images cine assembles — and every message it makes — carry none.
func (r *runner) uid(kind, u string) string {
	if u == "" || r.cfg.PlainPaths {
		return u
	}
	return kind + "." + r.pseudo.Pseudonym("uid", u)[:15]
}

// processFiles reads the DICOM files of one unit and returns one manifest
// entry per study found (or one failed entry when none is).
//
// Files are named by fileLabel from the start: DICOM parses each under its
// label, so every message about it (here, in cine, in the decoders) holds
// the label, never the path; UIDs are replaced by pseudonyms as the images
// are read.
func (r *runner) processFiles(u Unit, unitID, unitPath string, files []string, skipped int) []*Entry {
	groups := map[string]*studyGroup{}
	var bad []FileProblem
	for k, p := range files {
		label := r.fileLabel(unitID, unitPath, p, k+1)
		f, err := readDICOM(label, p)
		if err == nil {
			var imgs []cine.Image
			imgs, err = f.Images()
			if err == nil {
				ds := f.DataSet
				uid := ds.String(dicom.TagStudyInstanceUID)
				g := groups[uid]
				if g == nil {
					g = &studyGroup{id: identityOf(ds, unitPath), paths: map[string]string{}}
					groups[uid] = g
				}
				g.paths[label] = p
				for i := range imgs {
					im := &imgs[i]
					im.StudyUID, im.SeriesUID, im.SOPInstanceUID = r.uid("st", im.StudyUID), r.uid("se", im.SeriesUID), r.uid("in", im.SOPInstanceUID)
				}
				g.images = append(g.images, imgs...)
				continue
			}
		}
		bad = append(bad, FileProblem{File: label, Error: err.Error()})
	}
	if len(groups) == 0 {
		e := &Entry{Unit: unitID, Status: StatusFailed, BadFiles: bad, Skipped: skipped, Time: now()}
		e.Error = fmt.Sprintf("no readable DICOM images among %d candidate files", len(files))
		return []*Entry{e}
	}
	// Process studies in pseudonym order: deterministic whatever the files' order.
	var out []*Entry
	for _, g := range groups {
		t0 := time.Now()
		e := r.processStudy(unitID, g)
		e.BadFiles, e.Skipped = bad, skipped
		e.Seconds = math.Round(time.Since(t0).Seconds()*1000) / 1000
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].StudyID < out[j].StudyID })
	return out
}

// processStudy assembles, assigns views, decodes and pre-processes one study.
// The study is not written here (the collector writes it).
func (r *runner) processStudy(unitID string, g *studyGroup) *Entry {
	id := g.id
	studyRef := id.Accession
	if studyRef == "" {
		studyRef = "uid:" + id.StudyUID
	}
	patientRef := id.PatientID
	if patientRef == "" {
		patientRef = "study:" + studyRef
	}
	e := &Entry{Unit: unitID, Time: now(), identity: &id}
	e.StudyID = r.pseudo.Pseudonym("study", studyRef)
	e.Patient = r.pseudo.Pseudonym("patient", patientRef)
	out, err := store.StudyPath(r.cfg.Out, r.cfg.Site, e.Patient, e.StudyID)
	if err != nil {
		e.Status, e.Error = StatusFailed, err.Error()
		return e
	}
	e.Output, _ = filepath.Rel(r.cfg.Out, out)
	e.Key = store.StudyKey(out)

	series := cine.Assemble(g.images, cine.AssembleOptions{})
	chosen, decisions := assignViews(series, r.smap)
	study := &cine.Study{Key: e.Key, Views: map[cine.View]*cine.Video{}}
	for _, v := range cine.Views() {
		ss := chosen[v]
		if len(ss) == 0 {
			continue
		}
		s := ss[0]
		if len(ss) > 1 {
			s = stackSeries(ss)
		}
		rule := ruleOf(decisions, ss[0])
		if len(ss) > 1 {
			rule = fmt.Sprintf("%s; %d single-slice series stacked", rule, len(ss))
		}
		if v == cine.ViewSAX && r.cfg.MaxSAXSlices > 0 && len(s.Slices) > r.cfg.MaxSAXSlices {
			s.Slices = s.Slices[:r.cfg.MaxSAXSlices]
		}
		if n := len(s.Frames()); n > r.cfg.MaxFramesPerSeries {
			markDecision(decisions, ss, fmt.Sprintf("%d frames exceed the cap of %d (max_frames_per_series)", n, r.cfg.MaxFramesPerSeries))
			continue
		}
		video, err := r.buildVideo(s, g.paths)
		if err != nil {
			markDecision(decisions, ss, err.Error())
			for _, d := range decisions {
				if d.Series == ss[0] {
					d.Failed = true
				}
			}
			continue
		}
		study.Views[v] = video
		labels := make([]string, len(ss))
		for i, x := range ss {
			labels[i] = seriesLabel(x, &id)
		}
		sum := sha256.Sum256(pixelBytes(video, 0))
		shape := video.Shape()
		shape[0] = r.cfg.Channels
		e.Views = append(e.Views, ViewEntry{
			View: v, Shape: shape, Slices: len(video.SliceFrames) + 1, SliceFrames: nonNil(video.SliceFrames),
			Series: labels, Rule: rule, PixelSHA256: hex.EncodeToString(sum[:]),
		})
	}
	for _, d := range decisions {
		s := d.Series
		se := SeriesEntry{Series: seriesLabel(s, &id), Images: s.TotalImages, Slices: len(s.Slices), Frames: s.FramesPerSlice(),
			View: d.View, Rule: d.Rule, Reason: d.Reason, Failed: d.Failed}
		for _, w := range s.Warnings {
			se.Warnings = append(se.Warnings, w.Error())
		}
		e.Series = append(e.Series, se)
	}
	if len(study.Views) == 0 {
		e.Status = StatusNoViews
		e.Error = "no usable cine series (see series for each reason)"
		e.Output, e.Key = "", ""
		return e
	}
	e.Status = StatusOK
	e.study = study
	if err := r.reports.deidentify(e, &id); err != nil {
		e.Status, e.Error, e.study = StatusFailed, err.Error(), nil
	}
	return e
}

func nonNil(s []int32) []int32 {
	if s == nil {
		return []int32{}
	}
	return s
}

func ruleOf(ds []*Decision, s *cine.Series) string {
	for _, d := range ds {
		if d.Series == s {
			return d.Rule
		}
	}
	return ""
}

func markDecision(ds []*Decision, ss []*cine.Series, reason string) {
	for _, d := range ds {
		for _, s := range ss {
			if d.Series == s {
				d.View, d.Reason = "", reason
			}
		}
	}
}

// stackSeries merges single-slice series (one SAX slice each, as the UK
// Biobank and some vendors store a stack) into one series ordered like any
// stack: by position along the normal, base to apex.
func stackSeries(ss []*cine.Series) *cine.Series {
	var imgs []cine.Image
	total := 0
	for _, s := range ss {
		for _, sl := range s.Slices {
			for _, im := range sl.Images {
				im.SeriesUID, im.SeriesNumber, im.SeriesDescription = ss[0].SeriesUID, ss[0].SeriesNumber, ss[0].SeriesDescription
				imgs = append(imgs, im)
			}
		}
		total += s.TotalImages
	}
	out := cine.Assemble(imgs, cine.AssembleOptions{})
	best := out[0]
	for _, s := range out[1:] {
		if len(s.Frames()) > len(best.Frames()) {
			best = s
		}
	}
	best.TotalImages = total
	return best
}

// readDICOM parses the file at path under the name label: the
// parser's messages name the label.
func readDICOM(label, path string) (*dicom.File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: cannot read: %w", label, withoutPath(err))
	}
	return dicom.Parse(label, b)
}

// buildVideo decodes a series' frames, pre-processes them and applies the
// intensity policy. paths maps the images' file labels to paths.
func (r *runner) buildVideo(s *cine.Series, paths map[string]string) (*cine.Video, error) {
	cache := map[string]*dicom.Pixels{}
	raw := r.cfg.Intensity == "raw"
	v, err := s.VideoFloat(1, func(i int, img cine.Image, plane []float32) error {
		px, ok := cache[img.File]
		if !ok {
			f, err := readDICOM(img.File, paths[img.File])
			if err != nil {
				return err
			}
			px, err = f.Decode(dicom.DecodeOptions{GDCMFallback: true})
			if err != nil {
				return err
			}
			cache[img.File] = px
		}
		if img.Frame >= px.Frames {
			return fmt.Errorf("%s: frame %d of %d", img.File, img.Frame, px.Frames)
		}
		if px.Rows != s.Rows || px.Cols != s.Cols {
			return fmt.Errorf("%s: %dx%d image in a %dx%d series", img.File, px.Rows, px.Cols, s.Rows, s.Cols)
		}
		if raw && px.Samples == 1 && px.Photometric != "PALETTE COLOR" {
			// The reference keeps stored values: no rescale, no inversion.
			for k, x := range px.Frame(img.Frame) {
				plane[k] = float32(x)
			}
			return nil
		}
		px.Grey(img.Frame, plane)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return r.finishVideo(v)
}

// finishVideo pre-processes a float32 single-channel video and applies the
// intensity policy. The result has one channel; the store writes it as
// cfg.Channels identical channels.
func (r *runner) finishVideo(v *cine.Video) (*cine.Video, error) {
	pp := r.cfg.preprocess()
	if r.cfg.Intensity != "raw" && (pp.Interp == cine.Nearest || pp.Short == 0 && pp.Crop == 0) {
		// Nearest-neighbour resampling commutes with the pointwise window:
		// window the acquired pixels (each counted once), then resample
		// uint8 — a third of the work and memory of resampling floats.
		return pp.Apply(windowToUint8(v, 1, r.cfg.WindowPercentiles))
	}
	v, err := pp.Apply(v)
	if err != nil || r.cfg.Intensity == "raw" {
		return v, err
	}
	return windowToUint8(v, 1, r.cfg.WindowPercentiles), nil
}

// windowToUint8 maps a float video linearly from its [p_lo, p_hi]
// percentile window to 0–255 (rounded, clipped) in c identical channels.
// Percentiles are taken over at most 2^18 evenly strided samples (the
// window is stable to well under one grey level at that size).
func windowToUint8(v *cine.Video, c int, pct [2]float64) *cine.Video {
	n := v.F * v.H * v.W
	src := v.Float[:n]
	stride := max(1, n>>18)
	sample := make([]float32, 0, n/stride+1)
	for i := 0; i < n; i += stride {
		sample = append(sample, src[i])
	}
	slices.Sort(sample)
	at := func(p float64) float64 {
		k := int(math.Round(p / 100 * float64(len(sample)-1)))
		return float64(sample[k])
	}
	lo, hi := at(pct[0]), at(pct[1])
	if hi <= lo {
		hi = lo + 1
	}
	out := &cine.Video{C: c, F: v.F, H: v.H, W: v.W, Pix: make([]uint8, c*n), SliceFrames: v.SliceFrames, TotalImages: v.TotalImages}
	lo32, k := float32(lo), float32(255/(hi-lo))
	for i, x := range src {
		y := (x-lo32)*k + 0.5 // round half up; negatives clip to 0
		switch {
		case y < 0:
			y = 0
		case y > 255:
			y = 255
		}
		out.Pix[i] = uint8(y)
	}
	for ch := 1; ch < c; ch++ {
		copy(out.Pix[ch*n:], out.Pix[:n])
	}
	return out
}

// pixelBytes returns the bytes of channel c (the channels are copies, so a
// study's checksum does not depend on --channels): uint8 as stored, float32
// little-endian.
func pixelBytes(v *cine.Video, c int) []byte {
	n := v.F * v.H * v.W
	if v.Pix != nil {
		return v.Pix[c*n : (c+1)*n]
	}
	b := make([]byte, 4*n)
	for i, x := range v.Float[c*n : (c+1)*n] {
		u := math.Float32bits(x)
		b[4*i], b[4*i+1], b[4*i+2], b[4*i+3] = byte(u), byte(u>>8), byte(u>>16), byte(u>>24)
	}
	return b
}

func now() string { return time.Now().UTC().Format(time.RFC3339) }
