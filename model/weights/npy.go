package weights

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// NumPy's .npy format: "\x93NUMPY", major and minor version bytes, a little-
// endian header length (2 bytes in v1, 4 in v2/v3), and a Python dict literal
// {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } padded with
// spaces to a multiple of 64, followed by the raw elements.

var npyDescr = map[string]DType{
	"<f8": F64, "<f4": F32, "<f2": F16, "<i8": I64, "<i4": I32, "<i2": I16,
	"|i1": I8, "|u1": U8, "|b1": Bool, "<u1": U8, "<i1": I8,
}

var npyWriteDescr = map[DType]string{
	F64: "<f8", F32: "<f4", F16: "<f2", I64: "<i8", I32: "<i4", I16: "<i2", I8: "|i1", U8: "|u1", Bool: "|b1",
}

var (
	reDescr   = regexp.MustCompile(`'descr'\s*:\s*'([^']*)'`)
	reFortran = regexp.MustCompile(`'fortran_order'\s*:\s*(True|False)`)
	reShape   = regexp.MustCompile(`'shape'\s*:\s*\(([^)]*)\)`)
)

// ParseNPY decodes one .npy array held in memory; name labels the tensor.
// Fortran-ordered arrays are transposed into C order.
func ParseNPY(name string, buf []byte) (*Tensor, error) {
	if len(buf) < 10 || string(buf[:6]) != "\x93NUMPY" {
		return nil, fmt.Errorf("npy %q: not a .npy array (bad magic)", name)
	}
	var hlen, start int
	switch buf[6] {
	case 1:
		hlen, start = int(binary.LittleEndian.Uint16(buf[8:])), 10
	case 2, 3:
		if len(buf) < 12 {
			return nil, fmt.Errorf("npy %q: truncated header", name)
		}
		hlen, start = int(binary.LittleEndian.Uint32(buf[8:])), 12
	default:
		return nil, fmt.Errorf("npy %q: unsupported format version %d.%d", name, buf[6], buf[7])
	}
	if start+hlen > len(buf) {
		return nil, fmt.Errorf("npy %q: header length %d exceeds %d bytes", name, hlen, len(buf))
	}
	hdr := string(buf[start : start+hlen])
	m := reDescr.FindStringSubmatch(hdr)
	if m == nil {
		return nil, fmt.Errorf("npy %q: header has no descr: %q", name, hdr)
	}
	dt, ok := npyDescr[m[1]]
	if !ok {
		return nil, fmt.Errorf("npy %q: unsupported dtype %q (want little-endian float/int/bool)", name, m[1])
	}
	fm := reFortran.FindStringSubmatch(hdr)
	sm := reShape.FindStringSubmatch(hdr)
	if fm == nil || sm == nil {
		return nil, fmt.Errorf("npy %q: header lacks fortran_order or shape: %q", name, hdr)
	}
	shape := []int{}
	for _, f := range strings.Split(sm[1], ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		d, err := strconv.Atoi(f)
		if err != nil || d < 0 {
			return nil, fmt.Errorf("npy %q: bad shape %q", name, sm[1])
		}
		shape = append(shape, d)
	}
	data := buf[start+hlen:]
	numel, err := checkedElements(shape)
	if err != nil {
		return nil, fmt.Errorf("npy %q: %w", name, err)
	}
	want := numel * dt.Size()
	if len(data) < want {
		return nil, fmt.Errorf("npy %q: %d data bytes for %s%v (want %d)", name, len(data), dt, shape, want)
	}
	t := &Tensor{Name: name, DType: dt, Shape: shape, Data: data[:want:want]}
	if fm[1] == "True" && len(shape) > 1 {
		t.Data = fortranToC(t.Data, shape, dt.Size())
	}
	return t, nil
}

// fortranToC reorders column-major elements into row-major order.
func fortranToC(src []byte, shape []int, es int) []byte {
	n := NumElements(shape)
	dst := make([]byte, len(src))
	rank := len(shape)
	idx := make([]int, rank)
	for c := 0; c < n; c++ { // c walks the C-order output
		f, stride := 0, 1
		for ax := 0; ax < rank; ax++ {
			f += idx[ax] * stride
			stride *= shape[ax]
		}
		copy(dst[c*es:(c+1)*es], src[f*es:(f+1)*es])
		for ax := rank - 1; ax >= 0; ax-- {
			idx[ax]++
			if idx[ax] < shape[ax] {
				break
			}
			idx[ax] = 0
		}
	}
	return dst
}

