package hdf5

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"hash"
	"io"
	"os"
	"sort"
)

// The writer: superblock v0 (spec II.A), a root group whose v1 B-tree (III.A.1)
// points at symbol table nodes (III.B) naming datasets via a local heap
// (III.D), version-1 object headers (IV.A.1.a) and their messages (IV.A.2).

const (
	h5Undef      = ^uint64(0) // the undefined address
	h5LeafK      = 4          // group leaf node K: a symbol table node holds 2K entries
	h5InternalK  = 16         // group internal node K: a B-tree node holds 2K children
	h5EntrySize  = 40         // symbol table entry with 8-byte offsets
	h5SnodSize   = 8 + 2*h5LeafK*h5EntrySize
	h5BtreeSize  = 24 + 2*h5InternalK*8 + (2*h5InternalK+1)*8
	h5FreeNull   = 1 // libhdf5's on-disk "no free block" marker (H5HL_FREE_NULL)
	h5SuperSize  = 96
	h5MaxEntries = 2 * h5LeafK * 2 * h5InternalK
)

// Int32Attr is an int32 attribute: a scalar when Scalar is set (Values has
// one element), otherwise 1-D of len(Values), possibly empty.
type Int32Attr struct {
	Name   string
	Scalar bool
	Values []int32
}

// DatasetSpec is a dataset to write with contiguous storage: Data holds the
// values in C order, little-endian, of Type (the zero Type means uint8; the
// writer supports unsigned/signed integers, IEEE float32/float64 and
// fixed-length strings, see StringDataset). Dims nil (rank 0) is a scalar.
type DatasetSpec struct {
	Name string
	Dims []uint64
	Type Datatype
	Data []byte
	// Repeat, when > 1, writes Data that many times in a row as the
	// dataset's values (identical channel planes without a copy in memory).
	Repeat int
	Attrs  []Int32Attr
}

// size returns the number of value bytes written for d.
func (d DatasetSpec) size() uint64 { return uint64(len(d.Data)) * uint64(max(d.Repeat, 1)) }

func (d DatasetSpec) dtype() Datatype {
	if d.Type.Size == 0 {
		return Datatype{Class: ClassFixed, Size: 1}
	}
	return d.Type
}

