package dcmenc

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strings"
)

// Tag is a DICOM tag as group<<16 | element.
type Tag uint32

// T builds a tag from its group and element numbers.
func T(group, element uint16) Tag { return Tag(uint32(group)<<16 | uint32(element)) }

// Group returns the tag's group number.
func (t Tag) Group() uint16 { return uint16(t >> 16) }

// Element returns the tag's element number.
func (t Tag) Element() uint16 { return uint16(t) }

func (t Tag) String() string { return fmt.Sprintf("(%04X,%04X)", t.Group(), t.Element()) }

// Transfer syntax and implementation identity written in the file meta.
const (
	ExplicitVRLittleEndian = "1.2.840.10008.1.2.1"
	// ImplementationClassUID identifies cmrfm's phantom writer (a 2.25 UUID-derived UID).
	ImplementationClassUID = "2.25.171390617702958232345734016446718592343"
	// ImplementationVersion is written as ImplementationVersionName (SH, at most 16 characters).
	ImplementationVersion = "CMRFM_PHANTOM_1"
)

// Elem is one data element. Exactly one value field is used, chosen by VR.
type Elem struct {
	Tag Tag
	VR  string
	Str []string  // AE AS CS DA DS DT IS LO LT PN SH ST TM UI UT
	U16 []uint16  // US, and OW when Raw is nil
	U32 []uint32  // UL
	F64 []float64 // FD
	F32 []float32 // FL
	Raw []byte    // OB, OW (already little-endian), UN
	Seq []Dataset // SQ items
}

// Dataset is a list of elements; Encode sorts it by tag.
type Dataset []Elem

func (d *Dataset) add(e Elem) { *d = append(*d, e) }

// Str adds a character-string element with one or more values.
func (d *Dataset) Str(t Tag, vr string, vals ...string) {
	d.add(Elem{Tag: t, VR: vr, Str: vals})
}

// DS adds a decimal-string element, formatting each value in at most 16
// characters (PS3.5 Table 6.2-1).
func (d *Dataset) DS(t Tag, vals ...float64) {
	s := make([]string, len(vals))
	for i, v := range vals {
		s[i] = FormatDS(v)
	}
	d.add(Elem{Tag: t, VR: "DS", Str: s})
}

// IS adds an integer-string element.
func (d *Dataset) IS(t Tag, vals ...int) {
	s := make([]string, len(vals))
	for i, v := range vals {
		s[i] = fmt.Sprint(v)
	}
	d.add(Elem{Tag: t, VR: "IS", Str: s})
}

// US adds an unsigned-short element.
func (d *Dataset) US(t Tag, vals ...uint16) { d.add(Elem{Tag: t, VR: "US", U16: vals}) }

// UL adds an unsigned-long element.
func (d *Dataset) UL(t Tag, vals ...uint32) { d.add(Elem{Tag: t, VR: "UL", U32: vals}) }

// FD adds a 64-bit float element.
func (d *Dataset) FD(t Tag, vals ...float64) { d.add(Elem{Tag: t, VR: "FD", F64: vals}) }

// FL adds a 32-bit float element.
func (d *Dataset) FL(t Tag, vals ...float32) { d.add(Elem{Tag: t, VR: "FL", F32: vals}) }

// AT adds an attribute-tag element.
func (d *Dataset) AT(t Tag, tags ...Tag) {
	v := make([]uint16, 0, 2*len(tags))
	for _, x := range tags {
		v = append(v, x.Group(), x.Element())
	}
	d.add(Elem{Tag: t, VR: "AT", U16: v})
}

// Bytes adds an OB/OW/UN element holding raw little-endian bytes.
func (d *Dataset) Bytes(t Tag, vr string, b []byte) { d.add(Elem{Tag: t, VR: vr, Raw: b}) }

// Seq adds a sequence of items.
func (d *Dataset) Seq(t Tag, items ...Dataset) { d.add(Elem{Tag: t, VR: "SQ", Seq: items}) }

// FormatDS formats v as a DICOM decimal string of at most 16 characters,
// with as many significant digits as fit.
func FormatDS(v float64) string {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return "0"
	}
	for prec := 10; prec >= 1; prec-- {
		s := fmt.Sprintf("%.*f", prec, v)
		s = trimZeros(s)
		if len(s) <= 16 {
			if s == "-0" {
				return "0"
			}
			return s
		}
	}
	for prec := 8; prec >= 1; prec-- {
		s := fmt.Sprintf("%.*e", prec, v)
		if len(s) <= 16 {
			return s
		}
	}
	return "0"
}

func trimZeros(s string) string {
	if strings.Contains(s, ".") {
		s = strings.TrimRight(s, "0")
		s = strings.TrimSuffix(s, ".")
	}
	return s
}

// longVR reports whether vr uses the 4-byte length form in explicit VR
// (PS3.5 Table 7.1-1).
func longVR(vr string) bool {
	switch vr {
	case "OB", "OD", "OF", "OL", "OV", "OW", "SQ", "UC", "UN", "UR", "UT":
		return true
	}
	return false
}

