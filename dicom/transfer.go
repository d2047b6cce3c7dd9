package dicom

import (
	"encoding/binary"
	"sort"
)

// TransferSyntax describes how a data set and its pixel data are encoded.
type TransferSyntax struct {
	UID  string
	Name string
	// Implicit is true for implicit-VR encoding; BigEndian for the retired
	// explicit big-endian syntax; Deflated when the data set is deflated.
	Implicit, BigEndian, Deflated bool
	// Encapsulated is true when pixel data is stored as compressed fragments.
	Encapsulated bool
	// Lossy is true for syntaxes that may discard information.
	Lossy bool
}

// ByteOrder returns the byte order of the data set.
func (ts TransferSyntax) ByteOrder() binary.ByteOrder {
	if ts.BigEndian {
		return binary.BigEndian
	}
	return binary.LittleEndian
}

// Transfer syntax UIDs cmrfm knows by name.
const (
	ImplicitVRLittleEndian         = "1.2.840.10008.1.2"
	ExplicitVRLittleEndian         = "1.2.840.10008.1.2.1"
	DeflatedExplicitVRLittleEndian = "1.2.840.10008.1.2.1.99"
	ExplicitVRBigEndian            = "1.2.840.10008.1.2.2"
	JPEGBaseline                   = "1.2.840.10008.1.2.4.50"
	JPEGExtended                   = "1.2.840.10008.1.2.4.51"
	JPEGLossless                   = "1.2.840.10008.1.2.4.57"
	JPEGLosslessSV1                = "1.2.840.10008.1.2.4.70"
	JPEGLSLossless                 = "1.2.840.10008.1.2.4.80"
	JPEGLSNearLossless             = "1.2.840.10008.1.2.4.81"
	JPEG2000Lossless               = "1.2.840.10008.1.2.4.90"
	JPEG2000                       = "1.2.840.10008.1.2.4.91"
	RLELossless                    = "1.2.840.10008.1.2.5"
)

var transferSyntaxes = map[string]TransferSyntax{}

func init() {
	for _, ts := range []TransferSyntax{
		{UID: ImplicitVRLittleEndian, Name: "Implicit VR Little Endian", Implicit: true},
		{UID: ExplicitVRLittleEndian, Name: "Explicit VR Little Endian"},
		{UID: DeflatedExplicitVRLittleEndian, Name: "Deflated Explicit VR Little Endian", Deflated: true},
		{UID: ExplicitVRBigEndian, Name: "Explicit VR Big Endian (retired)", BigEndian: true},
		{UID: JPEGBaseline, Name: "JPEG Baseline (Process 1)", Encapsulated: true, Lossy: true},
		{UID: JPEGExtended, Name: "JPEG Extended (Process 2 & 4)", Encapsulated: true, Lossy: true},
		{UID: JPEGLossless, Name: "JPEG Lossless, Non-Hierarchical (Process 14)", Encapsulated: true},
		{UID: JPEGLosslessSV1, Name: "JPEG Lossless, First-Order Prediction (Process 14, SV1)", Encapsulated: true},
		{UID: JPEGLSLossless, Name: "JPEG-LS Lossless", Encapsulated: true},
		{UID: JPEGLSNearLossless, Name: "JPEG-LS Near-Lossless", Encapsulated: true, Lossy: true},
		{UID: JPEG2000Lossless, Name: "JPEG 2000 (Lossless Only)", Encapsulated: true},
		{UID: JPEG2000, Name: "JPEG 2000", Encapsulated: true, Lossy: true},
		{UID: RLELossless, Name: "RLE Lossless", Encapsulated: true},
		{UID: "1.2.840.10008.1.2.1.98", Name: "Encapsulated Uncompressed Explicit VR Little Endian", Encapsulated: true},
		{UID: "1.2.840.10008.1.2.4.52", Name: "JPEG Extended (Process 3 & 5) (retired)", Encapsulated: true, Lossy: true},
		{UID: "1.2.840.10008.1.2.4.53", Name: "JPEG Spectral Selection (retired)", Encapsulated: true, Lossy: true},
		{UID: "1.2.840.10008.1.2.4.55", Name: "JPEG Full Progression (retired)", Encapsulated: true, Lossy: true},
		{UID: "1.2.840.10008.1.2.4.92", Name: "JPEG 2000 Part 2 Multi-component (Lossless Only)", Encapsulated: true},
		{UID: "1.2.840.10008.1.2.4.93", Name: "JPEG 2000 Part 2 Multi-component", Encapsulated: true, Lossy: true},
		{UID: "1.2.840.10008.1.2.4.100", Name: "MPEG2 Main Profile @ Main Level", Encapsulated: true, Lossy: true},
		{UID: "1.2.840.10008.1.2.4.102", Name: "MPEG-4 AVC/H.264 High Profile", Encapsulated: true, Lossy: true},
		{UID: "1.2.840.10008.1.2.4.110", Name: "JPEG XL Lossless", Encapsulated: true},
		{UID: "1.2.840.10008.1.2.4.111", Name: "JPEG XL JPEG Recompression", Encapsulated: true, Lossy: true},
		{UID: "1.2.840.10008.1.2.4.112", Name: "JPEG XL", Encapsulated: true, Lossy: true},
		{UID: "1.2.840.10008.1.2.4.201", Name: "High-Throughput JPEG 2000 (Lossless Only)", Encapsulated: true},
		{UID: "1.2.840.10008.1.2.4.202", Name: "High-Throughput JPEG 2000 with RPCL Options (Lossless Only)", Encapsulated: true},
		{UID: "1.2.840.10008.1.2.4.203", Name: "High-Throughput JPEG 2000", Encapsulated: true, Lossy: true},
		{UID: "1.2.840.10008.1.2.8.1", Name: "Deflated Image Frame Compression", Encapsulated: true},
	} {
		transferSyntaxes[ts.UID] = ts
	}
}

// LookupTransferSyntax returns the description of a known transfer syntax UID.
func LookupTransferSyntax(uid string) (TransferSyntax, bool) {
	ts, ok := transferSyntaxes[uid]
	return ts, ok
}

// TransferSyntaxes lists every transfer syntax cmrfm knows by name, sorted by
// UID (decoding support is reported by Decoders.Supports).
func TransferSyntaxes() []TransferSyntax {
	out := make([]TransferSyntax, 0, len(transferSyntaxes))
	for _, ts := range transferSyntaxes {
		out = append(out, ts)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].UID < out[j].UID })
	return out
}

// transferSyntaxFor returns the encoding of uid; an unknown UID is assumed to
// be an encapsulated explicit-VR little-endian syntax (DICOM PS3.5 §10: every
// non-native syntax uses explicit VR little endian for the data set).
func transferSyntaxFor(uid string) TransferSyntax {
	if ts, ok := transferSyntaxes[uid]; ok {
		return ts
	}
	return TransferSyntax{UID: uid, Name: "unknown", Encapsulated: true}
}
