package data

import "math/rand/v2"

// Stream names keep the random streams of different uses of the same
// (seed, epoch, index) apart.
const (
	streamSample  uint64 = 0x5a3d // clip/bag selection and transforms
	streamShuffle uint64 = 0x7e11 // epoch order
	streamSubset  uint64 = 0x2c4b // data-fraction subsampling
)

// splitmix64 is the SplitMix64 finaliser: a bijective mix of a 64-bit value.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// NewRNG returns the random generator of item index in epoch epoch of a run
// seeded with seed: a PCG (math/rand/v2) whose state depends only on these
// three numbers, so an item gets the same draws whichever worker loads it
// and whenever it is loaded.
func NewRNG(seed uint64, epoch, index int) *rand.Rand {
	return newStream(seed, streamSample, uint64(epoch), uint64(index))
}

func newStream(seed, stream, a, b uint64) *rand.Rand {
	hi := splitmix64(seed ^ splitmix64(stream^splitmix64(a)))
	lo := splitmix64(hi ^ splitmix64(b+0x632be59bd9b4e019))
	return rand.New(rand.NewPCG(hi, lo))
}

// Permutation returns the order in which epoch epoch visits n items: a
// seeded shuffle (the reference's shuffle=True train loader), the same for
// every worker count.
func Permutation(seed uint64, epoch, n int) []int {
	return newStream(seed, streamShuffle, uint64(epoch), uint64(n)).Perm(n)
}
