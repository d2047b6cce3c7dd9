package hdf5

import (
	"errors"
	"fmt"
	"io"
	"os"
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

func (d *decoder) u8() uint8 { return uint8(d.uint(1)) }

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

func (d *decoder) skip(n int) { d.bytes(n) }

func (d *decoder) align8(from int) {
	if r := (d.p - from) % 8; r != 0 {
		d.skip(8 - r)
	}
}
