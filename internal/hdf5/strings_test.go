package hdf5

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/cmrfm/cmrfm/internal/testenv"
)

func stringFile(t *testing.T) (string, []string) {
	t.Helper()
	keys := []string{"t_abc-def.h5", "", "a much longer key with ünïcödé", "x"}
	ks, err := StringDataset("keys", keys, false)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := StringDataset("config", []string{"seed: 1\nmodel:\n  embed_dim: 64\n"}, true)
	if err != nil {
		t.Fatal(err)
	}
	emb := make([]byte, 4*6)
	for i := range 6 {
		binary.LittleEndian.PutUint32(emb[4*i:], math.Float32bits(float32(i)/4))
	}
	p := filepath.Join(t.TempDir(), "s.h5")
	if err := WriteFile(p, []DatasetSpec{ks, cfg, {Name: "emb", Dims: []uint64{2, 3}, Type: Datatype{Class: ClassFloat, Size: 4}, Data: emb}}); err != nil {
		t.Fatal(err)
	}
	return p, keys
}

// TestStringsRoundTrip writes fixed-length string datasets (1-D and
// scalar) beside a float32 one and reads them back.
func TestStringsRoundTrip(t *testing.T) {
	p, keys := stringFile(t)
	f, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ds, err := f.Dataset("keys")
	if err != nil {
		t.Fatal(err)
	}
	got, err := ds.ReadStrings()
	if err != nil || !slices.Equal(got, keys) {
		t.Fatalf("keys %q, %v; want %q", got, err, keys)
	}
	cs, _ := f.Dataset("config")
	c, err := cs.ReadStrings()
	if err != nil || len(c) != 1 || c[0] != "seed: 1\nmodel:\n  embed_dim: 64\n" || !cs.Scalar {
		t.Fatalf("config %q scalar %v %v", c, cs.Scalar, err)
	}
	es, _ := f.Dataset("emb")
	if _, err := es.ReadStrings(); err == nil {
		t.Fatal("ReadStrings of a float dataset should fail")
	}
	if _, err := StringDataset("k", []string{"a\x00b"}, false); err == nil {
		t.Fatal("NUL accepted")
	}
	if _, err := StringDataset("k", []string{"a", "b"}, true); err == nil {
		t.Fatal("scalar of two accepted")
	}
}

// TestStringsH5py: h5py (libhdf5) reads the strings we write, and we read
// the fixed-length strings h5py writes (null-padded and null-terminated,
// ASCII and UTF-8).
func TestStringsH5py(t *testing.T) {
	py := testenv.Python(t, "h5py", "numpy")
	p, keys := stringFile(t)
	out, err := exec.Command(py, "-c", `
import sys, json, h5py
f = h5py.File(sys.argv[1], "r")
print(json.dumps({"keys": [k.decode("utf-8") for k in f["keys"][:]], "dtype": str(f["keys"].dtype),
  "config": f["config"][()].decode(), "shape": list(f["config"].shape), "emb": f["emb"][:].tolist()}))
`, p).CombinedOutput()
	if err != nil {
		t.Fatalf("h5py: %v\n%s", err, out)
	}
	var got struct {
		Keys   []string
		Dtype  string
		Config string
		Shape  []int
		Emb    [][]float64
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if !slices.Equal(got.Keys, keys) || got.Config != "seed: 1\nmodel:\n  embed_dim: 64\n" || len(got.Shape) != 0 || got.Emb[1][2] != 1.25 {
		t.Fatalf("h5py read %+v", got)
	}
	t.Logf("h5py reads keys as %s", got.Dtype)

	q := filepath.Join(t.TempDir(), "h5py.h5")
	if out, err := exec.Command(py, "-c", `
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "w")
f["ascii"] = np.array([b"alpha", b"be", b""], dtype="S6")
u = h5py.h5t.C_S1.copy(); u.set_size(8); u.set_cset(h5py.h5t.CSET_UTF8)
d = h5py.h5d.create(f.id, b"utf8", u, h5py.h5s.create_simple((2,)))
d.write(h5py.h5s.ALL, h5py.h5s.ALL, np.array(["ünï".encode(), b"x"], dtype="S8"), mtype=u)
t = h5py.h5t.C_S1.copy(); t.set_size(5); t.set_strpad(h5py.h5t.STR_NULLTERM)
sp = h5py.h5s.create_simple((2,))
d = h5py.h5d.create(f.id, b"nullterm", t, sp)
d.write(h5py.h5s.ALL, h5py.h5s.ALL, np.array([b"ab", b"abcd"], dtype="S5"), mtype=t)
f.close()
`, q).CombinedOutput(); err != nil {
		t.Fatalf("h5py: %v\n%s", err, out)
	}
	f, err := Open(q)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for name, want := range map[string][]string{"ascii": {"alpha", "be", ""}, "utf8": {"ünï", "x"}, "nullterm": {"ab", "abcd"}} {
		ds, err := f.Dataset(name)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ds.ReadStrings()
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("%s: %q %v, want %q", name, got, err, want)
		}
	}
}
