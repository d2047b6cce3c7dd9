package hdf5

import (
	"bytes"
	"fmt"
	"io"
)

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
