package stats_test

import (
	"fmt"

	"github.com/cmrfm/cmrfm/stats"
)

// The paper's procedure for one target: AUROC with pROC's automatic
// direction, its DeLong 95 % CI, and DeLong's test against a baseline model
// scored on the same studies. (Output checked with R 4.2.2, pROC 1.18.0:
// ci.auc, roc.test(method="delong"), coords(roc, "best").)
func ExampleCompare() {
	labels := []bool{false, false, false, false, true, false, true, true, false, true}
	model := []float64{0.10, 0.22, 0.35, 0.41, 0.48, 0.52, 0.66, 0.81, 0.30, 0.90}
	baseline := []float64{0.30, 0.45, 0.20, 0.62, 0.41, 0.50, 0.55, 0.60, 0.58, 0.71}

	m, err := stats.NewROC(model, labels, stats.Auto)
	if err != nil {
		panic(err)
	}
	b, err := stats.NewROC(baseline, labels, stats.Auto)
	if err != nil {
		panic(err)
	}
	lo, hi := m.CI(0.95)
	fmt.Printf("model AUC %.4f [%.4f, %.4f], direction %v\n", m.AUC(), lo, hi, m.Direction())
	t, err := stats.Compare(b, m, stats.PairAuto, 0.95)
	if err != nil {
		panic(err)
	}
	fmt.Printf("baseline − model: %.4f, paired %v, Z = %.4f, p = %.4f\n", t.Diff, t.Paired, t.Statistic, t.P)
	y := m.Youden()[0]
	fmt.Printf("Youden threshold %.3f: sensitivity %.2f, specificity %.2f, PPV %.2f\n", y.Threshold, y.Sensitivity, y.Specificity, y.PPV)
	// Output:
	// model AUC 0.9583 [0.8428, 1.0000], direction <
	// baseline − model: -0.2500, paired true, Z = -1.4877, p = 0.1368
	// Youden threshold 0.445: sensitivity 1.00, specificity 0.83, PPV 0.80
}

// Bland–Altman agreement of predicted and measured LVEF (%). (Output checked
// with R: mean(d), mean(d) ± 1.96·sd(d), mean(abs(d)), cor(p, t).)
func ExampleNewBlandAltman() {
	pred := []float64{55.1, 61.8, 38.0, 47.5, 70.2, 29.9}
	truth := []float64{57.0, 60.0, 35.5, 50.0, 68.0, 33.0}
	ba := stats.NewBlandAltman(pred, truth)
	fmt.Printf("bias %.3f, limits of agreement [%.3f, %.3f]\n", ba.Bias, ba.Lower, ba.Upper)
	fmt.Printf("MAE %.3f, r %.4f\n", stats.MAE(pred, truth), stats.Pearson(pred, truth))
	// Output:
	// bias -0.167, limits of agreement [-5.250, 4.917]
	// MAE 2.333, r 0.9867
}
