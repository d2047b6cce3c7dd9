package hdf5

import (
	"encoding/binary"
	"fmt"
)

// message is one object header message.
type message struct {
	typ  uint16
	data []byte
}

// Message types used here.
const (
	msgDataspace    = 0x0001
	msgLinkInfo     = 0x0002
	msgDatatype     = 0x0003
	msgLink         = 0x0006
	msgLayout       = 0x0008
	msgFilters      = 0x000B
	msgAttribute    = 0x000C
	msgContinuation = 0x0010
	msgSymbolTable  = 0x0011
	msgAttrInfo     = 0x0015
)

// header reads every message of the object header at addr, following
// continuation blocks.
func (f *File) header(addr uint64) ([]message, error) {
	pre, err := f.read(addr, 16)
	if err != nil {
		return nil, fmt.Errorf("object header at %d: %w", addr, err)
	}
	if string(pre[:4]) == "OHDR" {
		return f.headerV2(addr)
	}
	if pre[0] != 1 {
		return nil, fmt.Errorf("%w: object header at %d has version %d", ErrFormat, addr, pre[0])
	}
	nmsgs := int(binary.LittleEndian.Uint16(pre[2:]))
	size := int(binary.LittleEndian.Uint32(pre[8:]))
	type block struct {
		addr uint64
		n    int
	}
	blocks := []block{{addr + 16, size}}
	var msgs []message
	for len(blocks) > 0 && len(msgs) < nmsgs {
		bl := blocks[0]
		blocks = blocks[1:]
		b, err := f.read(bl.addr, bl.n)
		if err != nil {
			return nil, fmt.Errorf("object header at %d: %w", addr, err)
		}
		d := decoder{b: b, f: f}
		for d.p+8 <= len(b) && len(msgs) < nmsgs {
			typ := d.u16()
			n := int(d.u16())
			d.skip(4)
			data := d.bytes(n)
			if d.err != nil {
				return nil, fmt.Errorf("object header at %d: %w", addr, d.err)
			}
			if typ == msgContinuation {
				cd := decoder{b: data, f: f}
				a, l := cd.off(), cd.length()
				if cd.err != nil || l > maxAlloc {
					return nil, fmt.Errorf("%w: object header at %d: bad continuation", ErrFormat, addr)
				}
				blocks = append(blocks, block{a, int(l)})
			}
			msgs = append(msgs, message{typ, data})
		}
	}
	return msgs, nil
}

func (f *File) headerV2(addr uint64) ([]message, error) {
	pre, err := f.read(addr, 4+1+1+16+4+8)
	if err != nil {
		return nil, fmt.Errorf("object header at %d: %w", addr, err)
	}
	d := decoder{b: pre, f: f}
	d.skip(4)
	if v := d.u8(); v != 2 {
		return nil, fmt.Errorf("%w: object header at %d: version %d", ErrFormat, addr, v)
	}
	flags := d.u8()
	if flags&0x20 != 0 {
		d.skip(16)
	}
	if flags&0x10 != 0 {
		d.skip(4)
	}
	chunk0 := d.uint(1 << (flags & 3))
	if chunk0 > maxAlloc {
		return nil, fmt.Errorf("%w: object header at %d: chunk of %d bytes", ErrFormat, addr, chunk0)
	}
	creationOrder := flags&0x04 != 0
	type block struct {
		addr uint64
		n    int
	}
	blocks := []block{{addr + uint64(d.p), int(chunk0)}}
	var msgs []message
	for first := true; len(blocks) > 0; first = false {
		bl := blocks[0]
		blocks = blocks[1:]
		start, n := bl.addr, bl.n
		if !first {
			// A continuation block: "OCHK", messages, checksum.
			start, n = start+4, n-8
			sig, err := f.read(bl.addr, 4)
			if err != nil {
				return nil, fmt.Errorf("object header at %d: %w", addr, err)
			}
			if string(sig) != "OCHK" {
				return nil, fmt.Errorf("%w: object header at %d: continuation block without OCHK", ErrFormat, addr)
			}
		}
		if n < 0 {
			return nil, fmt.Errorf("%w: object header at %d: bad block size", ErrFormat, addr)
		}
		b, err := f.read(start, n)
		if err != nil {
			return nil, fmt.Errorf("object header at %d: %w", addr, err)
		}
		md := decoder{b: b, f: f}
		hlen := 4
		if creationOrder {
			hlen = 6
		}
		for md.p+hlen <= len(b) {
			typ := uint16(md.u8())
			size := int(md.u16())
			md.skip(1)
			if creationOrder {
				md.skip(2)
			}
			data := md.bytes(size)
			if md.err != nil {
				return nil, fmt.Errorf("object header at %d: %w", addr, md.err)
			}
			if typ == msgContinuation {
				cd := decoder{b: data, f: f}
				a, l := cd.off(), cd.length()
				if cd.err != nil || l > maxAlloc {
					return nil, fmt.Errorf("%w: object header at %d: bad continuation", ErrFormat, addr)
				}
				blocks = append(blocks, block{a, int(l)})
			}
			msgs = append(msgs, message{typ, data})
		}
	}
	return msgs, nil
}
