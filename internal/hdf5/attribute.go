package hdf5

import (
	"bytes"
	"fmt"
)

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
