package main

import (
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/cmrfm/cmrfm/demo"
)

func newDemoCmd(a *app) *cobra.Command {
	var o demo.Options
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run every pipeline stage on a built-in synthetic cohort",
		Long: `demo generates a small synthetic cardiac cine cohort (DICOM studies, reports
and labels with known ground truth), runs every pipeline stage cmrfm has on it,
writes all outputs under --out, and prints what it did and where.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Out == "" {
				o.Out = filepath.Join(os.TempDir(), "cmrfm-demo")
			}
			o.Workers = a.workers
			o.Log = a.log
			r, err := demo.Execute(cmd.Context(), o)
			if r != nil {
				r.WriteSummary(a.stdout)
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Out, "out", "", "output folder (default $TMPDIR/cmrfm-demo)")
	f.StringVar(&o.Input, "input", "", "use this folder of DICOM studies instead of the generated phantom cohort")
	f.IntVar(&o.Studies, "studies", 8, "size of the generated phantom cohort")
	f.Int64Var(&o.Seed, "seed", 1, "random seed")
	return cmd
}
