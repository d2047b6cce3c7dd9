package hdf5

import (
	"encoding/binary"
	"fmt"
	"math"
)

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
