package ingest

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cmrfm/cmrfm/cine"
	"github.com/cmrfm/cmrfm/store"
)

// processNIfTI reads an ACDC-style folder: a 4-D short-axis cine
// <name>_4d.nii[.gz] (x, y, slice, time) and Info.cfg. The folder name is
// the patient and study identifier (pseudonymised like any other); Info.cfg's
// Group (the ACDC diagnosis) becomes the label column acdc_group of index.csv.
// Height and weight are not carried over.
func (r *runner) processNIfTI(u Unit, id string) []*Entry {
	t0 := time.Now()
	name := filepath.Base(u.Path)
	e := &Entry{Unit: id, Time: now(), identity: &studyIdentity{PatientID: name, Accession: name, UnitPath: u.Path}}
	e.StudyID = r.pseudo.Pseudonym("study", name)
	e.Patient = r.pseudo.Pseudonym("patient", name)
	fail := func(err error) []*Entry {
		e.Status, e.Error = StatusFailed, withoutPath(err).Error()
		return []*Entry{e}
	}
	img, err := filepath.Glob(filepath.Join(u.Path, "*_4d.nii*"))
	if err != nil || len(img) != 1 {
		return fail(fmt.Errorf("NIfTI folder: want one *_4d.nii[.gz] image, found %d", len(img)))
	}
	info, err := readInfoCfg(filepath.Join(u.Path, "Info.cfg"))
	if err != nil {
		return fail(err)
	}
	f, err := os.Open(img[0])
	if err != nil {
		return fail(fmt.Errorf("NIfTI image: %w", err))
	}
	// Named by the unit's pseudonym: the folder and file names are the
	// patient's identifier.
	vol, err := cine.DecodeNIfTI(id+"/image", f)
	f.Close()
	if err != nil {
		return fail(err)
	}
	vc, err := vol.Video(cine.VolumeOptions{Channels: 1})
	if err != nil {
		return fail(err)
	}
	v, err := r.finishVideo(vc.Video)
	if err != nil {
		return fail(err)
	}
	out, err := store.StudyPath(r.cfg.Out, r.cfg.Site, e.Patient, e.StudyID)
	if err != nil {
		return fail(err)
	}
	e.Output, _ = filepath.Rel(r.cfg.Out, out)
	e.Key = store.StudyKey(out)
	series := fmt.Sprintf("NIfTI 4-D image %dx%dx%dx%d", vol.NX, vol.NY, vol.NZ, vol.NT) // the file name holds the patient identifier
	se := SeriesEntry{Series: series, Images: vol.NZ * vol.NT, Slices: vol.NZ, View: cine.ViewSAX, Rule: "nifti: 4-D short-axis cine"}
	for _, w := range vc.Warnings {
		se.Warnings = append(se.Warnings, w.Error())
	}
	for range vol.NZ {
		se.Frames = append(se.Frames, vol.NT)
	}
	e.Series = []SeriesEntry{se}
	sum := sha256.Sum256(pixelBytes(v, 0))
	shape := v.Shape()
	shape[0] = r.cfg.Channels
	e.Views = []ViewEntry{{View: cine.ViewSAX, Shape: shape, Slices: len(v.SliceFrames) + 1, SliceFrames: nonNil(v.SliceFrames),
		Series: []string{series}, Rule: se.Rule, PixelSHA256: hex.EncodeToString(sum[:])}}
	if g := info["Group"]; g != "" {
		e.Labels = map[string]string{"acdc_group": g}
	}
	e.Status = StatusOK
	e.study = &cine.Study{Key: e.Key, Views: map[cine.View]*cine.Video{cine.ViewSAX: v}}
	if err := r.reports.deidentify(e, e.identity); err != nil {
		return fail(err)
	}
	e.Seconds = math.Round(time.Since(t0).Seconds()*1000) / 1000
	return []*Entry{e}
}

// readInfoCfg parses ACDC's "Key: value" lines.
func readInfoCfg(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("NIfTI folder: %w", err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok {
			out[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return out, sc.Err()
}
