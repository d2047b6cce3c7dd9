package dicom

import (
	"strings"
)

// PixelInfo is the image pixel module of a file: what the stored pixel data
// looks like before decoding.
type PixelInfo struct {
	Rows, Cols, Frames int
	// Samples per pixel: 1 (monochrome, palette) or 3 (RGB, YBR).
	Samples                            int
	BitsAllocated, BitsStored, HighBit int
	Signed                             bool   // PixelRepresentation 1
	Photometric                        string // PhotometricInterpretation, upper case
	Planar                             bool   // PlanarConfiguration 1 (colour-by-plane)
}

// FrameSamples returns Rows·Cols·Samples.
func (p PixelInfo) FrameSamples() int { return p.Rows * p.Cols * p.Samples }

// PixelInfo reads and validates the image pixel module.
func (f *File) PixelInfo() (PixelInfo, error) {
	pi, err := pixelInfo(f.DataSet)
	if err != nil {
		return pi, f.err("decode", -1, err)
	}
	return pi, nil
}

func pixelInfo(ds *DataSet) (PixelInfo, error) {
	var p PixelInfo
	var ok bool
	if p.Rows, ok = ds.Int(TagRows); !ok || p.Rows <= 0 {
		return p, errf(ErrBadPixelModule, "Rows missing or not positive")
	}
	if p.Cols, ok = ds.Int(TagColumns); !ok || p.Cols <= 0 {
		return p, errf(ErrBadPixelModule, "Columns missing or not positive")
	}
	p.Frames = 1
	if n, ok := ds.Int(TagNumberOfFrames); ok {
		if n < 1 {
			return p, errf(ErrBadPixelModule, "NumberOfFrames %d", n)
		}
		p.Frames = n
	}
	p.Samples = 1
	if n, ok := ds.Int(TagSamplesPerPixel); ok {
		p.Samples = n
	}
	if p.BitsAllocated, ok = ds.Int(TagBitsAllocated); !ok {
		return p, errf(ErrBadPixelModule, "BitsAllocated missing")
	}
	p.BitsStored = p.BitsAllocated
	if n, ok := ds.Int(TagBitsStored); ok {
		p.BitsStored = n
	}
	p.HighBit = p.BitsStored - 1
	if n, ok := ds.Int(TagHighBit); ok {
		p.HighBit = n
	}
	if n, ok := ds.Int(TagPixelRepresentation); ok {
		p.Signed = n == 1
	}
	p.Photometric = strings.ToUpper(ds.String(TagPhotometricInterpretation))
	if p.Photometric == "" {
		if p.Samples == 3 {
			p.Photometric = "RGB"
		} else {
			p.Photometric = "MONOCHROME2"
		}
	}
	if n, ok := ds.Int(TagPlanarConfiguration); ok && p.Samples > 1 {
		p.Planar = n == 1
	}
	switch p.BitsAllocated {
	case 8, 16, 32:
	default:
		return p, errf(ErrUnsupportedPixelFormat, "BitsAllocated %d (cmrfm decodes 8, 16 and 32)", p.BitsAllocated)
	}
	if p.BitsStored < 1 || p.BitsStored > p.BitsAllocated {
		return p, errf(ErrBadPixelModule, "BitsStored %d with BitsAllocated %d", p.BitsStored, p.BitsAllocated)
	}
	if p.HighBit < p.BitsStored-1 || p.HighBit >= p.BitsAllocated {
		return p, errf(ErrBadPixelModule, "HighBit %d with BitsStored %d, BitsAllocated %d", p.HighBit, p.BitsStored, p.BitsAllocated)
	}
	if p.BitsStored == 32 && !p.Signed {
		return p, errf(ErrUnsupportedPixelFormat, "unsigned 32-bit stored values (cmrfm holds samples as int32)")
	}
	switch p.Samples {
	case 1:
		switch p.Photometric {
		case "MONOCHROME1", "MONOCHROME2", "PALETTE COLOR":
		default:
			return p, errf(ErrUnsupportedPixelFormat, "PhotometricInterpretation %q with 1 sample per pixel", p.Photometric)
		}
	case 3:
		switch p.Photometric {
		case "RGB", "YBR_FULL", "YBR_FULL_422", "YBR_RCT", "YBR_ICT", "YBR_PARTIAL_420", "YBR_PARTIAL_422":
		default:
			return p, errf(ErrUnsupportedPixelFormat, "PhotometricInterpretation %q with 3 samples per pixel", p.Photometric)
		}
	default:
		return p, errf(ErrUnsupportedPixelFormat, "SamplesPerPixel %d", p.Samples)
	}
	return p, nil
}

func (f *File) err(op string, frame int, err error) error {
	return &Error{Path: f.Path, Op: op, TransferSyntax: f.TransferSyntax.UID, Frame: frame, Err: err}
}
