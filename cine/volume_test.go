package cine_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/cmrfm/cmrfm/cine"
	"github.com/cmrfm/cmrfm/internal/testenv"
)

// readNIfTI reads a NIfTI file into a cine.Volume.
func readNIfTI(t testing.TB, path string) *cine.Volume {
	t.Helper()
	v, err := cine.ReadNIfTI(path)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// ACDC patient090's 4-D cine (154x224x7x12): 7 slices of 12 frames, frame 4
// equal to the separate ED volume, and slices base→apex by the expert
// segmentation (LV cavity shrinking to the apex). ACDC's sform is a
// placeholder, so the file's k order is kept (with a warning).
func TestACDCPatient090(t *testing.T) {
	dir := testenv.SharedData(t, "acdc", "patient090")
	v := readNIfTI(t, dir+"/patient090_4d.nii.gz")
	if v.NX != 154 || v.NY != 224 || v.NZ != 7 || v.NT != 12 {
		t.Fatalf("4-D shape %dx%dx%dx%d", v.NX, v.NY, v.NZ, v.NT)
	}
	vc, err := v.Video(cine.VolumeOptions{Channels: 3})
	if err != nil {
		t.Fatal(err)
	}
	vid := vc.Video
	if err := vid.Validate(); err != nil {
		t.Fatal(err)
	}
	if vid.Shape() != [4]int{3, 84, 154, 224} || fmt.Sprint(vid.SliceFrames) != "[11 23 35 47 59 71]" || fmt.Sprint(vc.SliceOrder) != "[0 1 2 3 4 5 6]" {
		t.Fatalf("shape %v slice_frames %v order %v", vid.Shape(), vid.SliceFrames, vc.SliceOrder)
	}
	if len(vc.Warnings) != 1 || !errors.Is(vc.Warnings[0], cine.ErrNoGeometry) {
		t.Errorf("warnings %v, want ErrNoGeometry for ACDC's placeholder affine", vc.Warnings)
	}
	// Info.cfg: ED = frame 4 (1-based); the ED volume file is the 4-D t=3.
	ed := readNIfTI(t, dir+"/patient090_frame04.nii.gz")
	gt := readNIfTI(t, dir+"/patient090_frame04_gt.nii.gz")
	areas := make([]int, v.NZ)
	for s := 0; s < v.NZ; s++ {
		k := vc.SliceOrder[s]
		for x := 0; x < v.NX; x++ {
			for y := 0; y < v.NY; y++ {
				i := x + v.NX*(y+v.NY*k)
				if got, want := vid.At(2, s*v.NT+3, x, y), ed.Data[i]; got != want {
					t.Fatalf("slice %d ED frame (%d,%d) = %g, ED volume %g", s, x, y, got, want)
				}
				if gt.Data[i] == 3 {
					areas[s]++
				}
			}
		}
	}
	t.Logf("ED LV cavity area per video slice: %v", areas)
	for s := 0; s < v.NZ-1; s++ {
		if areas[s] <= areas[v.NZ-1] {
			t.Errorf("the last (apical) slice's LV cavity %d px is not the smallest (slice %d: %d)", areas[v.NZ-1], s, areas[s])
		}
	}
	if areas[0] <= areas[v.NZ-1]*2 {
		t.Errorf("basal LV cavity %d not well above apical %d", areas[0], areas[v.NZ-1])
	}
}

// A volume with a real affine whose k axis points to the base is reversed.
func TestVolumeBaseToApexFlips(t *testing.T) {
	v := &cine.Volume{NX: 2, NY: 2, NZ: 3, NT: 2, Pixdim: [3]float64{1, 1, 8}, HasAffine: true}
	v.Data = make([]float32, 24)
	for i := range v.Data {
		v.Data[i] = float32(i)
	}
	// k axis along RAS +z·8 = LPS (0,0,8): points superior, away from the apex.
	v.Affine = [3][4]float64{{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 8, 0}}
	vc, err := v.Video(cine.VolumeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(vc.SliceOrder) != "[2 1 0]" || len(vc.Warnings) != 0 {
		t.Fatalf("order %v warnings %v", vc.SliceOrder, vc.Warnings)
	}
	// video slice 0 frame 1 is k=2, t=1: voxels 4*(2+3*1) ... , plane transposed (h=x, w=y)
	if got := vc.Video.At(0, 1, 0, 1); got != float32(4*(2+3*1)+0+2*1) {
		t.Errorf("voxel (x=0,y=1,k=2,t=1) = %g", got)
	}
}
