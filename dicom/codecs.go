//go:build !cmrfm_nocodecs

package dicom

import (
	jpegbase "github.com/cocosip/go-dicom-codecs/jpeg/baseline"
	jpegext "github.com/cocosip/go-dicom-codecs/jpeg/extended"
	j2k "github.com/cocosip/go-dicom-codecs/jpeg2000"
	jlsll "github.com/cocosip/go-dicom-codecs/jpegls/lossless"
	jlsnl "github.com/cocosip/go-dicom-codecs/jpegls/nearlossless"
)

// The compressed-syntax codecs come from github.com/cocosip/go-dicom-codecs
// (module path; repository github.com/cocosip/go-dicom-codec v0.6.0). See
// docs/dicom.md for the licence decision; build with -tags cmrfm_nocodecs to
// leave them out (the GDCM fallback and RLE remain).

// CodecsCompiledIn reports whether the third-party codecs are built in.
const CodecsCompiledIn = true

func addCodecs(d Decoders) {
	d[JPEGBaseline] = decodeJPEGBaseline
	d[JPEGExtended] = decodeJPEGExtended
	d[JPEGLSLossless] = decodeJPEGLS
	d[JPEGLSNearLossless] = decodeJPEGLS
	d[JPEG2000Lossless] = decodeJPEG2000
	d[JPEG2000] = decodeJPEG2000
}

func decodeJPEGLS(b []byte, p PixelInfo, dst []int32) (string, error) {
	out, w, h, c, _, _, err := jlsnl.Decode(b)
	if err != nil {
		// The near-lossless decoder handles NEAR=0 too; fall back to the
		// lossless one only if it rejects the stream.
		var err2 error
		out, w, h, c, _, err2 = jlsll.Decode(b)
		if err2 != nil {
			return "", errf(ErrCorruptFrame, "JPEG-LS: %v", err)
		}
	}
	if err := checkDims(w, h, c, p); err != nil {
		return "", err
	}
	return p.Photometric, putSamples(out, dst)
}

func decodeJPEGBaseline(b []byte, p PixelInfo, dst []int32) (string, error) {
	if p.Samples == 3 {
		return decodeJPEGColour(b, p, dst)
	}
	out, w, h, c, err := jpegbase.Decode(b)
	if err != nil {
		return "", errf(ErrCorruptFrame, "JPEG baseline: %v", err)
	}
	if err := checkDims(w, h, c, p); err != nil {
		return "", err
	}
	return jpegPhotometric(p), putSamples(out, dst)
}

func decodeJPEGExtended(b []byte, p PixelInfo, dst []int32) (string, error) {
	out, w, h, c, _, err := jpegext.Decode(b)
	if err != nil {
		return "", errf(ErrCorruptFrame, "JPEG extended: %v", err)
	}
	if err := checkDims(w, h, c, p); err != nil {
		return "", err
	}
	return jpegPhotometric(p), putSamples(out, dst)
}

// jpegPhotometric: the lossy JPEG decoders convert YCbCr to RGB.
func jpegPhotometric(p PixelInfo) string {
	if p.Samples == 3 {
		return "RGB"
	}
	return p.Photometric
}

func decodeJPEG2000(b []byte, p PixelInfo, dst []int32) (string, error) {
	d := j2k.NewDecoder()
	if err := d.Decode(b); err != nil {
		return "", errf(ErrCorruptFrame, "JPEG 2000: %v", err)
	}
	if err := checkDims(d.Width(), d.Height(), d.Components(), p); err != nil {
		return "", err
	}
	if err := putSamples(d.GetPixelData(), dst); err != nil {
		return "", err
	}
	phot := p.Photometric
	if p.Samples == 3 && (phot == "YBR_RCT" || phot == "YBR_ICT") {
		phot = "RGB" // the decoder applies the inverse component transform
	}
	return phot, nil
}