// Write writes datasets as the members of the root group of a new file.
func Write(w io.Writer, datasets []DatasetSpec) error {
	if len(datasets) == 0 {
		return fmt.Errorf("hdf5: no datasets")
	}
	if len(datasets) > h5MaxEntries {
		return fmt.Errorf("hdf5: %d datasets exceed the writer's limit of %d", len(datasets), h5MaxEntries)
	}
	ds := append([]DatasetSpec(nil), datasets...)
	// Symbol table nodes are searched by name: keep them sorted.
	sort.Slice(ds, func(i, j int) bool { return ds[i].Name < ds[j].Name })
	for i, d := range ds {
		if i > 0 && d.Name == ds[i-1].Name {
			return fmt.Errorf("hdf5: duplicate dataset name %q", d.Name)
		}
		t := d.dtype()
		if (!t.Numeric() && t.Class != ClassString) || t.BigEndian {
			return fmt.Errorf("hdf5: dataset %s: cannot write type %s", d.Name, t)
		}
		n := uint64(t.Size)
		for _, x := range d.Dims {
			n *= x
		}
		if n != d.size() {
			return fmt.Errorf("hdf5: dataset %s: %d bytes for shape %v", d.Name, d.size(), d.Dims)
		}
	}

	// Local heap data: "" at offset 0, then each name NUL-terminated and
	// padded to 8 bytes.
	heap := make([]byte, 8)
	nameOff := make([]uint64, len(ds))
	for i, d := range ds {
		nameOff[i] = uint64(len(heap))
		heap = append(heap, d.Name...)
		heap = append(heap, 0)
		heap = pad8(heap)
	}
	headers := make([][]byte, len(ds))
	for i := range ds {
		headers[i] = datasetHeader(ds[i], 0) // sized now, addressed below
	}
	nSnod := (len(ds) + 2*h5LeafK - 1) / (2 * h5LeafK)

	// Addresses, in file order.
	var (
		rootOH   = uint64(h5SuperSize)
		rootSize = uint64(16 + 8 + 16)
		heapHdr  = rootOH + rootSize
		heapData = heapHdr + 32
		btree    = heapData + uint64(len(heap))
		snod0    = btree + h5BtreeSize
		next     = snod0 + uint64(nSnod)*h5SnodSize
	)
	ohAddr := make([]uint64, len(ds))
	dataAddr := make([]uint64, len(ds))
	for i := range ds {
		ohAddr[i] = next
		dataAddr[i] = next + uint64(len(headers[i]))
		next = dataAddr[i] + ds[i].size()
		next = (next + 7) &^ 7
		headers[i] = datasetHeader(ds[i], dataAddr[i])
	}
	eof := next

	bw := bufio.NewWriterSize(w, 1<<20)
	var b []byte
	// Superblock v0.
	b = append(b, "\x89HDF\r\n\x1a\n"...)
	b = append(b, 0, 0, 0, 0, 0, 8, 8, 0) // versions, offset and length sizes
	b = le16(b, h5LeafK)
	b = le16(b, h5InternalK)
	b = le32(b, 0)
	b = le64(b, 0)       // base address
	b = le64(b, h5Undef) // free-space info
	b = le64(b, eof)
	b = le64(b, h5Undef) // driver info
	b = symbolEntry(b, 0, rootOH, 1, btree, heapHdr)
	// Root group object header: one symbol table message.
	msg := le64(le64(nil, btree), heapHdr)
	b = append(b, objectHeaderV1([]h5Msg{{0x0011, msg}})...)
	// Local heap.
	b = append(b, "HEAP"...)
	b = append(b, 0, 0, 0, 0)
	b = le64(b, uint64(len(heap)))
	b = le64(b, h5FreeNull)
	b = le64(b, heapData)
	b = append(b, heap...)
	// Group B-tree: one leaf level node whose children are the symbol table nodes.
	node := append([]byte("TREE"), 0, 0)
	node = le16(node, uint16(nSnod))
	node = le64(node, h5Undef)
	node = le64(node, h5Undef)
	node = le64(node, 0) // key 0: the empty name
	for k := 0; k < nSnod; k++ {
		node = le64(node, snod0+uint64(k)*h5SnodSize)
		last := min((k+1)*2*h5LeafK, len(ds)) - 1
		node = le64(node, nameOff[last]) // key k+1: the largest name in child k
	}
	b = append(b, node...)
	b = append(b, make([]byte, h5BtreeSize-len(node))...)
	// Symbol table nodes.
	for k := 0; k < nSnod; k++ {
		lo, hi := k*2*h5LeafK, min((k+1)*2*h5LeafK, len(ds))
		sn := append([]byte("SNOD"), 1, 0)
		sn = le16(sn, uint16(hi-lo))
		for i := lo; i < hi; i++ {
			sn = symbolEntry(sn, nameOff[i], ohAddr[i], 0, 0, 0)
		}
		b = append(b, sn...)
		b = append(b, make([]byte, h5SnodSize-len(sn))...)
	}
	if _, err := bw.Write(b); err != nil {
		return err
	}
	for i, d := range ds {
		if _, err := bw.Write(headers[i]); err != nil {
			return err
		}
		for r := 0; r < max(d.Repeat, 1); r++ {
			if _, err := bw.Write(d.Data); err != nil {
				return err
			}
		}
		if p := (8 - d.size()%8) % 8; p > 0 {
			if _, err := bw.Write(make([]byte, p)); err != nil {
				return err
			}
		}
	}
	return bw.Flush()
}

type h5Msg struct {
	typ  uint16
	data []byte
}

// objectHeaderV1 encodes a version-1 object header (12-byte prefix padded to
// 16, messages 8-byte aligned).
func objectHeaderV1(msgs []h5Msg) []byte {
	var body []byte
	for _, m := range msgs {
		d := pad8(append([]byte(nil), m.data...))
		body = le16(body, m.typ)
		body = le16(body, uint16(len(d)))
		body = append(body, 0, 0, 0, 0) // flags, reserved
		body = append(body, d...)
	}
	h := []byte{1, 0}
	h = le16(h, uint16(len(msgs)))
	h = le32(h, 1) // reference count
	h = le32(h, uint32(len(body)))
	h = append(h, 0, 0, 0, 0)
	return append(h, body...)
}

