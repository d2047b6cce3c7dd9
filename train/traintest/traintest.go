package traintest

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

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

// ChildEnv, when set in a test binary's environment, makes it one training
// process of KillMidStep (see ChildMain); its value is the configuration.
const ChildEnv = "CMRFM_TRAIN_CHILD"

// childResumeEnv says the child resumes from the run's last checkpoint.
const childResumeEnv = "CMRFM_TRAIN_CHILD_RESUME"

// ChildMain, called first in a training package's TestMain, turns the test
// binary into a training process when ChildEnv is set: it runs fn with the
// configuration (YAML) and whether to resume, then exits (0, or 1 with the
// error on stderr). Otherwise it returns at once.
func ChildMain(fn func(config string, resume bool) error) {
	cfg, ok := os.LookupEnv(ChildEnv)
	if !ok {
		return
	}
	if err := fn(cfg, os.Getenv(childResumeEnv) != ""); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// KillMidStep starts the test binary as a training process of config
// (YAML; see ChildMain), resuming runDir's run when resume is set. Once the
// run's checkpoint records at least after updates — the process is then
// busy with the following steps — it waits a random moment up to stepTime
// and kills the process with SIGKILL (a real kill -9: no deferred code,
// no checkpoint on the way out). It fails t if the process ends by itself
// first, and checks that the checkpoint left behind is whole.
func KillMidStep(t testing.TB, runDir, config string, resume bool, after int, stepTime time.Duration, rng *rand.Rand) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), ChildEnv+"="+config)
	if resume {
		cmd.Env = append(cmd.Env, childResumeEnv+"=1")
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	last := train.LastCheckpointPath(runDir)
	deadline := time.Now().Add(10 * time.Minute)
	for {
		select {
		case err := <-done:
			t.Fatalf("the training process ended before update %d was checkpointed (%v):\n%s", after, err, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if ck, err := train.LoadCheckpoint(last); err == nil && ck.State.Updates >= after {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("no checkpoint of update %d within 10 minutes", after)
		}
	}
	time.Sleep(time.Duration(rng.Int64N(int64(stepTime) + 1)))
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err := <-done
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("the training process was not killed by SIGKILL (%v):\n%s", err, stderr.String())
	}
	if _, err := train.LoadCheckpoint(last); err != nil {
		t.Fatalf("the checkpoint left by the killed process does not load: %v", err)
	}
}
