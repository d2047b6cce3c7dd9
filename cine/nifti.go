package cine

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/okieraised/gonii"
)

// Limits on what ReadNIfTI reads: 2^28 voxels (gonii holds them as float64,
// 2 GiB; a 4-D cine is 10^7) and 2 GiB of image data after decompression.
const (
	maxNIfTIVoxels = 1 << 28
	maxNIfTIBytes  = 1 << 31
)

// ReadNIfTI reads a NIfTI-1/2 file (.nii or .nii.gz) into a Volume: voxels
// as float32 (scaled by scl_slope/scl_inter as gonii applies them), voxel
// sizes, and the sform affine (else the qform) when the file declares one.
//
// The header is checked before any voxel is allocated: dimensions whose
// product exceeds the limits, or that need more bytes than the file holds,
// are an error naming them (gonii itself would allocate the declared size).
func ReadNIfTI(path string) (*Volume, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("nifti: %w", err)
	}
	defer f.Close()
	return DecodeNIfTI(path, f)
}

// DecodeNIfTI reads a NIfTI image (gzip-compressed or not) from r, as
// ReadNIfTI does; name labels messages.
func DecodeNIfTI(name string, r io.Reader) (v *Volume, err error) {
	br := bufio.NewReader(r)
	var src io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("nifti: %s: %w", name, err)
		}
		defer gz.Close()
		src = gz
	}
	data, err := io.ReadAll(io.LimitReader(src, maxNIfTIBytes+1))
	if err != nil {
		return nil, fmt.Errorf("nifti: %s: %w", name, err)
	}
	if len(data) > maxNIfTIBytes {
		return nil, fmt.Errorf("nifti: %s: more than %d GiB of image data", name, maxNIfTIBytes>>30)
	}
	if err := checkNIfTIHeader(data); err != nil {
		return nil, fmt.Errorf("nifti: %s: %w", name, err)
	}
	defer func() {
		if r := recover(); r != nil {
			v, err = nil, fmt.Errorf("nifti: %s: corrupt file (%v)", name, r)
		}
	}()
	rd, err := gonii.NewNiiReader(gonii.WithReadImageReader(bytes.NewReader(data)), gonii.WithReadRetainHeader(true))
	if err != nil {
		return nil, fmt.Errorf("nifti: %s: %w", name, err)
	}
	if err := rd.Parse(); err != nil {
		return nil, fmt.Errorf("nifti: %s: %w", name, err)
	}
	img := rd.GetNiiData()
	vox := img.GetVoxels()
	v = &Volume{NX: int(vox.GetDimX()), NY: int(vox.GetDimY()), NZ: max(1, int(vox.GetDimZ())), NT: max(1, int(vox.GetDimT()))}
	n := v.NX * v.NY * v.NZ * v.NT
	if v.NX <= 0 || v.NY <= 0 || n > maxNIfTIVoxels {
		return nil, fmt.Errorf("nifti: %s: unusable dimensions %dx%dx%dx%d", name, v.NX, v.NY, v.NZ, v.NT)
	}
	voxels := vox.GetDataset()
	if len(voxels) != n {
		return nil, fmt.Errorf("nifti: %s: %d voxels for %dx%dx%dx%d", name, len(voxels), v.NX, v.NY, v.NZ, v.NT)
	}
	v.Data = make([]float32, n)
	for i, x := range voxels {
		v.Data[i] = float32(x)
	}
	for i := 0; i < 3; i++ {
		v.Pixdim[i] = img.PixDim[i+1]
	}
	m := img.GetStoXYZMat()
	if img.GetSFormCode()[0] == '0' {
		m = img.GetQtoXYZMat()
	}
	for r := 0; r < 3; r++ {
		for c := 0; c < 4; c++ {
			v.Affine[r][c] = m.M[r][c]
		}
	}
	v.HasAffine = img.GetSFormCode()[0] != '0' || img.GetQFormCode()[0] != '0'
	return v, nil
}

