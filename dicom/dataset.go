package dicom

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"

	dtag "github.com/suyashkumar/dicom/pkg/tag"
)

// Tag is a DICOM attribute tag, group<<16 | element.
type Tag uint32

// NewTag returns the tag (group, element).
func NewTag(group, element uint16) Tag { return Tag(uint32(group)<<16 | uint32(element)) }

// Group returns the tag's group number.
func (t Tag) Group() uint16 { return uint16(t >> 16) }

// Element returns the tag's element number.
func (t Tag) Element() uint16 { return uint16(t) }

// String formats the tag as (gggg,eeee).
func (t Tag) String() string { return fmt.Sprintf("(%04X,%04X)", t.Group(), t.Element()) }

// Keyword returns the data dictionary keyword (e.g. "PixelData"), or "" for
// private and unknown tags.
func (t Tag) Keyword() string {
	info, err := dtag.Find(dtag.Tag{Group: t.Group(), Element: t.Element()})
	if err != nil {
		return ""
	}
	return info.Keyword
}

// dictVR returns the VR the data dictionary gives t (for implicit VR), or
// "UN" when t is private or unknown.
func dictVR(t Tag) string {
	if t.Element() == 0 {
		return "UL" // group length
	}
	info, err := dtag.Find(dtag.Tag{Group: t.Group(), Element: t.Element()})
	if err != nil || len(info.VRs) == 0 {
		return "UN"
	}
	vr := info.VRs[0]
	if len(vr) != 2 {
		return "UN"
	}
	return vr
}

// Tags used by cmrfm.
const (
	TagTransferSyntaxUID Tag = 0x00020010

	TagSpecificCharacterSet Tag = 0x00080005
	TagImageType            Tag = 0x00080008
	TagSOPClassUID          Tag = 0x00080016
	TagSOPInstanceUID       Tag = 0x00080018
	TagStudyDate            Tag = 0x00080020
	TagSeriesDate           Tag = 0x00080021
	TagAcquisitionTime      Tag = 0x00080032
	TagContentTime          Tag = 0x00080033
	TagAccessionNumber      Tag = 0x00080050
	TagModality             Tag = 0x00080060
	TagManufacturer         Tag = 0x00080070
	TagInstitutionName      Tag = 0x00080080
	// Person names and other identifiers that ingest removes from report text.
	TagReferringPhysicianName       Tag = 0x00080090
	TagPerformingPhysicianName      Tag = 0x00081050
	TagNameOfPhysiciansReadingStudy Tag = 0x00081060
	TagOperatorsName                Tag = 0x00081070
	TagRequestingPhysician          Tag = 0x00321032
	TagOtherPatientIDs              Tag = 0x00101000
	TagStudyDescription             Tag = 0x00081030
	TagSeriesDescription            Tag = 0x0008103E
	TagManufacturerModel            Tag = 0x00081090

	TagPatientName      Tag = 0x00100010
	TagPatientID        Tag = 0x00100020
	TagPatientBirthDate Tag = 0x00100030
	TagPatientSex       Tag = 0x00100040
	TagPatientAge       Tag = 0x00101010

	TagSliceThickness         Tag = 0x00180050
	TagSpacingBetweenSlices   Tag = 0x00180088
	TagProtocolName           Tag = 0x00181030
	TagTriggerTime            Tag = 0x00181060
	TagNominalInterval        Tag = 0x00181062
	TagCardiacNumberOfImages  Tag = 0x00181090
	TagFrameTime              Tag = 0x00181063
	TagNominalCardiacTrigger  Tag = 0x00209153 // NominalCardiacTriggerDelayTime
	TagCardiacSynchronization Tag = 0x00189118 // CardiacSynchronizationSequence

	TagStudyInstanceUID      Tag = 0x0020000D
	TagSeriesInstanceUID     Tag = 0x0020000E
	TagSeriesNumber          Tag = 0x00200011
	TagAcquisitionNumber     Tag = 0x00200012
	TagInstanceNumber        Tag = 0x00200013
	TagImagePositionPatient  Tag = 0x00200032
	TagImageOrientation      Tag = 0x00200037
	TagFrameOfReferenceUID   Tag = 0x00200052
	TagSliceLocation         Tag = 0x00201041
	TagTemporalPositionIdx   Tag = 0x00209128 // TemporalPositionIndex
	TagStackID               Tag = 0x00209056
	TagInStackPositionNumber Tag = 0x00209057
	TagFrameContentSequence  Tag = 0x00209111
	TagPlanePositionSequence Tag = 0x00209113
	TagPlaneOrientationSeq   Tag = 0x00209116
	TagDimensionIndexValues  Tag = 0x00209157
	TagFrameAcquisitionNum   Tag = 0x00209156

	TagSamplesPerPixel           Tag = 0x00280002
	TagPhotometricInterpretation Tag = 0x00280004
	TagPlanarConfiguration       Tag = 0x00280006
	TagNumberOfFrames            Tag = 0x00280008
	TagRows                      Tag = 0x00280010
	TagColumns                   Tag = 0x00280011
	TagPixelSpacing              Tag = 0x00280030
	TagBitsAllocated             Tag = 0x00280100
	TagBitsStored                Tag = 0x00280101
	TagHighBit                   Tag = 0x00280102
	TagPixelRepresentation       Tag = 0x00280103
	TagWindowCenter              Tag = 0x00281050
	TagWindowWidth               Tag = 0x00281051
	TagRescaleIntercept          Tag = 0x00281052
	TagRescaleSlope              Tag = 0x00281053
	TagRedPaletteDescriptor      Tag = 0x00281101
	TagGreenPaletteDescriptor    Tag = 0x00281102
	TagBluePaletteDescriptor     Tag = 0x00281103
	TagRedPaletteData            Tag = 0x00281201
	TagGreenPaletteData          Tag = 0x00281202
	TagBluePaletteData           Tag = 0x00281203
	TagPixelMeasuresSequence     Tag = 0x00289110
	TagPixelValueTransformSeq    Tag = 0x00289145

	TagSharedFunctionalGroups   Tag = 0x52009229
	TagPerFrameFunctionalGroups Tag = 0x52009230

	TagExtendedOffsetTable        Tag = 0x7FE00001
	TagExtendedOffsetTableLengths Tag = 0x7FE00002
	TagPixelData                  Tag = 0x7FE00010

	tagItem                 Tag    = 0xFFFEE000
	tagItemDelimitation     Tag    = 0xFFFEE00D
	tagSequenceDelimitation Tag    = 0xFFFEE0DD
	undefinedLength         uint32 = 0xFFFFFFFF
)

