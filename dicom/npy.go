package dicom

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"strings"
)

// DType returns the NumPy dtype of the stored values: <u1, <i1, <u2, <i2,
// <u4 or <i4 after BitsAllocated and PixelRepresentation.
func (p *Pixels) DType() string {
	k := "u"
	if p.Signed {
		k = "i"
	}
	return fmt.Sprintf("<%s%d", k, p.BitsAllocated/8)
}

// StoredBytes returns Data in the stored integer type, little endian — the
// bytes of pydicom's pixel_array.astype('<' + dtype).tobytes(), which the
// md5 oracles of the test data hash.
func (p *Pixels) StoredBytes() []byte {
	w := p.BitsAllocated / 8
	out := make([]byte, len(p.Data)*w)
	switch w {
	case 1:
		for i, v := range p.Data {
			out[i] = byte(v)
		}
	case 2:
		for i, v := range p.Data {
			binary.LittleEndian.PutUint16(out[2*i:], uint16(v))
		}
	default:
		for i, v := range p.Data {
			binary.LittleEndian.PutUint32(out[4*i:], uint32(v))
		}
	}
	return out
}

// Shape returns the array shape of Data: (frames, rows, cols), plus samples
// for colour images.
func (p *Pixels) Shape() []int {
	if p.Samples > 1 {
		return []int{p.Frames, p.Rows, p.Cols, p.Samples}
	}
	return []int{p.Frames, p.Rows, p.Cols}
}

// WriteNPY writes the stored values as a NumPy .npy (format 1.0) array of
// Shape() and DType().
func (p *Pixels) WriteNPY(w io.Writer) error {
	dims := make([]string, len(p.Shape()))
	for i, d := range p.Shape() {
		dims[i] = fmt.Sprint(d)
	}
	header := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", p.DType(), strings.Join(dims, ", "))
	// magic(6) + version(2) + len(2) + header + '\n', padded to 64 bytes.
	total := 10 + len(header) + 1
	pad := (64 - total%64) % 64
	header += strings.Repeat(" ", pad) + "\n"
	bw := bufio.NewWriter(w)
	bw.WriteString("\x93NUMPY\x01\x00")
	binary.Write(bw, binary.LittleEndian, uint16(len(header)))
	bw.WriteString(header)
	bw.Write(p.StoredBytes())
	return bw.Flush()
}
