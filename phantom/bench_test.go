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