// Element is one data element. Value is a sub-slice of the file's bytes (in
// the data set's byte order); a sequence has Items instead; encapsulated
// pixel data has Fragments (the first, the Basic Offset Table, in BOT).
type Element struct {
	Tag Tag
	VR  string
	// Value holds the raw value bytes (nil for SQ and encapsulated data).
	Value []byte
	// Items holds the items of a sequence (VR SQ, or UN of undefined length).
	Items []*DataSet
	// Encapsulated pixel data: the Basic Offset Table item and the fragments.
	BOT       []byte
	Fragments [][]byte
	// Offset is the byte offset of the element's tag in the (inflated) data.
	Offset int
	// UndefinedLength records that the element was encoded with length
	// 0xFFFFFFFF (sequences, encapsulated pixel data).
	UndefinedLength bool
	// BulkDataURI is where a DICOM JSON (DICOMweb metadata) element's value
	// lives instead of Value: the value was not sent, so its absence is not
	// truncation.
	BulkDataURI string
}

// DataSet is an ordered list of elements sharing one byte order.
type DataSet struct {
	Elements []*Element
	order    binary.ByteOrder
}

// ByteOrder returns the byte order of the data set's values.
func (d *DataSet) ByteOrder() binary.ByteOrder { return d.order }

// Find returns the element with tag t, or nil.
func (d *DataSet) Find(t Tag) *Element {
	if d == nil {
		return nil
	}
	for _, e := range d.Elements {
		if e.Tag == t {
			return e
		}
	}
	return nil
}

// Has reports whether the data set has a non-empty element t.
func (d *DataSet) Has(t Tag) bool {
	e := d.Find(t)
	return e != nil && (len(e.Value) > 0 || len(e.Items) > 0 || len(e.Fragments) > 0)
}

