package weights

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cmrfm/cmrfm/internal/testenv"
)

// expected.json is numpy's view of the tensors testdata/gen/model/weights/gen_weights.py
// saved with torch 1.13 and numpy 1.24.
type expect struct {
	DType  string    `json:"dtype"`
	Shape  []int     `json:"shape"`
	Values []float64 `json:"values"`
}

func loadExpected(t *testing.T) map[string]expect {
	t.Helper()
	b, err := os.ReadFile("testdata/expected.json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]expect
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func checkAgainst(t *testing.T, s *Set, want map[string]expect, names []string) {
	t.Helper()
	for _, name := range names {
		w := want[name]
		got, ok := s.Tensors[name]
		if !ok {
			t.Errorf("%s: tensor %q missing (have %v)", s.Format, name, s.Names())
			continue
		}
		if !slices.Equal(got.Shape, w.Shape) {
			t.Errorf("%s %s: shape %v, want %v", s.Format, name, got.Shape, w.Shape)
			continue
		}
		v, err := got.Float32()
		if err != nil {
			t.Errorf("%s %s: %v", s.Format, name, err)
			continue
		}
		for i := range v {
			if float32(w.Values[i]) != v[i] && !(math.IsNaN(w.Values[i]) && math.IsNaN(float64(v[i]))) {
				t.Errorf("%s %s[%d] = %v, want %v", s.Format, name, i, v[i], float32(w.Values[i]))
				break
			}
		}
	}
}

func TestLoadFormats(t *testing.T) {
	want := loadExpected(t)
	all := make([]string, 0, len(want))
	for k := range want {
		all = append(all, k)
	}
	noBF16 := slices.DeleteFunc(slices.Clone(all), func(s string) bool { return s == "bf16" })
	// The st_io reference writer stores numpy 0-d arrays as shape [1]
	// (np.ascontiguousarray is at least 1-d), so "scalar" is checked in the
	// torch and npz files only.
	noScalar := slices.DeleteFunc(slices.Clone(noBF16), func(s string) bool { return s == "scalar" })
	cases := []struct {
		file, format string
		count        int
		names        []string
	}{
		{"formats.pt", "torch", len(all), all},
		{"formats_legacy.pt", "torch", 2, []string{"f32", "i64"}},
		{"formats.npz", "npz", len(noBF16), noBF16},
		{"formats_compressed.npz", "npz", len(noBF16), noBF16},
		{"formats.safetensors", "safetensors", len(noBF16), noScalar},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			s, err := Load(filepath.Join("testdata", c.file))
			if err != nil {
				t.Fatal(err)
			}
			if s.Format != c.format {
				t.Errorf("format %q, want %q", s.Format, c.format)
			}
			if len(s.Tensors) != c.count {
				t.Errorf("%d tensors %v, want %d", len(s.Tensors), s.Names(), c.count)
			}
			checkAgainst(t, s, want, c.names)
		})
	}
}

func TestFortranNPY(t *testing.T) {
	s, err := Load("testdata/fortran.npy")
	if err != nil {
		t.Fatal(err)
	}
	v, err := s.Tensors["fortran"].Float32()
	if err != nil {
		t.Fatal(err)
	}
	// numpy: np.arange(24).reshape(2,3,4) in C order, whatever the storage order.
	for i := range v {
		if v[i] != float32(i) {
			t.Fatalf("fortran[%d] = %v, want %d (shape %v)", i, v[i], i, s.Tensors["fortran"].Shape)
		}
	}
}

func TestTorchMetadataAndNesting(t *testing.T) {
	s, err := Load("testdata/formats.pt")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Tensors["nested.deep.weight"]; !ok {
		t.Errorf("dotted state-dict key lost: %v", s.Names())
	}
	for name, dt := range map[string]DType{"bf16": BF16, "f16": F16, "f64": F64, "bool": Bool, "u8": U8} {
		if got := s.Tensors[name].DType; got != dt {
			t.Errorf("%s: dtype %s, want %s", name, got, dt)
		}
	}
}

