package hdf5

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/klauspost/compress/zlib"
	"io"
	"math"
	"os"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
)

// ErrFormat is wrapped by every error about malformed or truncated files.
var ErrFormat = errors.New("malformed HDF5")

// ErrUnsupported is wrapped by errors about valid HDF5 features this package
// does not implement.
var ErrUnsupported = errors.New("unsupported HDF5 feature")

const undef = ^uint64(0)

// maxAlloc bounds any single allocation driven by file contents (4 GiB).
const maxAlloc = 4 << 30

// File is an HDF5 file opened for reading.
type File struct {
	r       io.ReaderAt
	size    int64
	closer  io.Closer
	base    uint64
	offSize int
	lenSize int
	rootOH  uint64
	// SuperblockVersion is the file's superblock version (0–3).
	SuperblockVersion int
}

// Open opens the named file.
func Open(name string) (*File, error) {
	fh, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	st, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, err
	}
	f, err := NewReader(fh, st.Size())
	if err != nil {
		fh.Close()
		return nil, err
	}
	f.closer = fh
	return f, nil
}

// Close closes the underlying file if Open opened it.
func (f *File) Close() error {
	if f.closer != nil {
		return f.closer.Close()
	}
	return nil
}

var signature = []byte("\x89HDF\r\n\x1a\n")

// NewReader reads the superblock of an HDF5 file held in r (size bytes).
func NewReader(r io.ReaderAt, size int64) (*File, error) {
	f := &File{r: r, size: size}
	// The superblock is at 0 or, after a user block, at 512, 1024, 2048, …
	var at int64 = -1
	sig := make([]byte, 8)
	for off := int64(0); off+8 <= size; off = max(512, off*2) {
		if _, err := r.ReadAt(sig, off); err != nil {
			break
		}
		if bytes.Equal(sig, signature) {
			at = off
			break
		}
	}
	if at < 0 {
		return nil, fmt.Errorf("%w: no HDF5 signature", ErrFormat)
	}
	hdr, err := f.read(uint64(at)+8, 16)
	if err != nil {
		return nil, fmt.Errorf("superblock: %w", err)
	}
	f.SuperblockVersion = int(hdr[0])
	switch hdr[0] {
	case 0, 1:
		f.offSize, f.lenSize = int(hdr[5]), int(hdr[6])
		if err := f.checkSizes(); err != nil {
			return nil, err
		}
		p := uint64(at) + 24 // signature, versions and sizes, K values, flags
		if hdr[0] == 1 {
			p += 4
		}
		b, err := f.read(p, 4*f.offSize+2*f.offSize+8+16)
		if err != nil {
			return nil, fmt.Errorf("superblock: %w", err)
		}
		d := decoder{b: b, f: f}
		f.base = d.off()
		d.off() // free space
		d.off() // end of file
		d.off() // driver info
		d.off() // root link name offset
		f.rootOH = d.off()
	case 2, 3:
		f.offSize, f.lenSize = int(hdr[1]), int(hdr[2])
		if err := f.checkSizes(); err != nil {
			return nil, err
		}
		b, err := f.read(uint64(at)+8+4, 4*f.offSize)
		if err != nil {
			return nil, fmt.Errorf("superblock: %w", err)
		}
		d := decoder{b: b, f: f}
		f.base = d.off()
		d.off() // superblock extension
		d.off() // end of file
		f.rootOH = d.off()
	default:
		return nil, fmt.Errorf("%w: superblock version %d", ErrUnsupported, hdr[0])
	}
	if f.base != 0 && f.base != uint64(at) {
		return nil, fmt.Errorf("%w: base address %d", ErrUnsupported, f.base)
	}
	f.base = 0
	return f, nil
}

func (f *File) checkSizes() error {
	ok := func(n int) bool { return n == 2 || n == 4 || n == 8 }
	if !ok(f.offSize) || !ok(f.lenSize) {
		return fmt.Errorf("%w: offset size %d, length size %d", ErrFormat, f.offSize, f.lenSize)
	}
	return nil
}

