package hdf5

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
)

func (ds *Dataset) parseLayout(b []byte) error {
	f := ds.f
	d := decoder{b: b, f: f}
	v := d.u8()
	if v < 3 {
		return fmt.Errorf("%w: layout message version %d", ErrUnsupported, v)
	}
	class := d.u8()
	switch class {
	case 0:
		n := int(d.u16())
		ds.Storage = "compact"
		ds.compact = d.bytes(n)
	case 1:
		ds.Storage = "contiguous"
		ds.addr = d.off()
		ds.size = d.length()
	case 2:
		ds.Storage = "chunked"
		if v == 3 {
			rank := int(d.u8())
			ds.addr = d.off()
			for i := 0; i < rank; i++ {
				ds.Chunk = append(ds.Chunk, uint64(d.u32()))
			}
			ds.index = 0
		} else {
			flags := d.u8()
			rank := int(d.u8())
			w := int(d.u8())
			for i := 0; i < rank; i++ {
				ds.Chunk = append(ds.Chunk, d.uint(w))
			}
			ds.index = int(d.u8())
			switch ds.index {
			case 1:
				if flags&0x02 != 0 {
					ds.single.size = d.length()
					ds.single.mask = d.u32()
				}
				ds.addr = d.off()
			case 2:
				ds.addr = d.off()
			case 3:
				d.skip(1) // page bits
				ds.addr = d.off()
			case 4:
				return fmt.Errorf("%w: extensible-array chunk index (a resizable dataset); rewrite without maxshape", ErrUnsupported)
			case 5:
				return fmt.Errorf("%w: version-2 B-tree chunk index; rewrite without maxshape", ErrUnsupported)
			default:
				return fmt.Errorf("%w: chunk index type %d", ErrFormat, ds.index)
			}
		}
		if len(ds.Chunk) > 0 {
			ds.Chunk = ds.Chunk[:len(ds.Chunk)-1] // the last "dimension" is the element size
		}
	default:
		return fmt.Errorf("%w: layout class %d (virtual datasets are not supported)", ErrUnsupported, class)
	}
	return d.err
}

// ReadRaw returns the dataset's values as bytes in C order, in the file's
// byte order (see Type.BigEndian).
//
// The declared size is checked before anything is allocated: more than
// 4 GiB, or more than the file could hold even compressed, is an error
// naming the shape.
func (ds *Dataset) ReadRaw() ([]byte, error) {
	n := uint64(ds.Type.Size)
	for _, d := range ds.Dims {
		if d != 0 && n > maxAlloc/d {
			return nil, fmt.Errorf("%w: dataset %s: shape %v of %d-byte values is more than %d GiB", ErrUnsupported, ds.Name, ds.Dims, ds.Type.Size, maxAlloc>>30)
		}
		n *= d
	}
	if n > maxAlloc {
		return nil, fmt.Errorf("%w: dataset %s: shape %v of %d-byte values is more than %d GiB", ErrUnsupported, ds.Name, ds.Dims, ds.Type.Size, maxAlloc>>30)
	}
	// Deflate, the strongest filter here, expands at most 1032:1.
	if ds.Storage == "chunked" && ds.addr != undef && n > uint64(ds.f.size)*1032+(1<<20) {
		return nil, fmt.Errorf("%w: dataset %s: shape %v declares %d bytes, more than a %d-byte file can hold even compressed", ErrFormat, ds.Name, ds.Dims, n, ds.f.size)
	}
	switch ds.Storage {
	case "compact":
		if uint64(len(ds.compact)) < n {
			return nil, fmt.Errorf("%w: dataset %s: compact data of %d bytes, need %d", ErrFormat, ds.Name, len(ds.compact), n)
		}
		return append([]byte(nil), ds.compact[:n]...), nil
	case "contiguous":
		if ds.addr == undef {
			return make([]byte, n), nil // never written: fill value zero
		}
		b, err := ds.f.read(ds.addr, int(n))
		if err != nil {
			return nil, fmt.Errorf("dataset %s: %w", ds.Name, err)
		}
		return b, nil
	}
	return ds.readChunked(int(n))
}

func (ds *Dataset) readChunked(n int) ([]byte, error) {
	out := make([]byte, n)
	chunks, err := ds.chunkRefs()
	if err != nil {
		return nil, fmt.Errorf("dataset %s: chunk index: %w", ds.Name, err)
	}
	es := ds.Type.Size
	csize := es
	for _, c := range ds.Chunk {
		if c == 0 {
			return nil, fmt.Errorf("%w: dataset %s: zero chunk dimension", ErrFormat, ds.Name)
		}
		csize *= int(c)
	}
	if csize > maxAlloc {
		return nil, fmt.Errorf("%w: dataset %s: chunk of %d bytes", ErrFormat, ds.Name, csize)
	}
	// Chunks are independent: decode them in parallel (inflate dominates).
	workers := min(runtime.GOMAXPROCS(0), len(chunks))
	errs := make([]error, len(chunks))
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(chunks) {
					return
				}
				errs[i] = ds.decodeChunk(out, chunks[i], csize)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (ds *Dataset) decodeChunk(out []byte, c chunkRef, csize int) error {
	if c.addr == undef {
		return nil // never written: fill value zero
	}
	raw, err := ds.f.read(c.addr, int(c.size))
	if err != nil {
		return fmt.Errorf("dataset %s: chunk at %v: %w", ds.Name, c.offset, err)
	}
	data, err := ds.unfilter(raw, c.mask, csize)
	if err != nil {
		return fmt.Errorf("dataset %s: chunk at %v: %w", ds.Name, c.offset, err)
	}
	if len(data) < csize {
		return fmt.Errorf("%w: dataset %s: chunk at %v decodes to %d bytes, want %d", ErrFormat, ds.Name, c.offset, len(data), csize)
	}
	if err := ds.place(out, data, c.offset); err != nil {
		return fmt.Errorf("dataset %s: %w", ds.Name, err)
	}
	return nil
}

// place copies one decoded chunk into the C-order output, clipping chunks
// that overhang the dataset's edge.
func (ds *Dataset) place(out, chunk []byte, off []uint64) error {
	r := len(ds.Dims)
	if len(off) < r {
		return fmt.Errorf("%w: chunk offset rank %d", ErrFormat, len(off))
	}
	es := ds.Type.Size
	for i := 0; i < r; i++ {
		if off[i] >= ds.Dims[i] || off[i]%ds.Chunk[i] != 0 {
			return fmt.Errorf("%w: chunk offset %v outside dimensions %v", ErrFormat, off[:r], ds.Dims)
		}
	}
	if r == 0 {
		copy(out, chunk[:es])
		return nil
	}
	// Iterate over all rows (every index but the last).
	ext := make([]int, r) // extent of the chunk inside the dataset
	for i := 0; i < r; i++ {
		ext[i] = int(min(ds.Chunk[i], ds.Dims[i]-off[i]))
	}
	rowLen := ext[r-1] * es
	idx := make([]int, r-1)
	for {
		src, dst := 0, 0
		for i := 0; i < r-1; i++ {
			src = src*int(ds.Chunk[i]) + idx[i]
			dst = dst*int(ds.Dims[i]) + idx[i] + int(off[i])
		}
		src = src * int(ds.Chunk[r-1]) * es
		dst = (dst*int(ds.Dims[r-1]) + int(off[r-1])) * es
		copy(out[dst:dst+rowLen], chunk[src:src+rowLen])
		k := r - 2
		for ; k >= 0; k-- {
			idx[k]++
			if idx[k] < ext[k] {
				break
			}
			idx[k] = 0
		}
		if k < 0 {
			return nil
		}
	}
}