func TestSafetensorsRoundTrip(t *testing.T) {
	want := loadExpected(t)
	src, err := Load("testdata/formats.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteSafetensors(&buf, src); err != nil {
		t.Fatal(err)
	}
	back, err := ParseSafetensors(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	checkAgainst(t, back, want, slices.DeleteFunc(src.Names(), func(s string) bool { return s == "scalar" }))
	if back.Metadata["origin"] != "gen_weights.py" {
		t.Errorf("metadata lost: %v", back.Metadata)
	}
}

// TestWritersReadByNumpy checks that numpy reads what WriteNPY/WriteNPZ and
// WriteSafetensors (through the st_io reference reader) write.
func TestWritersReadByNumpy(t *testing.T) {
	py := testenv.Python(t, "numpy")
	src, err := Load("testdata/formats.npz")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	npz, _ := os.Create(filepath.Join(dir, "out.npz"))
	if err := WriteNPZ(npz, src); err != nil {
		t.Fatal(err)
	}
	npz.Close()
	st, _ := os.Create(filepath.Join(dir, "out.safetensors"))
	if err := WriteSafetensors(st, src); err != nil {
		t.Fatal(err)
	}
	st.Close()
	script := `
import sys, json, numpy as np
sys.path.insert(0, sys.argv[3])
import st_io
want = json.load(open(sys.argv[2]))
a = np.load(sys.argv[1] + '/out.npz')
b, _ = st_io.load(sys.argv[1] + '/out.safetensors')
bad = []
for src in (a, b):
    for k in src.keys() if hasattr(src, 'keys') else src:
        x = np.asarray(src[k])
        if list(x.shape) != want[k]['shape'] or not np.array_equal(x.astype(np.float64).ravel(), np.array(want[k]['values'])):
            bad.append(k)
print('bad:', bad, 'n:', len(a.files), len(b))
sys.exit(1 if bad else 0)
`
	gen, _ := filepath.Abs("../../testdata/gen")
	exp, _ := filepath.Abs("testdata/expected.json")
	out, err := exec.Command(py, "-c", script, dir, exp, gen).CombinedOutput()
	if err != nil {
		t.Fatalf("numpy disagrees with our writers: %v\n%s", err, out)
	}
	t.Logf("numpy: %s", strings.TrimSpace(string(out)))
}

func TestCheckListsEveryProblem(t *testing.T) {
	s := NewSet()
	s.Add(FromFloat32("a", []int{2}, []float32{1, 2}))
	s.Add(FromFloat32("b", []int{3}, []float32{1, 2, 3}))
	s.Add(FromFloat32("extra", []int{1}, []float32{1}))
	err := Check([]Spec{{"a", []int{2}}, {"b", []int{2, 2}}, {"c", []int{4}}}, s)
	var me *MismatchError
	if !errors.As(err, &me) {
		t.Fatalf("want *MismatchError, got %v", err)
	}
	if len(me.Missing) != 1 || len(me.Unexpected) != 1 || len(me.Misshaped) != 1 {
		t.Errorf("got %+v", me)
	}
	for _, frag := range []string{"c [4]", "extra [1]", "b: got [3] want [2 2]"} {
		if !strings.Contains(err.Error(), frag) {
			t.Errorf("error %q lacks %q", err, frag)
		}
	}
	if err := Check([]Spec{{"a", []int{2}}, {"b", []int{3}}, {"extra", []int{1}}}, s); err != nil {
		t.Errorf("exact match reported %v", err)
	}
}

func TestCheckpointChecksum(t *testing.T) {
	src, err := Load("testdata/formats.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ck.safetensors")
	if err := SaveCheckpoint(path, "test-arch", src); err != nil {
		t.Fatal(err)
	}
	back, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if back.Metadata[MetaArch] != "test-arch" || back.Metadata[MetaFormat] != FormatV1 || len(back.Metadata[MetaSHA256]) != 64 {
		t.Errorf("metadata %v", back.Metadata)
	}
	// Flip one byte of tensor data: loading must fail on the checksum.
	buf, _ := os.ReadFile(path)
	buf[len(buf)-1] ^= 0x40
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), "checksum mismatch") {
		t.Fatalf("tampered checkpoint: got %v, want a checksum error", err)
	}
}

// TestTruncatedAndCorruptInputs feeds every prefix of each fixture to the
// parsers: they must return errors, never panic or succeed on a strict
// prefix.
func TestTruncatedAndCorruptInputs(t *testing.T) {
	for _, f := range []string{"formats.safetensors", "formats.npz", "fortran.npy", "formats.pt"} {
		full, err := os.ReadFile(filepath.Join("testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		step := max(1, len(full)/97)
		for n := 0; n < len(full); n += step {
			p := filepath.Join(dir, "cut")
			if err := os.WriteFile(p, full[:n], 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := Load(p); err == nil {
				t.Errorf("%s cut to %d of %d bytes loaded without error", f, n, len(full))
			}
		}
	}
	bad := map[string]string{
		"offsets past the end": `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,64]}}`,
		"size mismatch":        `{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`,
		"unknown dtype":        `{"a":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}}`,
		"negative dim":         `{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}`,
		"not json":             `{"a":`,
	}
	for name, hdr := range bad {
		var b bytes.Buffer
		n := make([]byte, 8)
		n[0] = byte(len(hdr))
		b.Write(n)
		b.WriteString(hdr)
		b.Write(make([]byte, 8))
		if _, err := ParseSafetensors(b.Bytes()); err == nil {
			t.Errorf("%s: parsed without error", name)
		}
	}
}

func TestFloat16Conversion(t *testing.T) {
	// Bit patterns from IEEE 754 half precision.
	cases := map[uint16]float32{0x3c00: 1, 0xc000: -2, 0x7bff: 65504, 0x0400: 6.1035156e-05, 0x0001: 5.9604645e-08, 0x8000: float32(math.Copysign(0, -1))}
	for bits, want := range cases {
		if got := math.Float32frombits(f16to32(bits)); got != want || math.Signbit(float64(got)) != math.Signbit(float64(want)) {
			t.Errorf("f16 %#04x → %v, want %v", bits, got, want)
		}
	}
	if !math.IsInf(float64(math.Float32frombits(f16to32(0x7c00))), 1) || !math.IsNaN(float64(math.Float32frombits(f16to32(0x7e00)))) {
		t.Error("f16 inf/nan")
	}
}