// read returns n bytes at addr, or an error naming the truncation.
func (f *File) read(addr uint64, n int) ([]byte, error) {
	if n < 0 || n > maxAlloc {
		return nil, fmt.Errorf("%w: implausible read of %d bytes", ErrFormat, n)
	}
	if addr == undef || addr > uint64(f.size) || uint64(n) > uint64(f.size)-addr {
		return nil, fmt.Errorf("%w: %d bytes at offset %d run past the end of the file (%d bytes; truncated?)", ErrFormat, n, addr, f.size)
	}
	b := make([]byte, n)
	if _, err := f.r.ReadAt(b, int64(addr)); err != nil && !(err == io.EOF && n > 0) {
		return nil, fmt.Errorf("read %d bytes at %d: %w", n, addr, err)
	}
	return b, nil
}

// decoder reads little-endian fields from a byte slice; running past its end
// sets err instead of panicking.
type decoder struct {
	b   []byte
	p   int
	f   *File
	err error
}

func (d *decoder) bytes(n int) []byte {
	if d.err != nil || n < 0 || d.p+n > len(d.b) {
		if d.err == nil {
			d.err = fmt.Errorf("%w: structure truncated", ErrFormat)
		}
		return nil
	}
	s := d.b[d.p : d.p+n]
	d.p += n
	return s
}

func (d *decoder) uint(n int) uint64 {
	b := d.bytes(n)
	var v uint64
	for i := len(b) - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v
}

func (d *decoder) u8() uint8   { return uint8(d.uint(1)) }
func (d *decoder) u16() uint16 { return uint16(d.uint(2)) }
func (d *decoder) u32() uint32 { return uint32(d.uint(4)) }

// off reads an address; all-ones means undefined.
func (d *decoder) off() uint64 {
	v := d.uint(d.f.offSize)
	if d.f.offSize < 8 && v == 1<<(8*d.f.offSize)-1 {
		return undef
	}
	return v
}

func (d *decoder) length() uint64 { return d.uint(d.f.lenSize) }
func (d *decoder) skip(n int)     { d.bytes(n) }
func (d *decoder) align8(from int) {
	if r := (d.p - from) % 8; r != 0 {
		d.skip(8 - r)
	}
}

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

// Class is a datatype class.
type Class int

const (
	ClassFixed Class = 0
	ClassFloat Class = 1
)

// Datatype is a numeric datatype; Class outside ClassFixed/ClassFloat means
// a non-numeric type (strings, compounds, …).
type Datatype struct {
	Class     Class
	Size      int
	Signed    bool
	BigEndian bool
}

func (t Datatype) String() string {
	switch {
	case t.Class == ClassFixed && t.Signed:
		return fmt.Sprintf("int%d", 8*t.Size)
	case t.Class == ClassFixed:
		return fmt.Sprintf("uint%d", 8*t.Size)
	case t.Class == ClassFloat:
		return fmt.Sprintf("float%d", 8*t.Size)
	}
	return fmt.Sprintf("class%d(%d bytes)", t.Class, t.Size)
}

// Numeric reports whether values of t can be converted to numbers.
func (t Datatype) Numeric() bool {
	switch t.Class {
	case ClassFixed:
		return t.Size == 1 || t.Size == 2 || t.Size == 4 || t.Size == 8
	case ClassFloat:
		return t.Size == 4 || t.Size == 8
	}
	return false
}

func parseDatatype(b []byte) (Datatype, error) {
	if len(b) < 8 {
		return Datatype{}, fmt.Errorf("%w: datatype message truncated", ErrFormat)
	}
	t := Datatype{Class: Class(b[0] & 0x0f), Size: int(binary.LittleEndian.Uint32(b[4:]))}
	switch t.Class {
	case ClassFixed:
		t.BigEndian = b[1]&0x01 != 0
		t.Signed = b[1]&0x08 != 0
	case ClassFloat:
		if b[1]&0x40 != 0 {
			return t, fmt.Errorf("%w: VAX floating point", ErrUnsupported)
		}
		t.BigEndian = b[1]&0x01 != 0
	}
	return t, nil
}