// value encodes e's value, padded to even length.
func (e *Elem) value(dst []byte) ([]byte, error) {
	switch e.VR {
	case "US", "OW", "AT":
		if e.Raw != nil {
			dst = append(dst, e.Raw...)
			break
		}
		for _, v := range e.U16 {
			dst = binary.LittleEndian.AppendUint16(dst, v)
		}
	case "UL":
		for _, v := range e.U32 {
			dst = binary.LittleEndian.AppendUint32(dst, v)
		}
	case "FD":
		for _, v := range e.F64 {
			dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(v))
		}
	case "FL":
		for _, v := range e.F32 {
			dst = binary.LittleEndian.AppendUint32(dst, math.Float32bits(v))
		}
	case "OB", "UN":
		dst = append(dst, e.Raw...)
		if len(e.Raw)%2 == 1 {
			dst = append(dst, 0)
		}
	case "SQ":
		for i := range e.Seq {
			item, err := e.Seq[i].encode(nil)
			if err != nil {
				return nil, fmt.Errorf("%v item %d: %w", e.Tag, i+1, err)
			}
			dst = binary.LittleEndian.AppendUint16(dst, 0xFFFE)
			dst = binary.LittleEndian.AppendUint16(dst, 0xE000)
			dst = binary.LittleEndian.AppendUint32(dst, uint32(len(item)))
			dst = append(dst, item...)
		}
	case "AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST", "TM", "UI", "UT", "UC", "UR":
		n0 := len(dst)
		for i, s := range e.Str {
			if i > 0 {
				dst = append(dst, '\\')
			}
			dst = append(dst, s...)
		}
		if (len(dst)-n0)%2 == 1 {
			pad := byte(' ')
			if e.VR == "UI" {
				pad = 0
			}
			dst = append(dst, pad)
		}
	default:
		return nil, fmt.Errorf("%v: unsupported VR %q", e.Tag, e.VR)
	}
	return dst, nil
}

// encode appends the data set's elements in ascending tag order, sorting
// d in place.
func (d Dataset) encode(dst []byte) ([]byte, error) {
	sorted := d
	slices.SortStableFunc(sorted, func(a, b Elem) int {
		switch {
		case a.Tag < b.Tag:
			return -1
		case a.Tag > b.Tag:
			return 1
		}
		return 0
	})
	var buf []byte
	for i := range sorted {
		e := &sorted[i]
		if i > 0 && sorted[i-1].Tag == e.Tag {
			return nil, fmt.Errorf("dcmenc: duplicate element %v", e.Tag)
		}
		var err error
		buf, err = e.value(buf[:0])
		if err != nil {
			return nil, fmt.Errorf("dcmenc: %w", err)
		}
		dst = binary.LittleEndian.AppendUint16(dst, e.Tag.Group())
		dst = binary.LittleEndian.AppendUint16(dst, e.Tag.Element())
		dst = append(dst, e.VR...)
		if longVR(e.VR) {
			dst = append(dst, 0, 0)
			dst = binary.LittleEndian.AppendUint32(dst, uint32(len(buf)))
		} else {
			if len(buf) > math.MaxUint16 {
				return nil, fmt.Errorf("dcmenc: %v (%s) value of %d bytes exceeds the 16-bit length field", e.Tag, e.VR, len(buf))
			}
			dst = binary.LittleEndian.AppendUint16(dst, uint16(len(buf)))
		}
		dst = append(dst, buf...)
	}
	return dst, nil
}

// EncodeFile returns a complete Part 10 file: preamble, "DICM", file meta
// information for the given SOP class and instance, and the data set.
// pixelData, if non-nil, is appended as (7FE0,0010) OW after the data set
// (which must then not contain it), avoiding a copy of the largest value.
// The data set (and every sequence item in it) is sorted in place.
func EncodeFile(sopClass, sopInstance string, ds Dataset, pixelData []byte) ([]byte, error) {
	return AppendFile(nil, sopClass, sopInstance, ds, pixelData)
}

// AppendFile is EncodeFile appending to dst (which may be a reused buffer).
func AppendFile(dst []byte, sopClass, sopInstance string, ds Dataset, pixelData []byte) ([]byte, error) {
	var meta Dataset
	meta.Bytes(T(0x0002, 0x0001), "OB", []byte{0, 1})
	meta.Str(T(0x0002, 0x0002), "UI", sopClass)
	meta.Str(T(0x0002, 0x0003), "UI", sopInstance)
	meta.Str(T(0x0002, 0x0010), "UI", ExplicitVRLittleEndian)
	meta.Str(T(0x0002, 0x0012), "UI", ImplementationClassUID)
	meta.Str(T(0x0002, 0x0013), "SH", ImplementationVersion)
	mb, err := meta.encode(nil)
	if err != nil {
		return nil, err
	}
	for _, e := range ds {
		if e.Tag.Group() == 0x0002 {
			return nil, fmt.Errorf("dcmenc: data set holds file meta element %v", e.Tag)
		}
		if pixelData != nil && e.Tag >= T(0x7FE0, 0x0010) {
			return nil, fmt.Errorf("dcmenc: element %v would follow the appended pixel data", e.Tag)
		}
	}
	out := dst[:0]
	if need := 128 + 4 + 12 + len(mb) + 8192 + len(pixelData) + 12; cap(out) < need {
		out = make([]byte, 0, need)
	}
	out = append(out, make([]byte, 128)...)
	out = append(out, "DICM"...)
	// (0002,0000) FileMetaInformationGroupLength UL 4
	out = append(out, 0x02, 0x00, 0x00, 0x00, 'U', 'L', 4, 0)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(mb)))
	out = append(out, mb...)
	out, err = ds.encode(out)
	if err != nil {
		return nil, err
	}
	if pixelData != nil {
		if len(pixelData)%2 == 1 {
			return nil, fmt.Errorf("dcmenc: odd pixel data length %d", len(pixelData))
		}
		out = append(out, 0xE0, 0x7F, 0x10, 0x00, 'O', 'W', 0, 0)
		out = binary.LittleEndian.AppendUint32(out, uint32(len(pixelData)))
		out = append(out, pixelData...)
	}
	return out, nil
}
