package hdf5

import (
	"bytes"
	"fmt"
	"unicode/utf8"
)

// ClassString is the fixed-length string datatype class (spec IV.A.2.d,
// class 3). The writer emits null-padded UTF-8 strings, which h5py reads as
// bytes (numpy dtype S<size>; .astype(str) or .asstr() decodes them) and
// h5dump prints as strings.
const ClassString Class = 3

// stringType encodes a fixed-length, null-padded, UTF-8 string datatype of
// size bytes.
func stringType(size int) []byte {
	b := []byte{0x13, 0x01 | 0x10, 0, 0} // version 1, class 3; padding 1 (null pad), charset 1 (UTF-8)
	return le32(b, uint32(size))
}

// StringDataset returns a dataset of fixed-length strings, as long as the
// longest value (at least 1 byte), each null-padded: 1-D of len(values), or
// a scalar when scalar is set (values must then hold one string).
func StringDataset(name string, values []string, scalar bool) (DatasetSpec, error) {
	if scalar && len(values) != 1 {
		return DatasetSpec{}, fmt.Errorf("hdf5: dataset %s: a scalar holds one string, got %d", name, len(values))
	}
	size := 1
	for i, v := range values {
		if !utf8.ValidString(v) {
			return DatasetSpec{}, fmt.Errorf("hdf5: dataset %s: value %d is not valid UTF-8", name, i)
		}
		if bytes.IndexByte([]byte(v), 0) >= 0 {
			return DatasetSpec{}, fmt.Errorf("hdf5: dataset %s: value %d holds a NUL byte", name, i)
		}
		size = max(size, len(v))
	}
	data := make([]byte, size*len(values))
	for i, v := range values {
		copy(data[i*size:], v)
	}
	d := DatasetSpec{Name: name, Type: Datatype{Class: ClassString, Size: size}, Data: data}
	if !scalar {
		d.Dims = []uint64{uint64(len(values))}
	}
	return d, nil
}

// ReadStrings reads a fixed-length string dataset: each value up to its
// first NUL (null-terminated or null-padded) with trailing spaces kept
// (space padding is not undone). A scalar gives one value.
func (ds *Dataset) ReadStrings() ([]string, error) {
	if ds.Type.Class != ClassString {
		return nil, fmt.Errorf("dataset %s: datatype %s is not a fixed-length string", ds.Name, ds.Type)
	}
	size := ds.Type.Size
	if size <= 0 {
		return nil, fmt.Errorf("%w: dataset %s: string size %d", ErrFormat, ds.Name, size)
	}
	raw, err := ds.ReadRaw()
	if err != nil {
		return nil, err
	}
	n := ds.Len()
	out := make([]string, n)
	for i := range n {
		v := raw[i*size : (i+1)*size]
		if k := bytes.IndexByte(v, 0); k >= 0 {
			v = v[:k]
		}
		out[i] = string(v)
	}
	return out, nil
}
