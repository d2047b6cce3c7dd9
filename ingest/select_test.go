package ingest

import (
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"github.com/cmrfm/cmrfm/cine"
	"github.com/cmrfm/cmrfm/dicom"
)

// TestChooseSeriesMatchesTruth: on phantom studies (one file per frame and
// enhanced multi-frame; SAX stacks split over series; repeated
// acquisitions), ChooseSeries picks, from the images' descriptions alone,
// exactly the series the phantom's ground truth says are the study's cine
// views (those ingest writes: TestIngestPhantomAndSunnybrook), and the same
// choice again when given only those series — what a DICOMweb pull
// downloads. pull's Orthanc tests compare with ingest's own output.
func TestChooseSeriesMatchesTruth(t *testing.T) {
	for _, multi := range []bool{false, true} {
		c, dir := cohort(t, 4, 23, multi)
		for _, st := range c.Studies {
			var images []cine.Image
			studyDir := filepath.Join(dir, "dicom", st.StudyFolder)
			err := filepath.WalkDir(studyDir, func(p string, d os.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				f, err := dicom.ReadFile(p)
				if err != nil {
					return err
				}
				imgs, err := f.Images()
				images = append(images, imgs...)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			chosen := func(images []cine.Image) []string {
				var uids []string
				for _, d := range ChooseSeries(images, DefaultSeriesMap()) {
					if d.View != "" {
						uids = append(uids, d.Series.SeriesUID)
					}
				}
				sort.Strings(uids)
				return uids
			}
			got := chosen(images)
			// Truth: every cine series of a true view except earlier
			// acquisitions that a repeat replaced.
			replaced := map[int]bool{}
			for _, se := range st.Series {
				if se.RepeatOf != 0 {
					replaced[se.RepeatOf] = true
				}
			}
			var want []string
			for _, se := range st.Series {
				if se.Kind == "cine" && se.View != "none" && !replaced[se.SeriesNumber] {
					want = append(want, se.SeriesInstanceUID)
				}
			}
			sort.Strings(want)
			if !slices.Equal(got, want) {
				t.Fatalf("multiframe=%v study %s: chose %v, truth %v", multi, st.StudyFolder, got, want)
			}
			keep := map[string]bool{}
			for _, u := range got {
				keep[u] = true
			}
			var subset []cine.Image
			for _, im := range images {
				if keep[im.SeriesUID] {
					subset = append(subset, im)
				}
			}
			if again := chosen(subset); !slices.Equal(again, got) {
				t.Fatalf("multiframe=%v study %s: on the chosen series alone, chose %v, want %v", multi, st.StudyFolder, again, got)
			}
			if len(subset) == len(images) {
				t.Fatalf("study %s: nothing excluded (no scout or LGE?)", st.StudyFolder)
			}
		}
	}
}
