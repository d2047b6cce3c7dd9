package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/cmrfm/cmrfm/dicom"
)

func newDicomCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dicom",
		Short: "Check how cmrfm reads DICOM files: headers, decoding, series assembly",
	}
	cmd.AddCommand(newDicomDumpCmd(a), newDicomInspectCmd(a))
	return cmd
}

func newDicomDumpCmd(a *app) *cobra.Command {
	var (
		pixels string
		phi    bool
		tags   bool
		gdcm   bool
	)
	cmd := &cobra.Command{
		Use:   "dump FILE",
		Short: "Summarise one DICOM file; with --pixels, write its decoded stored values as .npy",
		Long: `dump prints the header summary of one DICOM file — transfer syntax and whether
cmrfm can decode it, photometric interpretation, bits, rows×columns×frames,
rescale, geometry with a view hint, timing — and the decode status.
Patient names, IDs, dates and UIDs are redacted unless --phi is given.

--pixels OUT.npy writes the decoded stored values of every frame as a NumPy
array (frames × rows × columns [× samples]) of the stored integer type
(uint8/int8/uint16/int16/int32), before rescale or inversion: compare it with
pydicom's pixel_array or dcmtk's output to check cmrfm's decoding.

EXIT STATUS: 0 when the file parses and decodes, 1 otherwise.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := dicom.ReadFile(args[0])
			if err != nil {
				return err
			}
			opt := dicom.DecodeOptions{GDCMFallback: gdcm}
			if err := f.WriteSummary(a.stdout, dicom.SummaryOptions{PHI: phi, Decode: opt}); err != nil {
				return err
			}
			if tags {
				fmt.Fprintln(a.stdout, "\nelements:")
				f.DumpTags(a.stdout, phi)
			}
			px, err := f.Decode(opt)
			if err != nil {
				return exitCode(1) // the summary already printed the reason
			}
			if pixels != "" {
				out, err := os.Create(pixels)
				if err != nil {
					return err
				}
				if err := px.WriteNPY(out); err != nil {
					out.Close()
					return err
				}
				if err := out.Close(); err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "wrote %s: %s %v\n", pixels, px.DType(), px.Shape())
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&pixels, "pixels", "", "write the decoded stored values to this .npy file")
	cmd.Flags().BoolVar(&phi, "phi", false, "show patient-identifying values (names, IDs, dates, UIDs)")
	cmd.Flags().BoolVar(&tags, "tags", false, "also list every element")
	cmd.Flags().BoolVar(&gdcm, "gdcm", false, "fall back to gdcmconv for transfer syntaxes without a built-in decoder")
	return cmd
}

func newDicomInspectCmd(a *app) *cobra.Command {
	var (
		phi, noDecode, gdcm bool
	)
	cmd := &cobra.Command{
		Use:   "inspect PATH...",
		Short: "Read every DICOM file under PATHs, decode them and report the series cmrfm would assemble",
		Long: `inspect walks files and folders, parses and decodes every file, then groups
the images into series and orders them (slices base→apex, frames by trigger
time) exactly as ingest does. It lists files per transfer syntax, every file
that cannot be used with the reason, and every series with its slices ×
frames, view hint, and problems (missing frames, duplicates, spacing gaps,
mixed matrix sizes, ...).

EXIT STATUS: 0 when every file and series is usable, 3 when some are not,
1 on other errors.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rep, err := dicom.Inspect(args, dicom.InspectOptions{
				Decode:        !noDecode,
				DecodeOptions: dicom.DecodeOptions{GDCMFallback: gdcm},
				Workers:       a.workers,
			})
			if err != nil {
				return err
			}
			rep.WriteText(a.stdout, phi)
			if f, s := rep.Problems(); f+s > 0 {
				return exitCode(3)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&phi, "phi", false, "show series UIDs instead of short digests")
	cmd.Flags().BoolVar(&noDecode, "no-decode", false, "parse headers only (faster)")
	cmd.Flags().BoolVar(&gdcm, "gdcm", false, "fall back to gdcmconv for transfer syntaxes without a built-in decoder")
	return cmd
}
