package main

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/cmrfm/cmrfm/internal/progress"
	"github.com/cmrfm/cmrfm/phantom"
)

func newPhantomCmd(a *app) *cobra.Command {
	var o phantom.Options
	cmd := &cobra.Command{
		Use:   "phantom --out DIR [--studies N] [--seed S]",
		Short: "Write a synthetic cardiac cine cohort: DICOM studies, reports, labels, ground truth",
		Long: `phantom writes a synthetic cohort with known ground truth, generated from one
analytic 3-D + time heart per subject (normal, dilated or hypertrophic
cardiomyopathy, prior infarction, pericardial effusion), cut by the planes a
scanner would acquire:

  DIR/dicom/<PatientID>_<StudyDate>/<NNNN>_<SeriesDescription>/<NNNN>.dcm
  DIR/reports.jsonl   {"study_key", "patient_id", "text"} per study
  DIR/labels.csv      study_key, patient_id, lvef, edv_ml, esv_ml,
                      wall_thickness_mm, rv_edv_ml, normal, dcm, hcm,
                      infarct, effusion, split, vendor
  DIR/truth.json      per study and series: UIDs, descriptions, true view
                      (4CH/3CH/2CH/SAX or none), slices, frames, and the
                      analytic volumes

The DICOM files are MR Image Storage, one file per frame (or one Enhanced MR
multi-frame file per series with --multiframe), explicit VR little endian,
with Siemens, GE or Philips naming, numbering and scaling. Patient names,
IDs, accession numbers and institutions are fake and easy to grep for
(PHANTOM^..., PHI-...); see docs/phantom.md. One seed always gives
byte-identical files, whatever --workers is.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Out == "" {
				return usageError{errors.New("phantom: --out is required")}
			}
			o.Workers = a.workers
			o.Log = a.log
			bar := progress.New(a.stderr, o.Studies, "phantom", "studies")
			o.Progress = func(int, int) { bar.Add(1) }
			c, err := phantom.Generate(cmd.Context(), o)
			bar.Finish()
			if err != nil {
				return err
			}
			counts := map[phantom.Phenotype]int{}
			files := 0
			for _, st := range c.Studies {
				counts[st.Phenotype]++
				for _, se := range st.Series {
					files += se.Files
				}
			}
			fmt.Fprintf(a.stdout, "wrote %d studies (%d DICOM files) to %s\n", len(c.Studies), files, filepath.Join(o.Out, "dicom"))
			fmt.Fprint(a.stdout, "phenotypes:")
			for _, p := range phantom.Phenotypes() {
				fmt.Fprintf(a.stdout, " %s %d", p, counts[p])
			}
			fmt.Fprintf(a.stdout, "\nreports: %s\nlabels:  %s\ntruth:   %s\n",
				filepath.Join(o.Out, "reports.jsonl"), filepath.Join(o.Out, "labels.csv"), filepath.Join(o.Out, "truth.json"))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Out, "out", "", "output folder (required)")
	f.IntVar(&o.Studies, "studies", 20, "number of studies")
	f.Int64Var(&o.Seed, "seed", 1, "random seed; one seed gives byte-identical output")
	f.BoolVar(&o.MultiFrame, "multiframe", false, "write each series as one Enhanced MR multi-frame file")
	f.IntVar(&o.Matrix, "matrix", 0, "reconstructed matrix columns (0: vendor choice, 192–256)")
	f.IntVar(&o.Frames, "frames", 0, "cardiac phases per cycle (0: vendor choice, 20–30)")
	f.BoolVar(&o.Overwrite, "force", false, "replace a cohort already in --out")
	return cmd
}
