package cine_test

import (
	"bufio"
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cmrfm/cmrfm/cine"
	"github.com/cmrfm/cmrfm/dicom"
	"github.com/cmrfm/cmrfm/internal/testenv"
)

// synth is the generator's input plane: ((y*7919 + x*104729 + 13) % 1009) / 4.
func synth(h, w int) []float32 {
	out := make([]float32, h*w)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			out[y*w+x] = float32((y*7919+x*104729+13)%1009) / 4
		}
	}
	return out
}

func f32md5(v []float32) string {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

// Preprocess matches torch_videovision/cv2 (nearest) and pytorchvideo/torch
// (bilinear) on the generator's cases (testdata/gen/cine/gen_resize.py).
func TestPreprocessMatchesReference(t *testing.T) {
	fh, err := os.Open(filepath.Join("testdata", "resize_oracles.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	n := 0
	for sc.Scan() {
		c := strings.Split(sc.Text(), "\t")
		if strings.HasPrefix(c[0], "#") || c[0] == "source" {
			continue
		}
		n++
		h, _ := strconv.Atoi(c[1])
		w, _ := strconv.Atoi(c[2])
		short, _ := strconv.Atoi(c[4])
		crop, _ := strconv.Atoi(c[5])
		interp := cine.Nearest
		if c[3] == "bilinear" {
			interp = cine.Bilinear
		}
		var plane []float32
		if c[0] == "synth" {
			plane = synth(h, w)
		} else {
			f, err := dicom.ReadFile(testenv.SharedData(t, "sunnybrook-scd", "SCD0000101", "CINESAX_300", "1.dcm"))
			if err != nil {
				t.Fatal(err)
			}
			px, err := f.Decode(dicom.DecodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			plane = px.Grey(0, nil)
		}
		v := &cine.Video{C: 1, F: 1, H: h, W: w, Float: plane}
		out, err := cine.Preprocess{Short: short, Crop: crop, Interp: interp}.Apply(v)
		name := strings.Join(c[:6], " ")
		if c[8] == "error" {
			if err == nil {
				t.Errorf("%s: reference fails, cmrfm gives %dx%d", name, out.H, out.W)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if strconv.Itoa(out.H) != c[6] || strconv.Itoa(out.W) != c[7] {
			t.Errorf("%s: output %dx%d, reference %sx%s", name, out.H, out.W, c[6], c[7])
			continue
		}
		if interp == cine.Nearest {
			if got := f32md5(out.Float); got != c[8] {
				t.Errorf("%s: md5 %s, reference %s", name, got, c[8])
			}
		} else {
			// Bilinear: same indices and weights as ATen (float32 scale,
			// float64 source position, float32 weights), but ATen sums the
			// four float32 products in another order, so the last bits of
			// some outputs differ: allow 4 ulps of the reference value.
			samples := strings.Split(c[9], ",")
			if len(samples) != 64 {
				t.Fatalf("%s: %d samples", name, len(samples))
			}
			worst := 0.0
			for k, sv := range samples {
				ref, _ := strconv.ParseFloat(sv, 64)
				got := out.Float[(k*7919)%len(out.Float)]
				ulp := float64(math.Nextafter32(float32(max(math.Abs(ref), 1)), math.MaxFloat32) - float32(max(math.Abs(ref), 1)))
				d := math.Abs(float64(got)-ref) / ulp
				worst = max(worst, d)
			}
			t.Logf("%s: bit-exact=%v, max |cmrfm - torch| over 64 samples: %.1f ulp", name, f32md5(out.Float) == c[8], worst)
			if worst > 4 {
				t.Errorf("%s: max |cmrfm - torch| = %.1f ulp over 64 samples, tolerance 4", name, worst)
			}
		}
		// The uint8 path must pick the same pixels (nearest only).
		if interp == cine.Nearest && c[0] == "synth" {
			pix := make([]uint8, len(plane))
			for i, x := range plane {
				pix[i] = uint8(int(x) % 256)
			}
			o8, err := cine.Preprocess{Short: short, Crop: crop, Interp: interp}.Apply(&cine.Video{C: 1, F: 1, H: h, W: w, Pix: pix})
			if err != nil {
				t.Fatal(err)
			}
			for i, x := range out.Float {
				if o8.Pix[i] != uint8(int(x)%256) {
					t.Fatalf("%s: uint8 path differs at %d", name, i)
				}
			}
		}
	}
	if n < 10 {
		t.Fatalf("only %d oracle cases", n)
	}
}

func TestCenterCropOffsetRoundsHalfToEven(t *testing.T) {
	// Python: int(round((481-360)/2)) = int(round(60.5)) = 60; (483-360)/2 = 61.5 -> 62.
	for _, c := range [][3]int{{481, 360, 60}, {483, 360, 62}, {480, 360, 60}, {264, 224, 20}} {
		if got := cine.CenterCropOffset(c[0], c[1]); got != c[2] {
			t.Errorf("CenterCropOffset(%d, %d) = %d, want %d", c[0], c[1], got, c[2])
		}
	}
}
