package streamgcm

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// slowMul is Algorithm 1 of SP 800-38D, bit by bit, as an independent
// reference for the table-driven multiplication.
func slowMul(x, y [16]byte) [16]byte {
	var z [16]byte
	v := y
	for i := range 128 {
		if x[i/8]>>(7-i%8)&1 == 1 {
			for j := range z {
				z[j] ^= v[j]
			}
		}
		lsb := v[15] & 1
		for j := 15; j > 0; j-- {
			v[j] = v[j]>>1 | v[j-1]<<7
		}
		v[0] >>= 1
		if lsb == 1 {
			v[0] ^= 0xe1
		}
	}
	return z
}

func TestMulHMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	var g ghash
	for i := range 2000 {
		var h, x [16]byte
		for j := range 16 {
			h[j], x[j] = byte(r.Uint32()), byte(r.Uint32())
		}
		if i < 16 {
			// Sparse operands reach the reduction edge cases.
			h, x = [16]byte{}, [16]byte{}
			h[15-i] = 1
			x[i] = 0x80 >> (i % 8)
		}
		g.init(h[:])
		got := g.mulH(fieldElement{binary.BigEndian.Uint64(x[:8]), binary.BigEndian.Uint64(x[8:])})
		var gotBytes [16]byte
		binary.BigEndian.PutUint64(gotBytes[:8], got.hi)
		binary.BigEndian.PutUint64(gotBytes[8:], got.lo)
		if want := slowMul(x, h); gotBytes != want {
			t.Fatalf("%x · %x = %x, want %x", x, h, gotBytes, want)
		}
	}
}

// BenchmarkGHASH measures GHASH alone, the part we implement ourselves.
func BenchmarkGHASH(b *testing.B) {
	var g ghash
	g.init([]byte("0123456789abcdef"))
	buf := make([]byte, 64<<10)
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		g.update(buf)
	}
}
