package streamgcm

import (
	"crypto/aes"
	"crypto/cipher"
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

func TestMulMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
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
		var got [16]byte
		mul(loadElement(x[:]), loadElement(h[:])).store(got[:])
		if want := slowMul(x, h); got != want {
			t.Fatalf("%x · %x = %x, want %x", x, h, got, want)
		}
	}
}

// referenceGHASH is SP 800-38D's GHASH over data (whole blocks) followed
// by the lengths block, with H from the block cipher, using slowMul.
func referenceGHASH(block cipher.Block, data []byte, aadLen, textLen uint64) [16]byte {
	var h, y, lengths [16]byte
	block.Encrypt(h[:], h[:])
	absorb := func(b []byte) {
		for j := range y {
			y[j] ^= b[j]
		}
		y = slowMul(y, h)
	}
	for ; len(data) > 0; data = data[16:] {
		absorb(data[:16])
	}
	binary.BigEndian.PutUint64(lengths[:8], aadLen*8)
	binary.BigEndian.PutUint64(lengths[8:], textLen*8)
	absorb(lengths[:])
	return y
}

// TestGHASHInPiecesMatchesReference: the stream hashed in pieces of any
// sizes, through crypto/cipher's GCM, gives GHASH of the whole.
func TestGHASHInPiecesMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	for _, keySize := range []int{16, 24, 32} {
		for trial := range 12 {
			key := make([]byte, keySize)
			for j := range key {
				key[j] = byte(r.Uint32())
			}
			block, err := aes.NewCipher(key)
			if err != nil {
				t.Fatal(err)
			}
			// Up to three buffers' worth, so that pieces are hashed from
			// the buffer, straight from the caller's bytes, and both.
			data := make([]byte, 16*r.IntN(3*pieceSize/16))
			for j := range data {
				data[j] = byte(r.Uint32())
			}
			var g ghash
			if err := g.init(block); err != nil {
				t.Fatal(err)
			}
			for rest := data; len(rest) > 0; {
				var n int
				switch trial % 3 {
				case 0:
					n = 16 * (1 + r.IntN(2)) // many one- and two-block bits
				case 1:
					n = 16 * (1 + r.IntN(80)) // BER segments of any size
				default:
					n = 16 * (1 + r.IntN(2*pieceSize/16)) // large reads
				}
				n = min(n, len(rest))
				g.update(rest[:n])
				rest = rest[n:]
			}
			aadLen, textLen := r.Uint64N(1<<40), r.Uint64N(1<<40)
			var got [16]byte
			g.final(aadLen, textLen, got[:])
			if want := referenceGHASH(block, data, aadLen, textLen); got != want {
				t.Fatalf("AES-%d, %d bytes: GHASH %x, want %x", keySize*8, len(data), got, want)
			}
		}
	}
}

// BenchmarkGHASH measures GHASH alone, in the 16 KiB pieces Stream hashes.
func BenchmarkGHASH(b *testing.B) {
	block, _ := aes.NewCipher([]byte("0123456789abcdef"))
	var g ghash
	g.init(block)
	buf := make([]byte, 64<<10)
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		for p := buf; len(p) > 0; p = p[hashChunk:] {
			g.update(p[:hashChunk])
		}
	}
}
