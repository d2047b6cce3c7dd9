package stats

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cmrfm/cmrfm/internal/testenv"
)

// liveR is the R side of TestLiveR: it reads data.csv (y, s1, s2 and, for
// the unpaired test, y2/s3) and prints "name value" lines with %.17g.
const liveR = `
suppressPackageStartupMessages(library(pROC))
d <- read.csv("data.csv")
r1 <- roc(d$y, d$s1, levels = c(0, 1), direction = "auto", quiet = TRUE)
r2 <- roc(d$y, d$s2, levels = c(0, 1), direction = "auto", quiet = TRUE)
r3 <- roc(d$y2, d$s3, levels = c(0, 1), direction = "auto", quiet = TRUE)
p <- function(k, v) cat(k, sprintf("%.17g", v), "\n")
p("dir1", as.integer(r1$direction == ">")); p("dir2", as.integer(r2$direction == ">"))
p("auc1", auc(r1)); p("var1", var(r1)); ci <- ci.auc(r1); p("lo1", ci[1]); p("hi1", ci[3])
p("auc2", auc(r2)); p("var2", var(r2))
tp <- roc.test(r1, r2, method = "delong")
p("z", tp$statistic); p("pz", tp$p.value)
tu <- roc.test(r3, r1, method = "delong")
p("d", tu$statistic); p("df", tu$parameter); p("pd", tu$p.value)
b <- coords(r1, "best", best.method = "youden", ret = c("threshold", "accuracy", "ppv", "npv"), transpose = FALSE)
p("ythr", b$threshold[1]); p("yacc", b$accuracy[1]); p("yppv", b$ppv[1]); p("ynpv", b$npv[1])
`

// TestLiveR checks cmrfm against R pROC on fresh random data sets (ties,
// both directions, paired and unpaired tests). It needs Rscript with
// pROC (Debian r-cran-proc); CI installs it, a user's machine may skip.
func TestLiveR(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the live R cross-check")
	}
	rscript := testenv.Tool(t, "Rscript")
	if out, err := exec.Command(rscript, "-e", "library(pROC)").CombinedOutput(); err != nil {
		if testenv.InCI() {
			t.Fatalf("MISSING IN CI: R package pROC (Debian r-cran-proc): %s", out)
		}
		t.Skipf("SKIPPED — R package pROC is not installed (apt-get install r-cran-proc); CI runs this test")
	}
	rng := rand.New(rand.NewPCG(2024, 11))
	for k := range 4 {
		t.Run(fmt.Sprint(k), func(t *testing.T) {
			n := 60 + rng.IntN(900)
			prev := 0.05 + 0.5*rng.Float64()
			shift := 2*rng.Float64() - 0.7 // sometimes controls score higher: direction '>'
			s1, y := randomData(rng, n, prev, shift, rng.IntN(3))
			s2, _ := randomData(rng, n, prev, shift/2, 2)
			s3, y2 := randomData(rng, n+17, prev, shift, 3)
			for i := range s2 {
				s2[i] += 0.5 * s1[i]
			}
			dir := t.TempDir()
			var b strings.Builder
			b.WriteString("y,s1,s2,y2,s3\n")
			bit := func(v bool) int {
				if v {
					return 1
				}
				return 0
			}
			for i := range n + 17 {
				if i < n {
					fmt.Fprintf(&b, "%d,%.17g,%.17g,", bit(y[i]), s1[i], s2[i])
				} else {
					b.WriteString("NA,NA,NA,")
				}
				fmt.Fprintf(&b, "%d,%.17g\n", bit(y2[i]), s3[i])
			}
			if err := os.WriteFile(filepath.Join(dir, "data.csv"), []byte(b.String()), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "check.R"), []byte(liveR), 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(rscript, "--vanilla", "check.R")
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "TZ=UTC")
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("Rscript: %v\n%s", err, out)
			}
			want := map[string]float64{}
			for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				f := strings.Fields(line)
				if len(f) != 2 {
					continue
				}
				v, err := strconv.ParseFloat(f[1], 64)
				if err != nil {
					t.Fatalf("R output %q", line)
				}
				want[f[0]] = v
			}
			r1, _ := NewROC(s1, y, Auto)
			r2, _ := NewROC(s2, y, Auto)
			r3, _ := NewROC(s3, y2, Auto)
			if float64(btoi(r1.Direction() == Greater)) != want["dir1"] || float64(btoi(r2.Direction() == Greater)) != want["dir2"] {
				t.Errorf("directions %v %v, R %v %v", r1.Direction(), r2.Direction(), want["dir1"], want["dir2"])
			}
			lo, hi := r1.CI(0.95)
			t.Logf("n = %d, %d cases; directions %v %v %v", n, r1.NumCases(), r1.Direction(), r2.Direction(), r3.Direction())
			tp, _ := Compare(r1, r2, PairAuto, 0.95)
			tu, _ := Compare(r3, r1, PairAuto, 0.95)
			yd := r1.Youden()[0]
			for k, got := range map[string]float64{
				"auc1": r1.AUC(), "var1": r1.Var(), "lo1": lo, "hi1": hi, "auc2": r2.AUC(), "var2": r2.Var(),
				"z": tp.Statistic, "pz": tp.P, "d": tu.Statistic, "df": tu.DF, "pd": tu.P,
				"ythr": yd.Threshold, "yacc": yd.Accuracy, "yppv": yd.PPV, "ynpv": yd.NPV,
			} {
				w, ok := want[k]
				if !ok {
					t.Errorf("R printed no %s", k)
					continue
				}
				checkClose(t, k, got, w)
			}
			if !tp.Paired || tu.Paired {
				t.Errorf("paired flags %v %v, want true false", tp.Paired, tu.Paired)
			}
		})
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