func datasetHeader(d DatasetSpec, dataAddr uint64) []byte {
	msgs := []h5Msg{
		{0x0001, dataspaceV1(d.Dims, false)},
		{0x0003, encodeType(d.dtype())},
		{0x0005, []byte{2, 1, 2, 0}}, // fill value v2: early allocation, never write fill, undefined
		{0x0008, le64(le64([]byte{3, 1}, dataAddr), d.size())},
	}
	for _, a := range d.Attrs {
		msgs = append(msgs, h5Msg{0x000C, attrMessage(a)})
	}
	return objectHeaderV1(msgs)
}

// dataspaceV1 encodes a simple dataspace; rank 0 is a scalar.
func dataspaceV1(dims []uint64, scalar bool) []byte {
	if scalar {
		dims = nil
	}
	b := []byte{1, byte(len(dims)), 0, 0, 0, 0, 0, 0}
	for _, x := range dims {
		b = le64(b, x)
	}
	return b
}

// fixedType encodes a little-endian fixed-point datatype of size bytes.
func fixedType(size int, signed bool) []byte {
	var bits byte
	if signed {
		bits = 0x08
	}
	b := []byte{0x10, bits, 0, 0} // version 1, class 0 (fixed point)
	b = le32(b, uint32(size))
	b = le16(b, 0)
	return le16(b, uint16(8*size))
}

// encodeType encodes a little-endian numeric datatype message.
func encodeType(t Datatype) []byte {
	if t.Class == ClassString {
		return stringType(t.Size)
	}
	if t.Class != ClassFloat {
		return fixedType(t.Size, t.Signed)
	}
	// IEEE 754: byte 0 of the bit field has mantissa normalisation 2 (implied
	// leading 1); byte 1 is the sign bit's position.
	b := []byte{0x11, 0x20, byte(8*t.Size - 1), 0}
	b = le32(b, uint32(t.Size))
	b = le16(b, 0)
	b = le16(b, uint16(8*t.Size))
	if t.Size == 4 {
		b = append(b, 23, 8, 0, 23) // exponent location, size; mantissa location, size
		return le32(b, 127)
	}
	b = append(b, 52, 11, 0, 52)
	return le32(b, 1023)
}

func attrMessage(a Int32Attr) []byte {
	name := append([]byte(a.Name), 0)
	dt := fixedType(4, true)
	sp := dataspaceV1([]uint64{uint64(len(a.Values))}, a.Scalar)
	b := []byte{1, 0}
	b = le16(b, uint16(len(name)))
	b = le16(b, uint16(len(dt)))
	b = le16(b, uint16(len(sp)))
	b = append(b, pad8(name)...)
	b = append(b, pad8(dt)...)
	b = append(b, pad8(sp)...)
	for _, v := range a.Values {
		b = le32(b, uint32(v))
	}
	return b
}

func symbolEntry(b []byte, nameOff, header uint64, cache uint32, btree, heap uint64) []byte {
	b = le64(b, nameOff)
	b = le64(b, header)
	b = le32(b, cache)
	b = le32(b, 0)
	b = le64(b, btree)
	return le64(b, heap)
}

func pad8(b []byte) []byte {
	for len(b)%8 != 0 {
		b = append(b, 0)
	}
	return b
}

func le16(b []byte, v uint16) []byte { return binary.LittleEndian.AppendUint16(b, v) }
func le32(b []byte, v uint32) []byte { return binary.LittleEndian.AppendUint32(b, v) }
func le64(b []byte, v uint64) []byte { return binary.LittleEndian.AppendUint64(b, v) }

// WriteFile writes datasets to the named file.
func WriteFile(name string, datasets []DatasetSpec) error {
	return WriteFileHash(name, datasets, nil)
}

// WriteFileHash is WriteFile that also feeds every byte written to h (when
// not nil), so a caller gets the file's checksum without reading it back.
func WriteFileHash(name string, datasets []DatasetSpec, h hash.Hash) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	var w io.Writer = f
	if h != nil {
		w = io.MultiWriter(f, h)
	}
	if err := Write(w, datasets); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