// parseDataspace returns the dimensions; a scalar has none, scalar true.
func (f *File) parseDataspace(b []byte) (dims []uint64, scalar bool, err error) {
	d := decoder{b: b, f: f}
	v := d.u8()
	rank := int(d.u8())
	flags := d.u8()
	switch v {
	case 1:
		d.skip(5)
	case 2:
		typ := d.u8()
		if typ == 0 {
			return nil, true, d.err
		}
		if typ == 2 {
			return nil, false, d.err // null dataspace: no elements
		}
	default:
		return nil, false, fmt.Errorf("%w: dataspace version %d", ErrFormat, v)
	}
	for i := 0; i < rank; i++ {
		dims = append(dims, d.length())
	}
	_ = flags
	if d.err != nil {
		return nil, false, d.err
	}
	return dims, rank == 0, nil
}

// Attribute is a numeric (or other) attribute read from an object header.
type Attribute struct {
	Name   string
	Type   Datatype
	Dims   []uint64
	Scalar bool
	Data   []byte
}

// Len returns the number of elements.
func (a Attribute) Len() int {
	n := 1
	for _, x := range a.Dims {
		n *= int(x)
	}
	return n
}

// Float64s converts a numeric attribute's values.
func (a Attribute) Float64s() ([]float64, error) {
	if !a.Type.Numeric() {
		return nil, fmt.Errorf("attribute %s: %s is not numeric", a.Name, a.Type)
	}
	n := a.Len()
	if len(a.Data) < n*a.Type.Size {
		return nil, fmt.Errorf("%w: attribute %s: %d bytes for %d values", ErrFormat, a.Name, len(a.Data), n)
	}
	out := make([]float64, n)
	convert(a.Type, a.Data, func(i int, v float64) { out[i] = v }, n)
	return out, nil
}

func (f *File) parseAttribute(b []byte) (Attribute, error) {
	d := decoder{b: b, f: f}
	v := d.u8()
	d.skip(1)
	nameLen := int(d.u16())
	dtLen := int(d.u16())
	dsLen := int(d.u16())
	if v == 3 {
		d.skip(1) // name character set
	}
	if v < 1 || v > 3 {
		return Attribute{}, fmt.Errorf("%w: attribute message version %d", ErrFormat, v)
	}
	pad := func(n int) int {
		if v == 1 {
			return (n + 7) &^ 7
		}
		return n
	}
	name := d.bytes(pad(nameLen))
	dt := d.bytes(pad(dtLen))
	ds := d.bytes(pad(dsLen))
	if d.err != nil {
		return Attribute{}, d.err
	}
	if i := bytes.IndexByte(name, 0); i >= 0 {
		name = name[:i]
	}
	a := Attribute{Name: string(name)}
	var err error
	if a.Type, err = parseDatatype(dt); err != nil {
		return a, fmt.Errorf("attribute %s: %w", a.Name, err)
	}
	if a.Dims, a.Scalar, err = f.parseDataspace(ds); err != nil {
		return a, fmt.Errorf("attribute %s: %w", a.Name, err)
	}
	a.Data = b[d.p:]
	return a, nil
}

// Dataset describes a dataset; its values are read with ReadRaw.
type Dataset struct {
	Name   string
	Dims   []uint64
	Scalar bool
	Type   Datatype
	Attrs  []Attribute
	// Storage is "compact", "contiguous" or "chunked".
	Storage string
	// Chunk holds the chunk dimensions of chunked storage.
	Chunk []uint64
	// Filters names the filter pipeline, e.g. ["shuffle", "deflate"].
	Filters []string

	f        *File
	addr     uint64 // contiguous data or chunk index address
	size     uint64 // contiguous size
	compact  []byte
	index    int // chunk index type: 0 = v1 B-tree, 1 single, 2 implicit, 3 fixed array
	single   chunkRef
	filters  []filter
	attrErr  error
	attrInfo bool
}

type filter struct {
	id    uint16
	flags uint16
	cd    []uint32
}

type chunkRef struct {
	offset []uint64 // element offsets of the chunk's first element
	addr   uint64
	size   uint64 // stored (possibly filtered) size
	mask   uint32 // filters skipped for this chunk
}

// Attr returns the named attribute.
func (d *Dataset) Attr(name string) (Attribute, bool) {
	for _, a := range d.Attrs {
		if a.Name == name {
			return a, true
		}
	}
	return Attribute{}, false
}

// AttrErr reports attributes that could not be read (dense attribute
// storage); they are absent from Attrs.
func (d *Dataset) AttrErr() error { return d.attrErr }

// Len returns the number of elements.
func (d *Dataset) Len() int {
	n := 1
	for _, x := range d.Dims {
		n *= int(x)
	}
	return n
}

