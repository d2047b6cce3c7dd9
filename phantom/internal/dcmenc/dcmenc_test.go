package dcmenc

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cmrfm/cmrfm/internal/testenv"
)

func TestFormatDS(t *testing.T) {
	for _, v := range []float64{0, 1, -1, 0.5, 1.8229166666666667, -115.20180612345678, 125.674919, 1e-7, -3.5e-9,
		123456789012.5, 6.02214076e23, -0.00012345678901234, 63.86622} {
		s := FormatDS(v)
		if len(s) > 16 {
			t.Errorf("FormatDS(%v) = %q: %d characters, DS allows 16", v, s, len(s))
		}
		got, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Errorf("FormatDS(%v) = %q does not parse: %v", v, s, err)
			continue
		}
		// 16 characters leave at least 8 significant digits for any of these.
		if d := got - v; d > 1e-8*max(1, abs(v)) || d < -1e-8*max(1, abs(v)) {
			t.Errorf("FormatDS(%v) = %q reads back as %v", v, s, got)
		}
	}
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}

// TestEncodeBytes checks the byte layout against PS3.5 §7.1.2 by hand.
func TestEncodeBytes(t *testing.T) {
	var ds Dataset
	ds.Str(T(0x0010, 0x0020), "LO", "ABC")       // odd length: space pad
	ds.Str(T(0x0008, 0x0016), "UI", "1.2.3")     // odd length: NUL pad, sorts first
	ds.US(T(0x0028, 0x0010), 256)                // binary
	ds.Bytes(T(0x0009, 0x0010), "OB", []byte{7}) // long form, zero pad
	ds.AT(T(0x0020, 0x9165), T(0x0020, 0x9056))  // attribute tag
	ds.Seq(T(0x0008, 0x1115), Dataset{{Tag: T(0x0008, 0x0060), VR: "CS", Str: []string{"MR"}}})
	got, err := ds.encode(nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{
		0x08, 0x00, 0x16, 0x00, 'U', 'I', 6, 0, '1', '.', '2', '.', '3', 0, // (0008,0016) UI "1.2.3\0"
		0x08, 0x00, 0x15, 0x11, 'S', 'Q', 0, 0, 18, 0, 0, 0, // (0008,1115) SQ, 4-byte length 18
		0xFE, 0xFF, 0x00, 0xE0, 10, 0, 0, 0, //   item, length 10
		0x08, 0x00, 0x60, 0x00, 'C', 'S', 2, 0, 'M', 'R', //   (0008,0060) CS "MR"
		0x09, 0x00, 0x10, 0x00, 'O', 'B', 0, 0, 2, 0, 0, 0, 7, 0, // (0009,0010) OB, padded with 0
		0x10, 0x00, 0x20, 0x00, 'L', 'O', 4, 0, 'A', 'B', 'C', ' ', // (0010,0020) LO "ABC "
		0x20, 0x00, 0x65, 0x91, 'A', 'T', 4, 0, 0x20, 0x00, 0x56, 0x90, // (0020,9165) AT (0020,9056)
		0x28, 0x00, 0x10, 0x00, 'U', 'S', 2, 0, 0x00, 0x01, // (0028,0010) US 256
	}
	if !bytes.Equal(got, want) {
		t.Errorf("encoded\n% x\nwant\n% x", got, want)
	}
}

func TestEncodeErrors(t *testing.T) {
	var ds Dataset
	ds.Str(T(0x0010, 0x0010), "PN", "A")
	ds.Str(T(0x0010, 0x0010), "PN", "B")
	if _, err := EncodeFile("1.2", "1.3", ds, nil); err == nil || !strings.Contains(err.Error(), "duplicate") {
		t.Errorf("duplicate tag: err = %v", err)
	}
	ds = Dataset{{Tag: T(0x0002, 0x0010), VR: "UI", Str: []string{"1.2"}}}
	if _, err := EncodeFile("1.2", "1.3", ds, nil); err == nil {
		t.Error("file meta element in the data set: no error")
	}
	ds = Dataset{{Tag: T(0x0010, 0x0010), VR: "XX"}}
	if _, err := EncodeFile("1.2", "1.3", ds, nil); err == nil {
		t.Error("unknown VR: no error")
	}
	if _, err := EncodeFile("1.2", "1.3", nil, []byte{1, 2, 3}); err == nil {
		t.Error("odd pixel data: no error")
	}
	ds = Dataset{{Tag: T(0x7FE0, 0x0010), VR: "OW", Raw: []byte{0, 0}}}
	if _, err := EncodeFile("1.2", "1.3", ds, []byte{0, 0}); err == nil {
		t.Error("pixel data twice: no error")
	}
}

// TestDcmdump has dcmtk parse a file and checks what it read: the header,
// the group length and every value.
func TestDcmdump(t *testing.T) {
	dcmdump := testenv.Tool(t, "dcmdump")
	var ds Dataset
	ds.Str(T(0x0008, 0x0016), "UI", "1.2.840.10008.5.1.4.1.1.4")
	ds.Str(T(0x0008, 0x0018), "UI", "2.25.1234567")
	ds.Str(T(0x0008, 0x0060), "CS", "MR")
	ds.Str(T(0x0010, 0x0010), "PN", "PHANTOM^ODD")
	ds.DS(T(0x0020, 0x0032), -115.201806, 0.5, 12)
	ds.IS(T(0x0020, 0x0013), 7)
	ds.US(T(0x0028, 0x0010), 2)
	ds.US(T(0x0028, 0x0011), 2)
	ds.Seq(T(0x5200, 0x9229), Dataset{{Tag: T(0x0028, 0x9110), VR: "SQ", Seq: []Dataset{{{Tag: T(0x0018, 0x0050), VR: "DS", Str: []string{"8"}}}}}})
	ds.AT(T(0x0020, 0x9165), T(0x0020, 0x9056))
	b, err := EncodeFile("1.2.840.10008.5.1.4.1.1.4", "2.25.1234567", ds, []byte{1, 0, 2, 0, 3, 0, 4, 0})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "x.dcm")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(dcmdump, "+L", path) // not -q: warnings must reach stderr
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("dcmdump: %v\n%s", err, stderr.String())
	}
	for _, want := range []string{
		// group length by hand: 0001 OB 12+2, 0002 UI 8+26, 0003 UI 8+12,
		// 0010 UI 8+20, 0012 UI 8+44, 0013 SH 8+16 = 172
		"(0002,0000) UL 172 ",
		"(0002,0010) UI =LittleEndianExplicit",
		"(0002,0013) SH [CMRFM_PHANTOM_1]",
		"(0008,0060) CS [MR]",
		"(0010,0010) PN [PHANTOM^ODD]",
		`(0020,0032) DS [-115.201806\0.5\12]`,
		"(0020,0013) IS [7]",
		"(0018,0050) DS [8]",
		"(0020,9165) AT (0020,9056)",
		"(7fe0,0010) OW 0001\\0002\\0003\\0004",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("dcmdump output lacks %q:\n%s", want, out)
		}
	}
}
