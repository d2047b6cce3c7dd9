package dicom

import (
	"encoding/binary"
	"fmt"
	"os/exec"
)

// Pixels is the decoded pixel data of one DICOM object.
//
// Data holds the stored sample values of every frame, frame-major, then row,
// column and sample (colour samples interleaved whatever the file's
// PlanarConfiguration): BitsStored-masked and, when Signed, sign-extended —
// the values pydicom's pixel_array and dcmtk/GDCM's decompressed output hold.
// No rescale, inversion or colour conversion has been applied to Data; use
// Grey for that.
type Pixels struct {
	// PixelInfo describes Data. It equals the file's pixel module except that
	// Planar is always false and Photometric is "RGB" when a codec converted
	// YBR to RGB while decoding (JPEG baseline/extended, JPEG 2000 MCT).
	PixelInfo
	Data []int32
	// Rescale holds the modality rescale of each frame (len Frames).
	Rescale []Rescale
	// Palette is set for PALETTE COLOR images.
	Palette *Palette
}

// Frame returns the samples of frame i, sharing p's memory.
func (p *Pixels) Frame(i int) []int32 {
	n := p.FrameSamples()
	return p.Data[i*n : (i+1)*n : (i+1)*n]
}

// DecodeFunc decodes one compressed frame into dst (len Rows·Cols·Samples,
// interleaved), given the file's pixel module. It returns the photometric
// interpretation of what it wrote (p.Photometric, or "RGB" after a colour
// conversion). Decoders store raw sample bit patterns; the caller masks them
// to BitsStored and sign-extends them.
type DecodeFunc func(frame []byte, p PixelInfo, dst []int32) (photometric string, err error)

// Decoders maps transfer syntax UIDs to frame decoders.
type Decoders map[string]DecodeFunc

// Supports reports whether d decodes the transfer syntax uid (native
// syntaxes are always supported).
func (d Decoders) Supports(uid string) bool {
	ts := transferSyntaxFor(uid)
	if !ts.Encapsulated {
		return true
	}
	_, ok := d[uid]
	return ok
}

// DefaultDecoders returns a new map of every built-in decoder: RLE Lossless and
// JPEG lossless (cmrfm's own) plus the third-party codecs compiled in (see codecs.go; build
// with -tags cmrfm_nocodecs to leave them out).
func DefaultDecoders() Decoders {
	d := Decoders{
		RLELossless:     decodeRLE,
		JPEGLossless:    decodeJPEGLossless,
		JPEGLosslessSV1: decodeJPEGLossless,
	}
	addCodecs(d)
	return d
}

// DecodeOptions controls File.Decode. The zero value is the default.
type DecodeOptions struct {
	// Decoders to use; nil means DefaultDecoders().
	Decoders Decoders
	// MaxBytes caps the memory of the decoded samples (4 bytes each); 0
	// means DefaultMaxBytes, negative means no cap.
	MaxBytes int64
	// GDCMFallback, when true and gdcmconv is on PATH, decodes transfer
	// syntaxes without a built-in decoder by running `gdcmconv --raw`.
	GDCMFallback bool
}

// DefaultMaxBytes is the default cap on decoded sample memory (1 GiB, about
// 4000 frames of 256×256).
const DefaultMaxBytes = 1 << 30

// Decode decodes every frame of f.
func (f *File) Decode(opt DecodeOptions) (*Pixels, error) {
	p, err := pixelInfo(f.DataSet)
	if err != nil {
		return nil, f.err("decode", -1, err)
	}
	max := opt.MaxBytes
	if max == 0 {
		max = DefaultMaxBytes
	}
	total := uint64(p.Rows) * uint64(p.Cols) * uint64(p.Samples) * uint64(p.Frames)
	if max > 0 && total*4 > uint64(max) {
		return nil, f.err("decode", -1, errf(ErrTooLarge, "%d frame(s) of %dx%dx%d need %d MiB, over the %d MiB cap",
			p.Frames, p.Rows, p.Cols, p.Samples, total*4>>20, max>>20))
	}
	e, err := f.pixelElement()
	if err != nil {
		return nil, f.err("decode", -1, err)
	}
	ts := f.TransferSyntax
	var dec DecodeFunc
	if ts.Encapsulated {
		decs := opt.Decoders
		if decs == nil {
			decs = DefaultDecoders()
		}
		dec = decs[ts.UID]
		if dec == nil {
			if opt.GDCMFallback {
				if px, gerr := f.decodeWithGDCM(opt); gerr == nil {
					return px, nil
				} else if gerr != errNoGDCM {
					return nil, gerr
				}
			}
			return nil, f.err("decode", -1, errf(ErrUnsupportedTransferSyntax,
				"no decoder for %s (%s)%s", ts.UID, ts.Name, gdcmHint(opt)))
		}
	}
	var frames [][]byte
	if ts.Encapsulated {
		frames, err = encapsulatedFrames(f.DataSet, e, p.Frames)
	} else {
		if p.Samples == 3 && p.Photometric != "RGB" && p.Photometric != "YBR_FULL" {
			return nil, f.err("decode", -1, errf(ErrUnsupportedPixelFormat, "native %s (subsampled colour)", p.Photometric))
		}
		frames, err = nativeFrames(e, p)
	}
	if err != nil {
		return nil, f.err("decode", -1, err)
	}
	n := p.FrameSamples()
	px := &Pixels{PixelInfo: p, Data: make([]int32, int(total))}
	px.Planar = false
	for i, fr := range frames {
		dst := px.Data[i*n : (i+1)*n]
		if ts.Encapsulated {
			fr, err := checkCodestream(ts.UID, fr, p)
			if err != nil {
				return nil, f.err("decode", i, err)
			}
			phot, err := safeDecode(dec, fr, p, dst)
			if err != nil {
				return nil, f.err("decode", i, err)
			}
			px.Photometric = phot
		} else {
			decodeNative(fr, p, ts.ByteOrder(), dst)
		}
		normalize(dst, p)
	}
	px.Rescale = rescales(f.DataSet, p.Frames)
	if p.Photometric == "PALETTE COLOR" {
		pal, err := readPalette(f.DataSet)
		if err != nil {
			return nil, f.err("decode", -1, err)
		}
		px.Palette = pal
	}
	return px, nil
}

