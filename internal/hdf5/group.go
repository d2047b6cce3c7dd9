package hdf5

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sort"
)

// Kind says what a group member is.
type Kind int

const (
	KindOther Kind = iota
	KindGroup
	KindDataset
)

// Member is one entry of a group.
type Member struct {
	Name string
	Kind Kind
	addr uint64
}

// Members lists the members of the root group, sorted by name.
func (f *File) Members() ([]Member, error) { return f.members(f.rootOH) }

func (f *File) members(addr uint64) ([]Member, error) {
	msgs, err := f.header(addr)
	if err != nil {
		return nil, err
	}
	var out []Member
	for _, m := range msgs {
		switch m.typ {
		case msgSymbolTable:
			d := decoder{b: m.data, f: f}
			bt, heap := d.off(), d.off()
			if d.err != nil {
				return nil, fmt.Errorf("group at %d: %w", addr, d.err)
			}
			ms, err := f.symbolTable(bt, heap)
			if err != nil {
				return nil, fmt.Errorf("group at %d: %w", addr, err)
			}
			out = append(out, ms...)
		case msgLink:
			mb, err := f.parseLink(m.data)
			if err != nil {
				return nil, fmt.Errorf("group at %d: %w", addr, err)
			}
			if mb != nil {
				out = append(out, *mb)
			}
		case msgLinkInfo:
			d := decoder{b: m.data, f: f}
			d.skip(1)
			fl := d.u8()
			if fl&1 != 0 {
				d.skip(8)
			}
			if heap := d.off(); d.err == nil && heap != undef {
				return nil, fmt.Errorf("%w: group at %d stores its links densely (fractal heap); rewrite the file with h5py's default libver", ErrUnsupported, addr)
			}
		}
	}
	for i := range out {
		k, err := f.kind(out[i].addr)
		if err != nil {
			return nil, fmt.Errorf("member %q: %w", out[i].Name, err)
		}
		out[i].Kind = k
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (f *File) parseLink(b []byte) (*Member, error) {
	d := decoder{b: b, f: f}
	if v := d.u8(); v != 1 {
		return nil, fmt.Errorf("%w: link message version %d", ErrFormat, v)
	}
	flags := d.u8()
	ltype := uint8(0)
	if flags&0x08 != 0 {
		ltype = d.u8()
	}
	if flags&0x04 != 0 {
		d.skip(8)
	}
	if flags&0x10 != 0 {
		d.skip(1)
	}
	n := int(d.uint(1 << (flags & 3)))
	name := string(d.bytes(n))
	if d.err != nil {
		return nil, d.err
	}
	if ltype != 0 {
		return nil, nil // soft and external links are not followed
	}
	addr := d.off()
	if d.err != nil {
		return nil, d.err
	}
	return &Member{Name: name, addr: addr}, nil
}

// symbolTable walks a version-1 group B-tree and its symbol table nodes.
func (f *File) symbolTable(btree, heapAddr uint64) ([]Member, error) {
	hh, err := f.read(heapAddr, 8+2*f.lenSize+f.offSize)
	if err != nil {
		return nil, fmt.Errorf("local heap: %w", err)
	}
	if string(hh[:4]) != "HEAP" {
		return nil, fmt.Errorf("%w: local heap signature missing at %d", ErrFormat, heapAddr)
	}
	hd := decoder{b: hh[8:], f: f}
	hsize := hd.length()
	hd.length()
	haddr := hd.off()
	if hsize > maxAlloc {
		return nil, fmt.Errorf("%w: local heap of %d bytes", ErrFormat, hsize)
	}
	heap, err := f.read(haddr, int(hsize))
	if err != nil {
		return nil, fmt.Errorf("local heap data: %w", err)
	}
	var out []Member
	seen := map[uint64]bool{}
	var walk func(addr uint64, depth int) error
	walk = func(addr uint64, depth int) error {
		if depth > 32 || seen[addr] {
			return fmt.Errorf("%w: group B-tree loops", ErrFormat)
		}
		seen[addr] = true
		h, err := f.read(addr, 8+2*f.offSize)
		if err != nil {
			return fmt.Errorf("group B-tree: %w", err)
		}
		if string(h[:4]) != "TREE" || h[4] != 0 {
			return fmt.Errorf("%w: group B-tree node at %d", ErrFormat, addr)
		}
		level := h[5]
		n := int(binary.LittleEndian.Uint16(h[6:]))
		b, err := f.read(addr+uint64(8+2*f.offSize), (n+1)*f.lenSize+n*f.offSize)
		if err != nil {
			return fmt.Errorf("group B-tree: %w", err)
		}
		d := decoder{b: b, f: f}
		for i := 0; i < n; i++ {
			d.length()
			child := d.off()
			if level > 0 {
				if err := walk(child, depth+1); err != nil {
					return err
				}
				continue
			}
			sn, err := f.read(child, 8)
			if err != nil {
				return fmt.Errorf("symbol table node: %w", err)
			}
			if string(sn[:4]) != "SNOD" {
				return fmt.Errorf("%w: symbol table node at %d", ErrFormat, child)
			}
			k := int(binary.LittleEndian.Uint16(sn[6:]))
			entry := 2*f.offSize + 4 + 4 + 16
			eb, err := f.read(child+8, k*entry)
			if err != nil {
				return fmt.Errorf("symbol table node: %w", err)
			}
			ed := decoder{b: eb, f: f}
			for j := 0; j < k; j++ {
				nameOff := ed.off()
				oh := ed.off()
				ed.skip(24)
				if nameOff >= uint64(len(heap)) {
					return fmt.Errorf("%w: link name offset %d outside the heap", ErrFormat, nameOff)
				}
				name := heap[nameOff:]
				if i := bytes.IndexByte(name, 0); i >= 0 {
					name = name[:i]
				}
				out = append(out, Member{Name: string(name), addr: oh})
			}
		}
		return d.err
	}
	if btree == undef {
		return nil, nil
	}
	return out, walk(btree, 0)
}

func (f *File) kind(addr uint64) (Kind, error) {
	msgs, err := f.header(addr)
	if err != nil {
		return KindOther, err
	}
	for _, m := range msgs {
		switch m.typ {
		case msgLayout:
			return KindDataset, nil
		case msgSymbolTable, msgLinkInfo, msgLink:
			return KindGroup, nil
		}
	}
	return KindOther, nil
}
