package traintest

import (
	"bytes"
	"maps"
	"testing"

	"github.com/cmrfm/cmrfm/model/weights"
	"github.com/cmrfm/cmrfm/train"
)

// TimingColumns are the metrics that measure the machine, not the run;
// they are left out of comparisons.
var TimingColumns = []string{"samples_per_s"}

// SameCheckpoints fails t unless the checkpoint files a and b hold the
// same, non-empty set of tensors, byte for byte. It returns a's tensors.
func SameCheckpoints(t testing.TB, a, b string) *weights.Set {
	t.Helper()
	sa, err := weights.Load(a)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := weights.Load(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(sa.Tensors) != len(sb.Tensors) || len(sa.Tensors) == 0 {
		t.Fatalf("checkpoints hold %d and %d tensors", len(sa.Tensors), len(sb.Tensors))
	}
	for _, n := range sa.Names() {
		if tb, ok := sb.Tensors[n]; !ok || !bytes.Equal(sa.Tensors[n].Data, tb.Data) {
			t.Errorf("variable %s differs after resume", n)
		}
	}
	return sa
}

// SameMetrics fails t unless the two runs' metrics rows agree in number,
// step, epoch, learning rate and every value but the TimingColumns, and at
// least one row carries valKey (a validation row was compared).
func SameMetrics(t testing.TB, ra, rb []train.Row, valKey string) {
	t.Helper()
	if len(ra) != len(rb) || len(ra) == 0 {
		t.Fatalf("metrics: %d rows uninterrupted, %d resumed", len(ra), len(rb))
	}
	vals := 0
	for i := range ra {
		x, y := maps.Clone(ra[i].Values), maps.Clone(rb[i].Values)
		for _, k := range TimingColumns {
			delete(x, k)
			delete(y, k)
		}
		if _, ok := x[valKey]; ok {
			vals++
		}
		if ra[i].Step != rb[i].Step || ra[i].Epoch != rb[i].Epoch || ra[i].LR != rb[i].LR || !maps.Equal(x, y) {
			t.Errorf("metrics row %d: uninterrupted %+v, resumed %+v", i, ra[i], rb[i])
		}
	}
	if vals == 0 {
		t.Errorf("no validation row (%s) compared", valKey)
	}
}