// safeDecode runs a codec, turning a panic into ErrCorruptFrame: codecs parse
// untrusted bytes, and a bug in one must not take the process down.
func safeDecode(dec DecodeFunc, fr []byte, p PixelInfo, dst []int32) (phot string, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = errf(ErrCorruptFrame, "decoder panicked: %v", r)
		}
	}()
	return dec(fr, p, dst)
}

// decodeNative converts native frame bytes to samples, de-planarising colour.
func decodeNative(b []byte, p PixelInfo, bo binary.ByteOrder, dst []int32) {
	n := len(dst)
	plane := p.Rows * p.Cols
	idx := func(i int) int { return i }
	if p.Planar && p.Samples > 1 {
		// sample s of pixel k is stored at s*plane+k
		idx = func(i int) int { return (i%p.Samples)*plane + i/p.Samples }
	}
	switch p.BitsAllocated {
	case 8:
		for i := 0; i < n; i++ {
			dst[i] = int32(b[idx(i)])
		}
	case 16:
		if !p.Planar && bo == binary.LittleEndian {
			for i := 0; i < n; i++ {
				dst[i] = int32(uint32(b[2*i]) | uint32(b[2*i+1])<<8)
			}
			return
		}
		for i := 0; i < n; i++ {
			dst[i] = int32(bo.Uint16(b[2*idx(i):]))
		}
	case 32:
		for i := 0; i < n; i++ {
			dst[i] = int32(bo.Uint32(b[4*idx(i):]))
		}
	}
}

// normalize shifts samples so that HighBit is bit BitsStored-1, masks them to
// BitsStored bits and sign-extends signed data.
func normalize(dst []int32, p PixelInfo) {
	shift := uint(p.HighBit + 1 - p.BitsStored)
	bs := uint(p.BitsStored)
	if bs == 32 {
		return
	}
	mask := uint32(1)<<bs - 1
	if p.Signed {
		up := 32 - bs
		for i, v := range dst {
			dst[i] = int32(((uint32(v)>>shift)&mask)<<up) >> up
		}
		return
	}
	for i, v := range dst {
		dst[i] = int32((uint32(v) >> shift) & mask)
	}
}

// putSamples stores decoded little-endian samples (1 or 2 bytes each, as the
// byte length tells) into dst.
func putSamples(b []byte, dst []int32) error {
	switch len(b) {
	case len(dst):
		for i, v := range b {
			dst[i] = int32(v)
		}
	case 2 * len(dst):
		for i := range dst {
			dst[i] = int32(uint32(b[2*i]) | uint32(b[2*i+1])<<8)
		}
	default:
		return errf(ErrCorruptFrame, "decoded %d bytes for %d samples", len(b), len(dst))
	}
	return nil
}

// checkDims verifies a codec's reported geometry against the header.
func checkDims(w, h, comps int, p PixelInfo) error {
	if w != p.Cols || h != p.Rows || comps != p.Samples {
		return errf(ErrCorruptFrame, "codestream is %dx%d with %d component(s), header says %dx%d with %d",
			w, h, comps, p.Cols, p.Rows, p.Samples)
	}
	return nil
}

var errNoGDCM = fmt.Errorf("gdcmconv not found")

func gdcmHint(opt DecodeOptions) string {
	if opt.GDCMFallback {
		return "; gdcmconv (Debian package libgdcm-tools) is not installed"
	}
	if _, err := exec.LookPath("gdcmconv"); err == nil {
		return "; enable the GDCM fallback to decode it with gdcmconv"
	}
	return ""
}
