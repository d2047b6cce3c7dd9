package cine_test

import (
	"testing"

	"github.com/cmrfm/cmrfm/cine"
	"github.com/cmrfm/cmrfm/dicom"
)

// BenchmarkAssembleSunnybrook: the whole SCD0000101 study (240 cine + 15
// scout files) from disk to the ordered 12×20 cine: read, parse, group, order,
// decode every frame and fill a 3-channel uint8 video (stored value >> 2,
// clamped). bench/dicom/bench_pydicom.py times pydicom doing the same.
func BenchmarkAssembleSunnybrook(b *testing.B) {
	cineFiles, scoutFiles := sunnybrook(b)
	files := append(append([]string(nil), cineFiles...), scoutFiles...)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		var images []cine.Image
		parsed := map[string]*dicom.File{}
		for _, p := range files {
			f, err := dicom.ReadFile(p)
			if err != nil {
				b.Fatal(err)
			}
			ims, err := f.Images()
			if err != nil {
				b.Fatal(err)
			}
			parsed[p] = f
			images = append(images, ims...)
		}
		var sax *cine.Series
		for _, s := range cine.Assemble(images, cine.AssembleOptions{}) {
			if s.SeriesNumber == "300" {
				sax = s
			}
		}
		v, err := sax.Video(3, func(_ int, img cine.Image, plane []uint8) error {
			px, err := parsed[img.File].Decode(dicom.DecodeOptions{})
			if err != nil {
				return err
			}
			for k, x := range px.Frame(img.Frame) {
				plane[k] = uint8(min(255, max(0, x>>2)))
			}
			return nil
		})
		if err != nil || v.F != 240 {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(files))*float64(b.N)/b.Elapsed().Seconds(), "files/s")
}
