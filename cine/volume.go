package cine

import (
	"fmt"
	"math"
)

// Volume is a 4-D image as NIfTI stores it: NX·NY·NZ·NT voxels, x fastest
// (index x + NX·(y + NY·(z + NZ·t))), with its voxel sizes and, when the file
// has one, the voxel-to-world affine in NIfTI's RAS millimetres.
type Volume struct {
	NX, NY, NZ, NT int
	Data           []float32
	// Pixdim holds the voxel sizes (mm) along x, y, z.
	Pixdim [3]float64
	// Affine maps voxel (i, j, k, 1) to RAS (x, y, z) (sform, else qform);
	// HasAffine is false when the file has neither.
	Affine    [3][4]float64
	HasAffine bool
}

// VolumeOptions controls Volume.Video.
type VolumeOptions struct {
	// Order of the z slices: BaseToApex (default) or AlongNormal
	// (increasing k, the file's order).
	Order SliceOrder
	// Channels of the output (default 1).
	Channels int
}

// VolumeCine is a volume converted to a cine: the video, the file's k index
// of each video slice, and what could not be trusted.
type VolumeCine struct {
	Video *Video
	// SliceOrder[s] is the z index (k) of video slice s.
	SliceOrder []int
	// Warnings: ErrNoGeometry when BaseToApex could not use the affine.
	Warnings []error
}

// Video returns the volume as a float32 cine Video with the reference's
// layout for NIfTI input (docs/reference.md §2.8 reads NIfTI [H,W,S,F] as is):
// h = x, w = y, every z slice a run of NT frames, slices ordered per
// opt.Order with SliceFrames marking the boundaries (none for one slice).
//
// BaseToApex applies the rule Assemble uses for DICOM: the k axis, taken to
// LPS (x and y negated), is flipped when it points away from the nominal
// apex direction (1,−1,−1)/√3. The affine is trusted only if its column
// lengths equal Pixdim within 1 %: placeholder affines (ACDC's sform is
// diag(−1, −1, 1) whatever the voxel size) carry no orientation, and then the
// file's k order is kept with an ErrNoGeometry warning.
func (v *Volume) Video(opt VolumeOptions) (*VolumeCine, error) {
	n := v.NX * v.NY
	if v.NX <= 0 || v.NY <= 0 || v.NZ <= 0 || v.NT <= 0 || len(v.Data) != n*v.NZ*v.NT {
		return nil, fmt.Errorf("cine: volume %dx%dx%dx%d with %d voxels", v.NX, v.NY, v.NZ, v.NT, len(v.Data))
	}
	c := opt.Channels
	if c <= 0 {
		c = 1
	}
	res := &VolumeCine{SliceOrder: make([]int, v.NZ)}
	for k := range res.SliceOrder {
		res.SliceOrder[k] = k
	}
	if opt.Order == BaseToApex && v.NZ > 1 {
		if !v.affineTrusted() {
			res.Warnings = append(res.Warnings, fmt.Errorf("%w: the NIfTI affine is absent or does not match the voxel sizes %v; slices kept in file (k) order", ErrNoGeometry, v.Pixdim))
		} else {
			kLPS := [3]float64{-v.Affine[0][2], -v.Affine[1][2], v.Affine[2][2]}
			if dot(kLPS, apex) < 0 {
				o := res.SliceOrder
				for i, j := 0, len(o)-1; i < j; i, j = i+1, j-1 {
					o[i], o[j] = o[j], o[i]
				}
			}
		}
	}
	out := &Video{C: c, F: v.NZ * v.NT, H: v.NX, W: v.NY, Float: make([]float32, c*v.NZ*v.NT*n), TotalImages: int32(v.NZ * v.NT)}
	for s, k := range res.SliceOrder {
		for t := 0; t < v.NT; t++ {
			f := s*v.NT + t
			src := v.Data[(k+v.NZ*t)*n : (k+v.NZ*t+1)*n]
			dst := out.Float[out.Offset(0, f, 0, 0):]
			// NIfTI is x-fastest; the video plane is h = x rows, w = y columns.
			for x := 0; x < v.NX; x++ {
				for y := 0; y < v.NY; y++ {
					dst[x*v.NY+y] = src[x+v.NX*y]
				}
			}
			for ch := 1; ch < c; ch++ {
				copy(out.Float[out.Offset(ch, f, 0, 0):out.Offset(ch, f, 0, 0)+n], dst[:n])
			}
		}
	}
	counts := make([]int, v.NZ)
	for i := range counts {
		counts[i] = v.NT
	}
	out.SliceFrames = SliceFramesFor(counts)
	res.Video = out
	return res, nil
}

func (v *Volume) affineTrusted() bool {
	if !v.HasAffine {
		return false
	}
	for c := 0; c < 3; c++ {
		l := math.Sqrt(v.Affine[0][c]*v.Affine[0][c] + v.Affine[1][c]*v.Affine[1][c] + v.Affine[2][c]*v.Affine[2][c])
		if v.Pixdim[c] <= 0 || math.Abs(l-v.Pixdim[c]) > 0.01*v.Pixdim[c] {
			return false
		}
	}
	return true
}
