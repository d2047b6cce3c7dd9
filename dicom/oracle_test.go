package dicom

import (
	"bufio"
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cmrfm/cmrfm/internal/testenv"
)

// oracle is one row of testdata/oracles.tsv, written by
// testdata/gen/dicom/gen_fixtures.py from GDCM, dcmtk and pydicom.
type oracle struct {
	file, ts, shape, dtype, md5, refs, maxdiff, tolerance, greyMD5, err string
}

func loadOracles(t testing.TB) []oracle {
	t.Helper()
	fh, err := os.Open(filepath.Join("testdata", "oracles.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var out []oracle
	sc := bufio.NewScanner(fh)
	header := true
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		if header {
			header = false
			continue
		}
		c := strings.Split(line, "\t")
		if len(c) != 10 {
			t.Fatalf("oracles.tsv: %d columns in %q", len(c), line)
		}
		out = append(out, oracle{c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9]})
	}
	return out
}

// oraclePath resolves "shared:<rel>" (../shared/data) and "fixture:<name>".
func oraclePath(t testing.TB, key string) string {
	t.Helper()
	kind, rel, _ := strings.Cut(key, ":")
	if kind == "fixture" {
		return filepath.Join("testdata", "fixtures", rel)
	}
	parts := strings.Split(rel, "/")
	return testenv.SharedData(t, parts...)
}

func md5hex(b []byte) string { s := md5.Sum(b); return hex.EncodeToString(s[:]) }

func greyBytes(px *Pixels) []byte {
	var out []byte
	var buf []float32
	for i := 0; i < px.Frames; i++ {
		buf = px.Grey(i, buf)
		for _, v := range buf {
			out = binary.LittleEndian.AppendUint32(out, math.Float32bits(v))
		}
	}
	return out
}

func TestDecodeMatchesReferenceDecoders(t *testing.T) {
	for _, o := range loadOracles(t) {
		t.Run(o.file, func(t *testing.T) {
			path := oraclePath(t, o.file)
			f, err := ReadFile(path)
			var px *Pixels
			if err == nil {
				px, err = f.Decode(DecodeOptions{})
			}
			if o.ts != "" && o.err == "" && !DefaultDecoders().Supports(o.ts) {
				// built with -tags cmrfm_nocodecs: the syntax must be refused by name
				if !errors.Is(err, ErrUnsupportedTransferSyntax) || !strings.Contains(err.Error(), o.ts) {
					t.Fatalf("without a decoder for %s: error %v", o.ts, err)
				}
				return
			}
			if o.err != "" {
				if err == nil {
					t.Fatalf("decoded a file the references reject (%s)", o.err)
				}
				var de *Error
				if !errors.As(err, &de) || !strings.Contains(err.Error(), path) {
					t.Fatalf("error %v does not name the file", err)
				}
				t.Logf("rejected as expected: %v", err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			shape := joinInts(px.Shape(), "x")
			if shape != o.shape {
				t.Errorf("shape %s, reference %s", shape, o.shape)
			}
			if dt := strings.Replace(px.DType(), "<", "", 1); dt != strings.TrimLeft(o.dtype, "<|") {
				t.Errorf("dtype %s, reference %s", px.DType(), o.dtype)
			}
			exact := md5hex(px.StoredBytes()) == o.md5
			if o.tolerance == "0" {
				if !exact {
					t.Errorf("stored-value md5 %s, reference (%s) %s", md5hex(px.StoredBytes()), o.refs, o.md5)
				}
				if got := md5hex(greyBytes(px)); got != o.greyMD5 {
					t.Errorf("grey md5 %s, reference %s", got, o.greyMD5)
				}
				return
			}
			// Lossy DCT JPEG: within the oracle's tolerance of dcmtk's output.
			tol, _ := strconv.Atoi(o.tolerance)
			ref := dcmtkDecode(t, path)
			if len(ref.Data) != len(px.Data) {
				t.Fatalf("%d samples, dcmtk %d", len(px.Data), len(ref.Data))
			}
			if md5hex(ref.StoredBytes()) != o.md5 {
				t.Fatalf("dcmtk output md5 %s differs from the oracle %s", md5hex(ref.StoredBytes()), o.md5)
			}
			maxd, ndiff := 0, 0
			for i, v := range px.Data {
				if d := int(v - ref.Data[i]); d != 0 {
					ndiff++
					maxd = max(maxd, d, -d)
				}
			}
			t.Logf("exact=%v: %d of %d samples differ from dcmtk, max |d| = %d (tolerance %d)", exact, ndiff, len(px.Data), maxd, tol)
			if maxd > tol {
				t.Errorf("max |decoded - dcmtk| = %d exceeds the tolerance %d", maxd, tol)
			}
			var g, gr []float32
			for i := 0; i < px.Frames; i++ {
				g, gr = px.Grey(i, g), ref.Grey(i, gr)
				for k := range g {
					if d := math.Abs(float64(g[k] - gr[k])); d > float64(tol) {
						t.Fatalf("frame %d grey[%d] = %g, from dcmtk's pixels %g", i, k, g[k], gr[k])
					}
				}
			}
		})
	}
}

func joinInts(v []int, sep string) string {
	out := make([]string, len(v))
	for i, x := range v {
		out[i] = strconv.Itoa(x)
	}
	return strings.Join(out, sep)
}

// dcmtkDecode decompresses a lossy JPEG fixture with dcmtk's dcmdjpeg and
// decodes the native result (native decoding is itself checked against the
// oracles).
func dcmtkDecode(t *testing.T, path string) *Pixels {
	t.Helper()
	bin := testenv.Tool(t, "dcmdjpeg")
	out := filepath.Join(t.TempDir(), "raw.dcm")
	if b, err := exec.Command(bin, path, out).CombinedOutput(); err != nil {
		t.Fatalf("dcmdjpeg: %v: %s", err, b)
	}
	f, err := ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	px, err := f.Decode(DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return px
}
