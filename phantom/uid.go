package phantom

import (
	"crypto/sha256"
	"encoding/binary"
	"math/big"
	"strconv"
)

// uidFor returns a deterministic UID of the form 2.25.<decimal UUID> (PS3.5
// §B.2): a version-4-shaped UUID from a SHA-256 of the cohort seed and the
// given parts, so every run with one seed names every object alike.
func uidFor(seed int64, parts ...any) string {
	h := sha256.New()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(seed))
	h.Write(b[:])
	for _, p := range parts {
		switch v := p.(type) {
		case string:
			h.Write([]byte(v))
		case int:
			binary.LittleEndian.PutUint64(b[:], uint64(v))
			h.Write(b[:])
		default:
			panic("phantom: uidFor part of unsupported type")
		}
		h.Write([]byte{0})
	}
	sum := h.Sum(nil)[:16]
	sum[6] = sum[6]&0x0f | 0x40 // version 4
	sum[8] = sum[8]&0x3f | 0x80 // RFC 4122 variant
	return "2.25." + new(big.Int).SetBytes(sum).String()
}

// mix64 derives a well-mixed 64-bit seed from a seed and a stream number.
func mix64(seed uint64, stream uint64) uint64 {
	z := seed + 0x9E3779B97F4A7C15*(stream+1)
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

func itoa(i int) string { return strconv.Itoa(i) }
