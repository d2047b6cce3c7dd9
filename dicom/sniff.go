package dicom

import (
	"bytes"
	"encoding/binary"
)

// maxTiles bounds the JPEG 2000 tile count a frame may declare.
const maxTiles = 1 << 16

// checkCodestream reads the image size a compressed frame declares — JPEG
// and JPEG-LS SOFn, JPEG 2000 SIZ — and rejects frames whose size differs
// from the header's before a codec allocates anything for them: a corrupt
// or hostile frame must not make a decoder allocate gigabytes. It returns the
// bytes to decode (a JP2 file's codestream box for JPEG 2000).
func checkCodestream(ts string, b []byte, p PixelInfo) ([]byte, error) {
	switch ts {
	case JPEG2000, JPEG2000Lossless:
		cs := b
		if len(b) >= 12 && bytes.Equal(b[4:8], []byte("jP  ")) {
			cs = jp2Codestream(b)
			if cs == nil {
				return nil, errf(ErrCorruptFrame, "JP2 file without a codestream box")
			}
		}
		if len(cs) < 4+38 || cs[0] != 0xFF || cs[1] != 0x4F || cs[2] != 0xFF || cs[3] != 0x51 {
			return nil, errf(ErrCorruptFrame, "JPEG 2000 frame does not start with SOC and SIZ markers")
		}
		s := cs[6:]
		be := binary.BigEndian
		x, y := be.Uint32(s[2:]), be.Uint32(s[6:])
		x0, y0 := be.Uint32(s[10:]), be.Uint32(s[14:])
		tw, th := be.Uint32(s[18:]), be.Uint32(s[22:])
		tx0, ty0 := be.Uint32(s[26:]), be.Uint32(s[30:])
		comps := int(be.Uint16(s[34:]))
		if x <= x0 || y <= y0 || tw == 0 || th == 0 || tx0 > x0 || ty0 > y0 {
			return nil, errf(ErrCorruptFrame, "JPEG 2000 SIZ has an empty image or tile grid")
		}
		w, h := int(x-x0), int(y-y0)
		if err := sizeMatches("JPEG 2000", w, h, comps, p); err != nil {
			return nil, err
		}
		tiles := uint64((x-tx0+tw-1)/tw) * uint64((y-ty0+th-1)/th)
		if tiles > maxTiles {
			return nil, errf(ErrCorruptFrame, "JPEG 2000 frame declares %d tiles", tiles)
		}
		return cs, nil
	case JPEGBaseline, JPEGExtended, JPEGLossless, JPEGLosslessSV1, JPEGLSLossless, JPEGLSNearLossless:
		w, h, comps, ok := jpegSOF(b)
		if !ok {
			return nil, errf(ErrCorruptFrame, "no JPEG start-of-frame marker")
		}
		if err := sizeMatches("JPEG", w, h, comps, p); err != nil {
			return nil, err
		}
	}
	return b, nil
}

func sizeMatches(what string, w, h, comps int, p PixelInfo) error {
	if w != p.Cols || h != p.Rows || comps != p.Samples {
		return errf(ErrCorruptFrame, "%s frame is %dx%d with %d component(s), the header says %dx%d with %d",
			what, w, h, comps, p.Cols, p.Rows, p.Samples)
	}
	return nil
}

// jpegSOF scans JPEG markers from SOI to the first SOFn (including JPEG-LS
// SOF55) and returns the frame's width, height and component count.
func jpegSOF(b []byte) (w, h, comps int, ok bool) {
	if len(b) < 4 || b[0] != 0xFF || b[1] != 0xD8 {
		return 0, 0, 0, false
	}
	i := 2
	for i+4 <= len(b) {
		if b[i] != 0xFF {
			return 0, 0, 0, false
		}
		m := b[i+1]
		if m == 0xFF { // fill byte
			i++
			continue
		}
		n := int(b[i+2])<<8 | int(b[i+3])
		isSOF := (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC) || m == 0xF7
		if isSOF {
			if n < 8 || i+2+n > len(b) {
				return 0, 0, 0, false
			}
			s := b[i+4:]
			return int(s[3])<<8 | int(s[4]), int(s[1])<<8 | int(s[2]), int(s[5]), true
		}
		if m == 0xDA || m == 0xD9 || n < 2 {
			return 0, 0, 0, false
		}
		i += 2 + n
	}
	return 0, 0, 0, false
}

// jp2Codestream returns the contents of a JP2 file's contiguous codestream
// box ("jp2c"), or nil.
func jp2Codestream(b []byte) []byte {
	for i := 0; i+8 <= len(b); {
		l := uint64(binary.BigEndian.Uint32(b[i:]))
		typ := string(b[i+4 : i+8])
		hdr := uint64(8)
		if l == 1 {
			if i+16 > len(b) {
				return nil
			}
			l, hdr = binary.BigEndian.Uint64(b[i+8:]), 16
		} else if l == 0 {
			l = uint64(len(b) - i)
		}
		if l < hdr || uint64(i)+l > uint64(len(b)) {
			return nil
		}
		if typ == "jp2c" {
			return b[uint64(i)+hdr : uint64(i)+l]
		}
		i += int(l)
	}
	return nil
}
