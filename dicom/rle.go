package dicom

import "encoding/binary"

// decodeRLE decodes one RLE Lossless frame (DICOM PS3.5 Annex G): a 64-byte
// header with the segment count and offsets, then one PackBits segment per
// byte of each sample, most significant byte first, sample by sample.
func decodeRLE(b []byte, p PixelInfo, dst []int32) (string, error) {
	if len(b) < 64 {
		return "", errf(ErrCorruptFrame, "RLE frame has %d bytes, shorter than its 64-byte header", len(b))
	}
	bps := p.BitsAllocated / 8
	nseg := int(binary.LittleEndian.Uint32(b))
	if nseg != p.Samples*bps {
		return "", errf(ErrCorruptFrame, "RLE header has %d segments, %d expected (%d samples × %d bytes)", nseg, p.Samples*bps, p.Samples, bps)
	}
	var offs [16]int
	for i := 0; i < nseg; i++ {
		offs[i] = int(binary.LittleEndian.Uint32(b[4+4*i:]))
	}
	offs[nseg] = len(b)
	plane := p.Rows * p.Cols
	seg := make([]byte, plane)
	for i := range dst {
		dst[i] = 0
	}
	for s := 0; s < nseg; s++ {
		start, end := offs[s], offs[s+1]
		if start < 64 || start > end || end > len(b) {
			return "", errf(ErrCorruptFrame, "RLE segment %d spans bytes [%d,%d) of a %d-byte frame", s, start, end, len(b))
		}
		if err := unpackBits(b[start:end], seg); err != nil {
			return "", errf(ErrCorruptFrame, "RLE segment %d: %v", s, err)
		}
		sample, shift := s/bps, uint(8*(bps-1-s%bps))
		for k, v := range seg {
			dst[k*p.Samples+sample] |= int32(uint32(v) << shift)
		}
	}
	return p.Photometric, nil
}

type rleError string

func (e rleError) Error() string { return string(e) }

// unpackBits decodes PackBits src until dst is full. Bytes left over in src
// are padding and are ignored; running out of input early is an error.
func unpackBits(src, dst []byte) error {
	i, o := 0, 0
	for o < len(dst) {
		if i >= len(src) {
			return rleError("segment decodes to fewer bytes than a frame plane")
		}
		n := int(int8(src[i]))
		i++
		switch {
		case n >= 0: // n+1 literal bytes
			if i+n+1 > len(src) || o+n+1 > len(dst) {
				return rleError("literal run overruns the segment or the plane")
			}
			o += copy(dst[o:], src[i:i+n+1])
			i += n + 1
		case n != -128: // repeat next byte 1-n times
			if i >= len(src) || o+1-n > len(dst) {
				return rleError("replicate run overruns the segment or the plane")
			}
			v := src[i]
			i++
			for k := 0; k < 1-n; k++ {
				dst[o+k] = v
			}
			o += 1 - n
		}
	}
	return nil
}
