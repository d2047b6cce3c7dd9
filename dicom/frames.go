package dicom

import (
	"bytes"
	"encoding/binary"
)

// pixelElement returns the top-level Pixel Data element.
func (f *File) pixelElement() (*Element, error) {
	e := f.DataSet.Find(TagPixelData)
	if e == nil {
		if f.DataSet.Find(0x7FE00008) != nil || f.DataSet.Find(0x7FE00009) != nil {
			return nil, errf(ErrUnsupportedPixelFormat, "float/double pixel data (7FE0,0008/0009)")
		}
		return nil, errf(ErrNoPixelData, "no Pixel Data (7FE0,0010) element")
	}
	return e, nil
}

// framesFit checks NumberOfFrames against the pixel data the file holds
// before anything is allocated per frame: native data must have the bytes
// of every frame, encapsulated data a fragment per frame at least. A header
// declaring 10^9 frames over a few kilobytes is an error, not 10^9 images.
// DICOM JSON metadata whose pixel data is a BulkDataURI holds no pixel
// data to check.
func (f *File) framesFit(p PixelInfo) error {
	if p.Frames <= 1 {
		return nil
	}
	e, err := f.pixelElement()
	if err != nil {
		return err
	}
	if e.BulkDataURI != "" {
		return nil
	}
	if e.UndefinedLength {
		if p.Frames > len(e.Fragments) {
			return errf(ErrTruncated, "NumberOfFrames %d but %d pixel data fragments", p.Frames, len(e.Fragments))
		}
		return nil
	}
	bits := uint64(p.Rows) * uint64(p.Cols) * uint64(max(p.Samples, 1)) * uint64(max(p.BitsAllocated, 1))
	if have := uint64(len(e.Value)) * 8; bits == 0 || uint64(p.Frames) > have/bits {
		return errf(ErrTruncated, "NumberOfFrames %d of %dx%d at %d bits need %d bytes; pixel data holds %d",
			p.Frames, p.Rows, p.Cols, p.BitsAllocated, bits/8*uint64(p.Frames), len(e.Value))
	}
	return nil
}

// nativeFrames checks that native pixel data holds every frame and returns
// the bytes of each.
func nativeFrames(e *Element, p PixelInfo) ([][]byte, error) {
	if e.UndefinedLength {
		return nil, errf(ErrMalformed, "encapsulated pixel data in a native transfer syntax")
	}
	n := p.FrameSamples() * (p.BitsAllocated / 8)
	need := uint64(n) * uint64(p.Frames)
	if uint64(len(e.Value)) < need {
		return nil, errf(ErrTruncated, "pixel data holds %d bytes, %d expected for %d frame(s) of %dx%dx%d at %d bits",
			len(e.Value), need, p.Frames, p.Rows, p.Cols, p.Samples, p.BitsAllocated)
	}
	out := make([][]byte, p.Frames)
	for i := range out {
		out[i] = e.Value[i*n : (i+1)*n : (i+1)*n]
	}
	return out, nil
}

// encapsulatedFrames maps the fragments of encapsulated pixel data to frames:
// one frame takes every fragment; as many fragments as frames take one each;
// otherwise the Basic or Extended Offset Table, or failing both the codec's
// start-of-image markers, split them.
func encapsulatedFrames(ds *DataSet, e *Element, frames int) ([][]byte, error) {
	frags := e.Fragments
	if !e.UndefinedLength {
		return nil, errf(ErrMalformed, "native pixel data in an encapsulated transfer syntax")
	}
	if len(frags) == 0 {
		return nil, errf(ErrCorruptFrame, "encapsulated pixel data has no fragments")
	}
	if frames == 1 {
		if len(frags) == 1 {
			return frags, nil
		}
		return [][]byte{bytes.Join(frags, nil)}, nil
	}
	if len(frags) == frames {
		return frags, nil
	}
	// Byte offset of each fragment's item tag, relative to the first fragment.
	starts := make([]uint64, len(frags)+1)
	for i, fr := range frags {
		starts[i+1] = starts[i] + 8 + uint64(len(fr))
	}
	join := func(offsets []uint64) ([][]byte, error) {
		out := make([][]byte, 0, frames)
		k := 0
		for i, off := range offsets {
			for k < len(frags) && starts[k] < off {
				k++
			}
			if k >= len(frags) || starts[k] != off {
				return nil, errf(ErrCorruptFrame, "offset table entry %d (%d) is not the start of a fragment", i, off)
			}
			end := len(frags)
			if i+1 < len(offsets) {
				end = k
				for end < len(frags) && starts[end] < offsets[i+1] {
					end++
				}
			}
			if end <= k {
				return nil, errf(ErrCorruptFrame, "offset table entry %d selects no fragment", i)
			}
			out = append(out, bytes.Join(frags[k:end], nil))
		}
		return out, nil
	}
	if len(e.BOT) > 0 {
		if len(e.BOT)%4 != 0 || len(e.BOT)/4 != frames {
			return nil, errf(ErrCorruptFrame, "Basic Offset Table has %d bytes for %d frames", len(e.BOT), frames)
		}
		offs := make([]uint64, frames)
		for i := range offs {
			offs[i] = uint64(binary.LittleEndian.Uint32(e.BOT[4*i:]))
			if i > 0 && offs[i] <= offs[i-1] {
				return nil, errf(ErrCorruptFrame, "Basic Offset Table is not increasing at entry %d", i)
			}
		}
		return join(offs)
	}
	if eot := ds.Find(TagExtendedOffsetTable); eot != nil && len(eot.Value) == 8*frames {
		offs := make([]uint64, frames)
		for i := range offs {
			offs[i] = binary.LittleEndian.Uint64(eot.Value[8*i:])
			if i > 0 && offs[i] <= offs[i-1] {
				return nil, errf(ErrCorruptFrame, "Extended Offset Table is not increasing at entry %d", i)
			}
		}
		return join(offs)
	}
	// No offset table: a fragment that starts with a start-of-image marker
	// (JPEG SOI, JPEG 2000 SOC+SIZ, JP2 signature box) starts a frame.
	var offs []uint64
	for i, fr := range frags {
		if startsImage(fr) {
			offs = append(offs, starts[i])
		}
	}
	if len(offs) == frames && offs[0] == 0 {
		return join(offs)
	}
	return nil, errf(ErrCorruptFrame, "%d fragments for %d frames, no offset table, and %d start-of-image markers", len(frags), frames, len(offs))
}

func startsImage(b []byte) bool {
	switch {
	case len(b) >= 2 && b[0] == 0xFF && b[1] == 0xD8: // JPEG, JPEG-LS SOI
		return true
	case len(b) >= 4 && b[0] == 0xFF && b[1] == 0x4F && b[2] == 0xFF && b[3] == 0x51: // J2K SOC SIZ
		return true
	case len(b) >= 8 && bytes.Equal(b[:8], []byte{0, 0, 0, 0x0C, 'j', 'P', ' ', ' '}): // JP2
		return true
	}
	return false
}
