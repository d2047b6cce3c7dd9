package hdf5

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/klauspost/compress/zlib"
)

type filter struct {
	id    uint16
	flags uint16
	cd    []uint32
}

func (f *File) parseFilters(b []byte) ([]filter, error) {
	d := decoder{b: b, f: f}
	v := d.u8()
	n := int(d.u8())
	if v == 1 {
		d.skip(6)
	}
	var out []filter
	for i := 0; i < n && d.err == nil; i++ {
		var fl filter
		fl.id = d.u16()
		nameLen := 0
		if v == 1 || fl.id >= 256 {
			nameLen = int(d.u16())
		}
		fl.flags = d.u16()
		ncd := int(d.u16())
		if v == 1 {
			d.skip((nameLen + 7) &^ 7)
		} else {
			d.skip(nameLen)
		}
		for j := 0; j < ncd; j++ {
			fl.cd = append(fl.cd, d.u32())
		}
		if v == 1 && ncd%2 == 1 {
			d.skip(4)
		}
		out = append(out, fl)
	}
	return out, d.err
}

func filterName(id uint16) string {
	switch id {
	case 1:
		return "deflate"
	case 2:
		return "shuffle"
	case 3:
		return "fletcher32"
	case 4:
		return "szip"
	case 32000:
		return "lzf"
	}
	return fmt.Sprintf("filter%d", id)
}

// unfilter reverses the filter pipeline for one chunk, skipping the filters
// whose bit is set in mask (h5py stores a chunk that LZF cannot shrink raw).
func (ds *Dataset) unfilter(b []byte, mask uint32, want int) ([]byte, error) {
	for i := len(ds.filters) - 1; i >= 0; i-- {
		if mask&(1<<i) != 0 {
			continue
		}
		fl := ds.filters[i]
		var err error
		switch fl.id {
		case 1:
			b, err = inflate(b, want)
		case 2:
			size := ds.Type.Size
			if len(fl.cd) > 0 {
				size = int(fl.cd[0])
			}
			b = unshuffle(b, size)
		case 3:
			if len(b) < 4 {
				return nil, fmt.Errorf("%w: fletcher32 chunk shorter than its checksum", ErrFormat)
			}
			body, sum := b[:len(b)-4], binary.LittleEndian.Uint32(b[len(b)-4:])
			if got := fletcher32(body); got != sum {
				return nil, fmt.Errorf("%w: fletcher32 checksum mismatch (data corrupt)", ErrFormat)
			}
			b = body
		case 32000:
			b, err = lzfDecompress(b, want)
		default:
			if fl.flags&1 != 0 {
				continue // optional filter that could not be applied
			}
			return nil, fmt.Errorf("%w: filter %s (id %d); rewrite the file with gzip or lzf", ErrUnsupported, filterName(fl.id), fl.id)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", filterName(fl.id), err)
		}
	}
	return b, nil
}

func inflate(b []byte, want int) ([]byte, error) {
	zr, err := zlib.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	defer zr.Close()
	out := bytes.NewBuffer(make([]byte, 0, want))
	if _, err := io.Copy(out, io.LimitReader(zr, int64(want)+1)); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	return out.Bytes(), nil
}

func unshuffle(b []byte, size int) []byte {
	if size <= 1 || len(b) < size {
		return b
	}
	n := len(b) / size
	out := make([]byte, len(b))
	for j := 0; j < size; j++ {
		for i := 0; i < n; i++ {
			out[i*size+j] = b[j*n+i]
		}
	}
	copy(out[n*size:], b[n*size:])
	return out
}

// fletcher32 is HDF5's checksum: Fletcher's algorithm over big-endian 16-bit
// words (an odd final byte is the high half of a word).
func fletcher32(b []byte) uint32 {
	var s1, s2 uint32
	n := len(b) / 2
	for i := 0; i < n; {
		blk := min(n-i, 360)
		for ; blk > 0; blk-- {
			s1 += uint32(b[2*i])<<8 | uint32(b[2*i+1])
			s2 += s1
			i++
		}
		s1 = (s1 & 0xffff) + (s1 >> 16)
		s2 = (s2 & 0xffff) + (s2 >> 16)
	}
	if len(b)%2 == 1 {
		s1 += uint32(b[len(b)-1]) << 8
		s2 += s1
		s1 = (s1 & 0xffff) + (s1 >> 16)
		s2 = (s2 & 0xffff) + (s2 >> 16)
	}
	s1 = (s1 & 0xffff) + (s1 >> 16)
	s2 = (s2 & 0xffff) + (s2 >> 16)
	return s2<<16 | s1
}

// lzfDecompress decodes Marc Lehmann's LZF format as h5py's filter writes it:
// a control byte below 32 starts a literal run of ctrl+1 bytes; otherwise
// the top three bits give a back-reference length (7 means "add the next
// byte"), then a byte completes the 13-bit distance.
func lzfDecompress(in []byte, want int) ([]byte, error) {
	out := make([]byte, 0, want)
	for i := 0; i < len(in); {
		ctrl := int(in[i])
		i++
		if ctrl < 32 {
			n := ctrl + 1
			if i+n > len(in) {
				return nil, fmt.Errorf("%w: lzf literal run past the end", ErrFormat)
			}
			out = append(out, in[i:i+n]...)
			i += n
			continue
		}
		n := ctrl >> 5
		if n == 7 {
			if i >= len(in) {
				return nil, fmt.Errorf("%w: lzf length past the end", ErrFormat)
			}
			n += int(in[i])
			i++
		}
		if i >= len(in) {
			return nil, fmt.Errorf("%w: lzf distance past the end", ErrFormat)
		}
		ref := len(out) - ((ctrl & 0x1f) << 8) - 1 - int(in[i])
		i++
		if ref < 0 {
			return nil, fmt.Errorf("%w: lzf back-reference before the start", ErrFormat)
		}
		if len(out)+n+2 > want {
			return nil, fmt.Errorf("%w: lzf output exceeds the chunk size", ErrFormat)
		}
		for k := 0; k < n+2; k++ {
			out = append(out, out[ref+k])
		}
	}
	return out, nil
}
