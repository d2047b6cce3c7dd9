package label

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
)

// WriteAgreementText prints the agreement table for people: one line per
// label, then up to maxKeys disagreeing keys per label.
func WriteAgreementText(w io.Writer, as []Agreement, maxKeys int) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "label\tn\tprev truth\tprev pred\tkappa\tsensitivity [95% CI]\tspecificity [95% CI]\tdisagree\tuncertain p/t\tmissing p/t\t")
	for _, a := range as {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%d\t%d/%d\t%d/%d\t\n", a.Label, a.N, num(a.PrevalenceTruth, 3), num(a.PrevalencePred, 3),
			num(a.Kappa, 3), ci(a.Sensitivity, a.SensitivityLo, a.SensitivityHi), ci(a.Specificity, a.SpecificityLo, a.SpecificityHi),
			len(a.Disagree), a.PredUncertain, a.TruthUncertain, a.PredMissing, a.TruthMissing)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, a := range as {
		if len(a.Disagree) == 0 || maxKeys == 0 {
			continue
		}
		ks := a.Disagree
		more := ""
		if maxKeys > 0 && len(ks) > maxKeys {
			more = fmt.Sprintf(" … (%d more)", len(ks)-maxKeys)
			ks = ks[:maxKeys]
		}
		if _, err := fmt.Fprintf(w, "%s disagree: %s%s\n", a.Label, strings.Join(ks, " "), more); err != nil {
			return err
		}
	}
	return nil
}

func num(v float64, prec int) string {
	if math.IsNaN(v) {
		return "NA"
	}
	return strconv.FormatFloat(v, 'f', prec, 64)
}

func ci(p, lo, hi float64) string {
	return fmt.Sprintf("%s [%s, %s]", num(p, 3), num(lo, 3), num(hi, 3))
}

// WriteAgreementCSV writes one row per label (NA for undefined values;
// the disagreeing keys joined by spaces).
func WriteAgreementCSV(w io.Writer, as []Agreement) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"label", "n", "tp", "fp", "fn", "tn", "prevalence_truth", "prevalence_pred", "kappa", "sensitivity", "sensitivity_lo",
		"sensitivity_hi", "specificity", "specificity_lo", "specificity_hi", "pred_uncertain", "truth_uncertain", "pred_missing",
		"truth_missing", "disagree"})
	g := func(v float64) string {
		if math.IsNaN(v) {
			return "NA"
		}
		return strconv.FormatFloat(v, 'g', 15, 64)
	}
	for _, a := range as {
		cw.Write([]string{a.Label, strconv.Itoa(a.N), strconv.Itoa(a.TP), strconv.Itoa(a.FP), strconv.Itoa(a.FN), strconv.Itoa(a.TN),
			g(a.PrevalenceTruth), g(a.PrevalencePred), g(a.Kappa), g(a.Sensitivity), g(a.SensitivityLo), g(a.SensitivityHi),
			g(a.Specificity), g(a.SpecificityLo), g(a.SpecificityHi), strconv.Itoa(a.PredUncertain), strconv.Itoa(a.TruthUncertain),
			strconv.Itoa(a.PredMissing), strconv.Itoa(a.TruthMissing), strings.Join(a.Disagree, " ")})
	}
	cw.Flush()
	return cw.Error()
}

// writeDisagreements writes label, key, pred, truth and pred's evidence
// for every disagreement.
func writeDisagreements(w io.Writer, as []Agreement, pred, truth *Table, o AgreeOptions) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"label", "study_key", "pred", "truth", "pred_evidence"})
	for _, a := range as {
		tc := a.Label
		if c, ok := o.TruthColumns[a.Label]; ok {
			tc = c
		}
		for _, k := range a.Disagree {
			cw.Write([]string{a.Label, k, pred.Rows[k][a.Label], truth.Rows[k][tc], pred.Rows[k][a.Label+"_evidence"]})
		}
	}
	cw.Flush()
	return cw.Error()
}
