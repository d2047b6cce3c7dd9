package traintest

import (
	"bytes"
	"os/exec"
	"strconv"
	"testing"

	"github.com/cmrfm/cmrfm/internal/testenv"
)

// TorchBench runs a bench/ script (path relative to the test's package)
// with Debian's torch once, whatever b.N is (ns/op is then meaningless),
// and reports the script's JSON "median_s" as torch_s/step: the number to
// set beside the Go benchmark's time per step (the wall time includes
// Python's start-up and model construction).
func TorchBench(b *testing.B, script string, args ...string) {
	py := testenv.Python(b, "torch", "torchvision")
	var out bytes.Buffer
	cmd := exec.Command(py, append([]string{script}, args...)...)
	cmd.Stdout = &out
	if err := cmd.Run(); err != nil {
		b.Fatal(err)
	}
	b.Log(out.String())
	if i := bytes.Index(out.Bytes(), []byte(`"median_s": `)); i >= 0 {
		rest := out.Bytes()[i+len(`"median_s": `):]
		if j := bytes.IndexByte(rest, ','); j > 0 {
			if v, err := strconv.ParseFloat(string(rest[:j]), 64); err == nil {
				b.ReportMetric(v, "torch_s/step")
			}
		}
	}
}