// Strings returns the backslash-separated values of a string element,
// trimmed of padding (spaces and NULs), or nil when absent.
func (d *DataSet) Strings(t Tag) []string {
	e := d.Find(t)
	if e == nil || len(e.Value) == 0 {
		return nil
	}
	s := strings.TrimRight(string(e.Value), " \x00")
	if isTextVR(e.VR) {
		return []string{strings.TrimLeft(s, " ")}
	}
	parts := strings.Split(s, `\`)
	for i := range parts {
		parts[i] = strings.Trim(parts[i], " \x00")
	}
	return parts
}

func isTextVR(vr string) bool { return vr == "LT" || vr == "ST" || vr == "UT" }

// String returns the first value of a string element ("" when absent).
func (d *DataSet) String(t Tag) string {
	if v := d.Strings(t); len(v) > 0 {
		return v[0]
	}
	return ""
}

// Ints returns the values of an integer element (US, SS, UL, SL, IS, or a
// string VR holding integers); ok is false when absent or unparsable.
func (d *DataSet) Ints(t Tag) ([]int, bool) {
	e := d.Find(t)
	if e == nil || len(e.Value) == 0 {
		return nil, false
	}
	b, o := e.Value, d.order
	var out []int
	switch e.VR {
	case "US":
		for i := 0; i+2 <= len(b); i += 2 {
			out = append(out, int(o.Uint16(b[i:])))
		}
	case "SS":
		for i := 0; i+2 <= len(b); i += 2 {
			out = append(out, int(int16(o.Uint16(b[i:]))))
		}
	case "UL":
		for i := 0; i+4 <= len(b); i += 4 {
			out = append(out, int(o.Uint32(b[i:])))
		}
	case "SL":
		for i := 0; i+4 <= len(b); i += 4 {
			out = append(out, int(int32(o.Uint32(b[i:]))))
		}
	case "OB", "OW", "UN", "SQ", "FL", "FD", "OF", "OD", "AT":
		return nil, false
	default:
		for _, s := range d.Strings(t) {
			v, err := strconv.Atoi(s)
			if err != nil {
				f, ferr := strconv.ParseFloat(s, 64)
				if ferr != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
					return nil, false
				}
				v = int(f)
			}
			out = append(out, v)
		}
	}
	return out, len(out) > 0
}

// Int returns the first value of an integer element.
func (d *DataSet) Int(t Tag) (int, bool) {
	v, ok := d.Ints(t)
	if !ok {
		return 0, false
	}
	return v[0], true
}

// Floats returns the values of a numeric element (DS, IS, FL, FD, or an
// integer VR); ok is false when absent, unparsable or not finite.
func (d *DataSet) Floats(t Tag) ([]float64, bool) {
	e := d.Find(t)
	if e == nil || len(e.Value) == 0 {
		return nil, false
	}
	b, o := e.Value, d.order
	var out []float64
	switch e.VR {
	case "FL", "OF":
		for i := 0; i+4 <= len(b); i += 4 {
			out = append(out, float64(math.Float32frombits(o.Uint32(b[i:]))))
		}
	case "FD", "OD":
		for i := 0; i+8 <= len(b); i += 8 {
			out = append(out, math.Float64frombits(o.Uint64(b[i:])))
		}
	case "US", "SS", "UL", "SL":
		iv, ok := d.Ints(t)
		if !ok {
			return nil, false
		}
		for _, v := range iv {
			out = append(out, float64(v))
		}
	case "OB", "OW", "UN", "SQ", "AT":
		return nil, false
	default:
		for _, s := range d.Strings(t) {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return nil, false
			}
			out = append(out, v)
		}
	}
	for _, v := range out {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, false
		}
	}
	return out, len(out) > 0
}

// Float returns the first value of a numeric element.
func (d *DataSet) Float(t Tag) (float64, bool) {
	v, ok := d.Floats(t)
	if !ok {
		return 0, false
	}
	return v[0], true
}

// Seq returns the items of a sequence element (nil when absent).
func (d *DataSet) Seq(t Tag) []*DataSet {
	if e := d.Find(t); e != nil {
		return e.Items
	}
	return nil
}
