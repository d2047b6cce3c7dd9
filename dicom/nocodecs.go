//go:build cmrfm_nocodecs

package dicom

// CodecsCompiledIn reports whether the third-party codecs are built in.
const CodecsCompiledIn = false

func addCodecs(Decoders) {}
