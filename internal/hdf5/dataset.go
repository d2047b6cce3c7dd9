package hdf5

import (
	"fmt"
)

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
