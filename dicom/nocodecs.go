//go:build cmrfm_nocodecs

package dicom

// CodecsCompiledIn reports whether the third-party codecs are built in.
const CodecsCompiledIn = false

// addCodecs registers what the standard library decodes: 8-bit JPEG
// (baseline greyscale within T.83's ±1 of libjpeg, colour as in the default build).
func addCodecs(d Decoders) { d[JPEGBaseline] = decodeJPEGColour }
