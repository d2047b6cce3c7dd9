package cine

import (
	"fmt"
	"os"

	"github.com/okieraised/gonii"
)

// maxNIfTIVoxels bounds what ReadNIfTI converts (2^31 float32 = 8 GiB).
const maxNIfTIVoxels = 1 << 31

// ReadNIfTI reads a NIfTI-1/2 file (.nii or .nii.gz) into a Volume: voxels
// as float32 (scaled by scl_slope/scl_inter as gonii applies them), voxel
// sizes, and the sform affine (else the qform) when the file declares one.
func ReadNIfTI(path string) (v *Volume, err error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("nifti: %w", err)
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("nifti: %s: corrupt file (%v)", path, r)
		}
	}()
	rd, err := gonii.NewNiiReader(gonii.WithReadImageFile(path), gonii.WithReadRetainHeader(true))
	if err != nil {
		return nil, fmt.Errorf("nifti: %s: %w", path, err)
	}
	if err := rd.Parse(); err != nil {
		return nil, fmt.Errorf("nifti: %s: %w", path, err)
	}
	img := rd.GetNiiData()
	vox := img.GetVoxels()
	v = &Volume{NX: int(vox.GetDimX()), NY: int(vox.GetDimY()), NZ: max(1, int(vox.GetDimZ())), NT: max(1, int(vox.GetDimT()))}
	n := v.NX * v.NY * v.NZ * v.NT
	if v.NX <= 0 || v.NY <= 0 || n > maxNIfTIVoxels {
		return nil, fmt.Errorf("nifti: %s: unusable dimensions %dx%dx%dx%d", path, v.NX, v.NY, v.NZ, v.NT)
	}
	data := vox.GetDataset()
	if len(data) != n {
		return nil, fmt.Errorf("nifti: %s: %d voxels for %dx%dx%dx%d", path, len(data), v.NX, v.NY, v.NZ, v.NT)
	}
	v.Data = make([]float32, n)
	for i, x := range data {
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