// checkNIfTIHeader reads the NIfTI-1 or NIfTI-2 header at the start of
// data (either byte order) and checks that the image it declares is within
// the limits and held by data.
func checkNIfTIHeader(data []byte) error {
	if len(data) < 348 {
		return fmt.Errorf("%d bytes, shorter than a NIfTI header", len(data))
	}
	var order binary.ByteOrder = binary.LittleEndian
	size := order.Uint32(data)
	if size != 348 && size != 540 {
		order = binary.BigEndian
		size = order.Uint32(data)
	}
	var dims [8]int64
	var bitpix int64
	var offset float64
	switch size {
	case 348:
		for i := range dims {
			dims[i] = int64(int16(order.Uint16(data[40+2*i:])))
		}
		bitpix = int64(int16(order.Uint16(data[72:])))
		offset = float64(math.Float32frombits(order.Uint32(data[108:])))
	case 540:
		if len(data) < 540 {
			return fmt.Errorf("%d bytes, shorter than a NIfTI-2 header", len(data))
		}
		bitpix = int64(int16(order.Uint16(data[14:])))
		for i := range dims {
			dims[i] = int64(order.Uint64(data[16+8*i:]))
		}
		offset = float64(int64(order.Uint64(data[168:])))
	default:
		return errors.New("not a NIfTI file (sizeof_hdr is neither 348 nor 540)")
	}
	if dims[0] < 1 || dims[0] > 7 {
		return fmt.Errorf("dim[0] = %d: want 1–7", dims[0])
	}
	n := int64(1)
	for i := int64(1); i <= dims[0]; i++ {
		d := dims[i]
		if d < 1 {
			return fmt.Errorf("dimension %d is %d", i, d)
		}
		if n > maxNIfTIVoxels/d {
			return fmt.Errorf("dimensions %v declare more than %d voxels", dims[1:dims[0]+1], maxNIfTIVoxels)
		}
		n *= d
	}
	if bitpix <= 0 || bitpix > 256 || bitpix%8 != 0 {
		return fmt.Errorf("bitpix %d", bitpix)
	}
	if math.IsNaN(offset) || offset < 0 || offset > float64(len(data)) {
		return fmt.Errorf("vox_offset %g outside the %d bytes", offset, len(data))
	}
	if need := int64(offset) + n*bitpix/8; need > int64(len(data)) {
		return fmt.Errorf("dimensions %v × %d bits need %d bytes after the header; the file has %d", dims[1:dims[0]+1], bitpix, need-int64(offset), int64(len(data))-int64(offset))
	}
	// gonii allocates dim[1]·dim[2]·dim[3]·dim[4]·dim[5] (the last when
	// > 1) voxels whatever dim[0] says, after setting dim[3..5] ≤ 0 to 1:
	// fields beyond dim[0] must not declare more than the file holds
	// either (fuzzing found a 2-D image whose dim[5] of 2^40, and one whose
	// dim[4] of 2^62 beside a zero dim[3], made it ask for terabytes).
	g := int64(1)
	for i := 1; i <= 5; i++ {
		d := dims[i]
		if i >= 3 && d <= 0 {
			d = 1
		}
		if i == 5 && d <= 1 {
			continue
		}
		if d <= 0 {
			g = 0 // dim[1] or dim[2] ≤ 0: gonii's size is not positive, nothing is allocated
			break
		}
		if g > maxNIfTIBytes/d {
			return fmt.Errorf("dim[1..5] %v declare more than %d voxels", dims[1:6], int64(maxNIfTIBytes))
		}
		g *= d
	}
	if need := g * bitpix / 8; need > int64(len(data))-int64(offset) {
		return fmt.Errorf("dim[1..5] %v × %d bits need %d bytes after the header; the file has %d", dims[1:6], bitpix, need, int64(len(data))-int64(offset))
	}
	return nil
}
