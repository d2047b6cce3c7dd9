package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// RepoRoot returns the repository root (the directory holding go.mod).
func RepoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("testenv: cannot locate source file")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// InCI reports whether the tests run in CI, where nothing may be skipped.
func InCI() bool { return os.Getenv("CI") != "" }

// missing skips (user clone) or fails (CI) the test.
func missing(t testing.TB, what string) {
	t.Helper()
	if InCI() {
		t.Fatalf("MISSING IN CI: %s", what)
	}
	t.Skipf("SKIPPED — %s is not available on this machine; CI runs this test", what)
}

// SharedData returns the absolute path of ../shared/data/<elem...> relative to
// the repository root, skipping or failing the test when it is absent.
func SharedData(t testing.TB, elem ...string) string {
	t.Helper()
	p := filepath.Join(append([]string{RepoRoot(t), "..", "shared", "data"}, elem...)...)
	if _, err := os.Stat(p); err != nil {
		missing(t, "shared test data "+p)
	}
	return p
}

// Python returns Debian's /usr/bin/python3 after checking that it can import
// every module named, skipping or failing the test otherwise.
func Python(t testing.TB, modules ...string) string {
	t.Helper()
	const py = "/usr/bin/python3"
	args := []string{"-c", "import sys"}
	for _, m := range modules {
		args[1] += "; import " + m
	}
	if out, err := exec.Command(py, args...).CombinedOutput(); err != nil {
		missing(t, py+" with "+args[1]+" ("+string(out)+")")
	}
	return py
}

// Tool returns the path of an executable on PATH, skipping or failing the
// test when it is absent.
func Tool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		missing(t, "tool "+name)
	}
	return p
}
