package yamlconf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type conf struct {
	A int    `yaml:"a"`
	B string `yaml:"b"`
	C struct {
		D float64 `yaml:"d"`
	} `yaml:"c"`
}

// TestLoadOverBase: a file changes only the keys it names; an unknown key
// is an error naming the file and the key; Render round-trips.
func TestLoadOverBase(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(p, []byte("c:\n  d: 2.5\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	base := conf{A: 7, B: "x"}
	got, err := Load(p, base)
	if err != nil {
		t.Fatal(err)
	}
	if got.A != 7 || got.B != "x" || got.C.D != 2.5 {
		t.Errorf("Load = %+v, want A 7, B x, C.D 2.5", got)
	}
	y, err := Render(got)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse([]byte(y), conf{})
	if err != nil || back != got {
		t.Errorf("round trip: %+v, %v; want %+v", back, err, got)
	}
	if err := os.WriteFile(p, []byte("c:\n  dd: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(p, base); err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "dd") {
		t.Errorf("unknown key: %v, want an error naming %s and dd", err, p)
	}
	if _, err := Load(filepath.Join(dir, "missing.yaml"), base); err == nil {
		t.Error("missing file accepted")
	}
}