// Dataset opens the root-level dataset name.
func (f *File) Dataset(name string) (*Dataset, error) {
	ms, err := f.Members()
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		if m.Name == name {
			if m.Kind != KindDataset {
				return nil, fmt.Errorf("%s is not a dataset", name)
			}
			return f.openDataset(name, m.addr)
		}
	}
	return nil, fmt.Errorf("no dataset %q", name)
}

func (f *File) openDataset(name string, addr uint64) (*Dataset, error) {
	msgs, err := f.header(addr)
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %w", name, err)
	}
	ds := &Dataset{Name: name, f: f}
	var haveType, haveSpace, haveLayout bool
	for _, m := range msgs {
		switch m.typ {
		case msgDatatype:
			ds.Type, err = parseDatatype(m.data)
			haveType = true
		case msgDataspace:
			ds.Dims, ds.Scalar, err = f.parseDataspace(m.data)
			haveSpace = true
		case msgLayout:
			err = ds.parseLayout(m.data)
			haveLayout = true
		case msgFilters:
			ds.filters, err = f.parseFilters(m.data)
		case msgAttribute:
			var a Attribute
			if a, err = f.parseAttribute(m.data); err == nil {
				ds.Attrs = append(ds.Attrs, a)
			}
		case msgAttrInfo:
			d := decoder{b: m.data, f: f}
			d.skip(1)
			fl := d.u8()
			if fl&1 != 0 {
				d.skip(2)
			}
			if heap := d.off(); d.err == nil && heap != undef {
				ds.attrErr = fmt.Errorf("%w: dataset %s stores attributes densely (fractal heap)", ErrUnsupported, name)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("dataset %s: %w", name, err)
		}
	}
	if !haveType || !haveSpace || !haveLayout {
		return nil, fmt.Errorf("%w: dataset %s lacks its datatype, dataspace or layout message", ErrFormat, name)
	}
	for _, fl := range ds.filters {
		ds.Filters = append(ds.Filters, filterName(fl.id))
	}
	if ds.Storage == "chunked" && len(ds.Chunk) != len(ds.Dims) {
		return nil, fmt.Errorf("%w: dataset %s: chunk rank %d for %d dimensions", ErrFormat, name, len(ds.Chunk), len(ds.Dims))
	}
	return ds, nil
}

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

// convert decodes n values of type t from b, calling set for each.
func convert(t Datatype, b []byte, set func(i int, v float64), n int) {
	var bo binary.ByteOrder = binary.LittleEndian
	if t.BigEndian {
		bo = binary.BigEndian
	}
	s := t.Size
	for i := 0; i < n; i++ {
		e := b[i*s : i*s+s]
		var v float64
		switch {
		case t.Class == ClassFloat && s == 4:
			v = float64(math.Float32frombits(bo.Uint32(e)))
		case t.Class == ClassFloat && s == 8:
			v = math.Float64frombits(bo.Uint64(e))
		case s == 1 && t.Signed:
			v = float64(int8(e[0]))
		case s == 1:
			v = float64(e[0])
		case s == 2 && t.Signed:
			v = float64(int16(bo.Uint16(e)))
		case s == 2:
			v = float64(bo.Uint16(e))
		case s == 4 && t.Signed:
			v = float64(int32(bo.Uint32(e)))
		case s == 4:
			v = float64(bo.Uint32(e))
		case s == 8 && t.Signed:
			v = float64(int64(bo.Uint64(e)))
		default:
			v = float64(bo.Uint64(e))
		}
		set(i, v)
	}
}

// ReadFloat32 reads a numeric dataset converted to float32.
func (ds *Dataset) ReadFloat32() ([]float32, error) {
	if !ds.Type.Numeric() {
		return nil, fmt.Errorf("dataset %s: datatype %s is not numeric", ds.Name, ds.Type)
	}
	raw, err := ds.ReadRaw()
	if err != nil {
		return nil, err
	}
	n := ds.Len()
	out := make([]float32, n)
	if ds.Type.Class == ClassFloat && ds.Type.Size == 4 && !ds.Type.BigEndian {
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
		return out, nil
	}
	convert(ds.Type, raw, func(i int, v float64) { out[i] = float32(v) }, n)
	return out, nil
}
