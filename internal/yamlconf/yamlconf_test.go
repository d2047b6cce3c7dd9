package yamlconf

import (
	"bytes"
	"log/slog"
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

type trainerConf struct {
	Trainer struct {
		Common     `yaml:",inline"`
		BatchSize  int `yaml:"batch_size"`
		ValStudies int `yaml:"val_studies"`
	} `yaml:"trainer"`
	Workers int `yaml:"workers" cmrfm:"machine"`
}

type Common struct {
	Every int    `yaml:"checkpoint_every_epochs"`
	Out   string `yaml:"out" cmrfm:"machine"`
}

// TestRenames: an old key is moved to its new name with a warning that
// names both; a converted key uses another key of the document; both
// names at once are an error; a document without old keys keeps its error
// positions; Field finds keys through inline structs.
func TestRenames(t *testing.T) {
	var logs bytes.Buffer
	o := Options{Log: slog.New(slog.NewTextHandler(&logs, nil)), Source: "run.yaml", Renames: []Rename{
		{Old: "trainer.checkpoint_every", New: "trainer.checkpoint_every_epochs"},
		{Old: "trainer.val_batches", New: "trainer.val_studies", Convert: func(v string, lookup func(string) (string, bool)) (string, error) {
			b, _ := lookup("trainer.batch_size")
			return v + "0" + b, nil // "2" with batch size "4" → "204": proves the lookup
		}},
	}}
	c, err := ParseWith([]byte("trainer:\n  checkpoint_every: 7\n  batch_size: 4\n  val_batches: 2\n"), trainerConf{}, o)
	if err != nil {
		t.Fatal(err)
	}
	if c.Trainer.Every != 7 || c.Trainer.ValStudies != 204 || c.Trainer.BatchSize != 4 {
		t.Errorf("renamed: %+v", c.Trainer)
	}
	for _, w := range []string{"trainer.checkpoint_every is now trainer.checkpoint_every_epochs", "use=trainer.checkpoint_every_epochs",
		"config=run.yaml", "use=trainer.val_studies"} {
		if !strings.Contains(logs.String(), w) {
			t.Errorf("warnings %q lack %q", logs.String(), w)
		}
	}
	if _, err := ParseWith([]byte("trainer:\n  checkpoint_every: 7\n  checkpoint_every_epochs: 3\n"), trainerConf{}, o); err == nil ||
		!strings.Contains(err.Error(), "keep only trainer.checkpoint_every_epochs") {
		t.Errorf("both names: %v", err)
	}
	if _, err := ParseWith([]byte("workers: 1\ntrainer:\n  nope: 1\n"), trainerConf{}, o); err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("unknown key without renames: %v, want its line (3)", err)
	}
	f, err := Field(&c, "trainer.checkpoint_every_epochs")
	if err != nil || f.Int() != 7 {
		t.Errorf("Field: %v %v", f, err)
	}
	if _, err := Field(&c, "trainer.nope"); err == nil {
		t.Error("Field found a key the configuration does not have")
	}
}

// TestRenderIdentity: machine fields (also inside inline structs) are
// left out of the identity, and the value itself is untouched.
func TestRenderIdentity(t *testing.T) {
	var a, b trainerConf
	a.Workers, b.Workers = 2, 8
	a.Trainer.Out, b.Trainer.Out = "/x", "/y"
	a.Trainer.Every, b.Trainer.Every = 5, 5
	ia, err := RenderIdentity(a)
	if err != nil {
		t.Fatal(err)
	}
	ib, _ := RenderIdentity(b)
	if ia != ib || strings.Contains(ia, "/x") {
		t.Errorf("identities differ or keep machine fields:\n%s\n%s", ia, ib)
	}
	b.Trainer.Every = 6
	if ib, _ = RenderIdentity(b); ia == ib {
		t.Error("a run setting left the identity unchanged")
	}
	if a.Workers != 2 || a.Trainer.Out != "/x" {
		t.Errorf("RenderIdentity changed its argument: %+v", a)
	}
}
