package hdf5

import (
	"encoding/binary"
	"fmt"
)

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