// WriteNPY writes t as a version-1.0 .npy array in C order.
func WriteNPY(w io.Writer, t *Tensor) error {
	descr, ok := npyWriteDescr[t.DType]
	if !ok {
		return fmt.Errorf("npy %q: cannot write dtype %s", t.Name, t.DType)
	}
	if want := NumElements(t.Shape) * t.DType.Size(); len(t.Data) != want {
		return fmt.Errorf("npy %q: %d bytes for %s%v", t.Name, len(t.Data), t.DType, t.Shape)
	}
	var shape strings.Builder
	for i, d := range t.Shape {
		if i > 0 {
			shape.WriteString(", ")
		}
		shape.WriteString(strconv.Itoa(d))
	}
	if len(t.Shape) == 1 {
		shape.WriteString(",")
	}
	hdr := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr, shape.String())
	total := 10 + len(hdr) + 1
	hdr += strings.Repeat(" ", (64-total%64)%64) + "\n"
	if len(hdr) > 65535 {
		return fmt.Errorf("npy %q: header too long", t.Name)
	}
	var pre [10]byte
	copy(pre[:], "\x93NUMPY\x01\x00")
	binary.LittleEndian.PutUint16(pre[8:], uint16(len(hdr)))
	if _, err := w.Write(pre[:]); err != nil {
		return err
	}
	if _, err := io.WriteString(w, hdr); err != nil {
		return err
	}
	_, err := w.Write(t.Data)
	return err
}

// ParseNPZ decodes a .npz archive (numpy.savez or savez_compressed): one
// tensor per "<name>.npy" member.
func ParseNPZ(r io.ReaderAt, size int64) (*Set, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("npz: %w", err)
	}
	s := NewSet()
	s.Format = "npz"
	for _, f := range zr.File {
		if !strings.HasSuffix(f.Name, ".npy") {
			return nil, fmt.Errorf("npz: member %q is not a .npy array", f.Name)
		}
		// Deflate expands at most 1032:1: a larger declared size is a lie,
		// and nothing beyond the declared size is read.
		if f.UncompressedSize64 > f.CompressedSize64*1032+1024 {
			return nil, fmt.Errorf("npz: member %q declares %d bytes from %d compressed", f.Name, f.UncompressedSize64, f.CompressedSize64)
		}
		rc, err := f.Open()
		if err != nil {
			return nil, fmt.Errorf("npz: member %q: %w", f.Name, err)
		}
		var buf bytes.Buffer
		n, err := io.Copy(&buf, io.LimitReader(rc, int64(f.UncompressedSize64)+1))
		rc.Close()
		if err == nil && uint64(n) > f.UncompressedSize64 {
			err = fmt.Errorf("more than the %d bytes declared", f.UncompressedSize64)
		}
		if err != nil {
			return nil, fmt.Errorf("npz: member %q: %w", f.Name, err)
		}
		name := strings.TrimSuffix(f.Name, ".npy")
		t, err := ParseNPY(name, buf.Bytes())
		if err != nil {
			return nil, fmt.Errorf("npz: %w", err)
		}
		s.Add(t)
	}
	return s, nil
}

// parseNPZBytes is ParseNPZ for an archive held in memory.
func parseNPZBytes(b []byte) (*Set, error) { return ParseNPZ(bytes.NewReader(b), int64(len(b))) }

// WriteNPZ writes the set as an uncompressed .npz archive.
func WriteNPZ(w io.Writer, s *Set) error {
	zw := zip.NewWriter(w)
	for _, name := range s.Names() {
		f, err := zw.CreateHeader(&zip.FileHeader{Name: name + ".npy", Method: zip.Store})
		if err != nil {
			return err
		}
		if err := WriteNPY(f, s.Tensors[name]); err != nil {
			return err
		}
	}
	return zw.Close()
}
