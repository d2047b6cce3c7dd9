package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cmrfm/cmrfm/train"
)

// TestPlotMetrics: a training run's loss figure is written (moved here
// from train's TestMetricsFiles with the plotting code); a figure whose
// columns have no value is an error naming the file.
func TestPlotMetrics(t *testing.T) {
	dir := t.TempDir()
	r1 := train.Row{Step: 1, LR: 1e-4}
	r1.Set("loss", 0.5)
	r2 := train.Row{Step: 2, LR: 1e-4}
	r2.Set("loss", 0.25)
	r2.Set("val_loss", 0.75)
	path := filepath.Join(dir, "loss.png")
	if err := PlotMetrics(path, "t", "loss", []train.Row{r1, r2}, []Curve{{Column: "loss"}, {Column: "val_loss", Points: true}}, true); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(path); err != nil || st.Size() == 0 {
		t.Fatalf("loss.png: %v", err)
	}
	bad := filepath.Join(dir, "none.png")
	if err := PlotMetrics(bad, "t", "loss", []train.Row{r1}, []Curve{{Column: "auc"}}, false); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("figure without values: %v", err)
	}
}
