package hdf5

import (
	"encoding/binary"
	"fmt"
)

type chunkRef struct {
	offset []uint64 // element offsets of the chunk's first element
	addr   uint64
	size   uint64 // stored (possibly filtered) size
	mask   uint32 // filters skipped for this chunk
}

func (ds *Dataset) chunkRefs() ([]chunkRef, error) {
	f := ds.f
	r := len(ds.Dims)
	if ds.addr == undef {
		return nil, nil // nothing written: all fill value
	}
	switch ds.index {
	case 0:
		var out []chunkRef
		return out, f.chunkBTree(ds.addr, r+1, &out, 0)
	case 1:
		c := ds.single
		c.addr = ds.addr
		c.offset = make([]uint64, r)
		if c.size == 0 {
			c.size = uint64(ds.Type.Size)
			for _, x := range ds.Chunk {
				c.size *= x
			}
		}
		return []chunkRef{c}, nil
	case 2, 3:
		grid := make([]uint64, r)
		total := uint64(1)
		for i := range grid {
			grid[i] = (ds.Dims[i] + ds.Chunk[i] - 1) / ds.Chunk[i]
			total *= grid[i]
		}
		if total > 1<<24 {
			return nil, fmt.Errorf("%w: %d chunks", ErrUnsupported, total)
		}
		csize := uint64(ds.Type.Size)
		for _, x := range ds.Chunk {
			csize *= x
		}
		refs := make([]chunkRef, total)
		for i := range refs {
			refs[i].offset = make([]uint64, r)
			rem := uint64(i)
			for k := r - 1; k >= 0; k-- {
				refs[i].offset[k] = (rem % grid[k]) * ds.Chunk[k]
				rem /= grid[k]
			}
			refs[i].size = csize
		}
		if ds.index == 2 {
			for i := range refs {
				refs[i].addr = ds.addr + uint64(i)*csize
			}
			return refs, nil
		}
		return refs, f.fixedArray(ds.addr, refs)
	}
	return nil, fmt.Errorf("%w: chunk index type %d", ErrUnsupported, ds.index)
}

// chunkBTree collects the chunks of a version-1 chunk B-tree (node type 1).
func (f *File) chunkBTree(addr uint64, keyDims int, out *[]chunkRef, depth int) error {
	if depth > 32 {
		return fmt.Errorf("%w: chunk B-tree too deep", ErrFormat)
	}
	h, err := f.read(addr, 8+2*f.offSize)
	if err != nil {
		return err
	}
	if string(h[:4]) != "TREE" || h[4] != 1 {
		return fmt.Errorf("%w: chunk B-tree node at %d", ErrFormat, addr)
	}
	level := h[5]
	n := int(binary.LittleEndian.Uint16(h[6:]))
	keySize := 8 + 8*keyDims
	b, err := f.read(addr+uint64(8+2*f.offSize), (n+1)*keySize+n*f.offSize)
	if err != nil {
		return err
	}
	d := decoder{b: b, f: f}
	for i := 0; i < n; i++ {
		size := d.u32()
		mask := d.u32()
		off := make([]uint64, keyDims)
		for k := range off {
			off[k] = d.uint(8)
		}
		child := d.off()
		if d.err != nil {
			return d.err
		}
		if level > 0 {
			if err := f.chunkBTree(child, keyDims, out, depth+1); err != nil {
				return err
			}
			continue
		}
		*out = append(*out, chunkRef{offset: off[:keyDims-1], addr: child, size: uint64(size), mask: mask})
	}
	return nil
}

// fixedArray reads a fixed-array chunk index (unpaged) into refs.
func (f *File) fixedArray(addr uint64, refs []chunkRef) error {
	h, err := f.read(addr, 4+4+f.lenSize+f.offSize)
	if err != nil {
		return err
	}
	if string(h[:4]) != "FAHD" {
		return fmt.Errorf("%w: fixed array header at %d", ErrFormat, addr)
	}
	d := decoder{b: h[4:], f: f}
	d.skip(1) // version
	client := d.u8()
	esize := int(d.u8())
	pageBits := d.u8()
	nent := d.length()
	dblk := d.off()
	if d.err != nil {
		return d.err
	}
	if nent != uint64(len(refs)) {
		return fmt.Errorf("%w: fixed array of %d entries for %d chunks", ErrFormat, nent, len(refs))
	}
	if nent > 1<<pageBits {
		return fmt.Errorf("%w: paged fixed-array chunk index (%d chunks)", ErrUnsupported, nent)
	}
	b, err := f.read(dblk, 4+2+f.offSize+len(refs)*esize)
	if err != nil {
		return err
	}
	if string(b[:4]) != "FADB" {
		return fmt.Errorf("%w: fixed array data block at %d", ErrFormat, dblk)
	}
	dd := decoder{b: b[6+f.offSize:], f: f}
	for i := range refs {
		refs[i].addr = dd.off()
		if client == 1 {
			refs[i].size = dd.uint(esize - f.offSize - 4)
			refs[i].mask = dd.u32()
		}
	}
	return dd.err
}
