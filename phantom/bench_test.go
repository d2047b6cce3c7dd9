package phantom

import (
	"context"
	"testing"
)

// BenchmarkGenerateStudy writes one default study (classic files) per iteration.
func BenchmarkGenerateStudy(b *testing.B) {
	for i := 0; i < b.N; i++ {
		dir := b.TempDir()
		if _, err := Generate(context.Background(), Options{Studies: 1, Out: dir, Seed: int64(i)}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRenderFrame renders one 256×256 mid-ventricular SAX frame
// (heart classification, blur, shading, noise, quantisation).
func BenchmarkRenderFrame(b *testing.B) {
	s, err := NewSubject(3, SubjectOptions{Frames: 25})
	if err != nil {
		b.Fatal(err)
	}
	p := s.PlanSAX(Planning{Rows: 256, Cols: 256, FOV: 360})[4]
	var sc scratch
	pr := s.newPlaneRenderInto(p, 0.35, &sc)
	im := newImagerInto(RenderOptions{}, p.Rows, p.Cols, &sc)
	cls := make([]tissue, p.Rows*p.Cols)
	pix := make([]byte, 2*p.Rows*p.Cols)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		pr.classify(float64(i%25)/25, cls)
		im.stored(cls, pr.shade, uint64(i), 1, 0, pix)
	}
}

// BenchmarkImageFormation forms one 256×256 image from tissue classes
// (fat–water line, blur, shading, Rician noise, 12-bit quantisation).
func BenchmarkImageFormation(b *testing.B) {
	s, err := NewSubject(3, SubjectOptions{Frames: 25})
	if err != nil {
		b.Fatal(err)
	}
	p := s.PlanSAX(Planning{Rows: 256, Cols: 256, FOV: 360})[4]
	var sc scratch
	pr := s.newPlaneRenderInto(p, 0.35, &sc)
	im := newImagerInto(RenderOptions{}, p.Rows, p.Cols, &sc)
	cls := make([]tissue, p.Rows*p.Cols)
	pr.classify(0, cls)
	pix := make([]byte, 2*p.Rows*p.Cols)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		im.stored(cls, pr.shade, uint64(i), 1, 0, pix)
	}
}
