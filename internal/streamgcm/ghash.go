package streamgcm

import "encoding/binary"

// GHASH (NIST SP 800-38D §6.4) in pure Go.
//
// A field element of GF(2^128) is held as two uint64 halves loaded big-endian
// from its 16 bytes: hi is bytes 0..7, lo is bytes 8..15. GCM numbers the
// bits the "wrong" way round: the most significant bit of byte 0 is the
// coefficient of x^0 and the least significant bit of byte 15 that of
// x^127. Multiplying by x is therefore a right shift of the 128-bit value,
// and a bit shifted out at the bottom (x^128) is reduced by the field
// polynomial x^128 + x^7 + x^2 + x + 1, which is XORing 0xe1 into the top
// byte.
//
// Multiplication by the fixed hash key H uses Shoup's method with 8-bit
// tables, split four ways to shorten the chain of dependent operations:
// tables[j][b] = b·H·x^(32j) for every byte value b. Byte k of the other
// factor y stands for y_k·x^(8k); writing k = i + 4j,
//
//	y·H = Σ_i x^(8i) · Σ_j tables[j][y_(i+4j)]
//
// so a product is 4 steps of Horner's rule, each XORing 4 independent
// lookups and multiplying the running sum by x^8. That multiplication
// shifts 8 bits off the low end, and reduce8 holds their reduction. One
// table per step (16 steps) was about half as fast: every step waits on
// the previous one's reduction lookup.
//
// Table lookups indexed by secret-dependent values are not constant-time
// against an attacker who can observe this machine's cache; the assembly
// GHASH of crypto/cipher has no such leak but cannot be used incrementally.

type fieldElement struct {
	hi, lo uint64
}

// mulX returns e·x.
func (e fieldElement) mulX() fieldElement {
	carry := e.lo & 1
	return fieldElement{
		hi: e.hi>>1 ^ (0xe1<<56)&-carry,
		lo: e.lo>>1 | e.hi<<63,
	}
}

// reduce8[b] is the reduction of the 8 bits b shifted out of the low end of
// an element when it is multiplied by x^8; the result fits in hi (degrees
// below 64), so only hi is stored.
var reduce8 = func() (t [256]uint64) {
	for b := range t {
		e := fieldElement{lo: uint64(b)}
		for range 8 {
			e = e.mulX()
		}
		t[b] = e.hi // e.lo is zero: all 8 bits left the low half
	}
	return t
}()

// ghash is the running GHASH state for one hash key.
type ghash struct {
	tables [4][256]fieldElement // tables[j][b] = b·H·x^(32j), b in GCM bit order
	y      fieldElement         // the running hash Y
}

// init sets the hash key h (16 bytes) and clears the state.
func (g *ghash) init(h []byte) {
	p := fieldElement{binary.BigEndian.Uint64(h[:8]), binary.BigEndian.Uint64(h[8:16])}
	for j := range g.tables {
		t := &g.tables[j]
		// The most significant bit of a byte is its lowest-degree
		// coefficient, so 0x80 stands for x^0, 0x40 for x^1, ..., 0x01 for
		// x^7; p runs through H·x^(32j) ... H·x^(32j+7).
		for bit := 0x80; bit > 0; bit >>= 1 {
			t[bit] = p
			p = p.mulX()
		}
		for range 32 - 8 {
			p = p.mulX()
		}
		// Every other byte is the sum (XOR) of its bits: add its lowest
		// set bit's entry to the already filled entry for the rest.
		t[0] = fieldElement{}
		for b := 1; b < 256; b++ {
			if low := b & -b; low != b {
				t[b] = fieldElement{t[low].hi ^ t[b^low].hi, t[low].lo ^ t[b^low].lo}
			}
		}
	}
	g.y = fieldElement{}
}

// mulH returns y·H.
func (g *ghash) mulH(y fieldElement) fieldElement {
	t0, t1, t2, t3 := &g.tables[0], &g.tables[1], &g.tables[2], &g.tables[3]
	var zh, zl uint64
	// Byte k of y is at shift 56-8k in hi (k < 8) or 56-8(k-8) in lo, so
	// i = 3..0 means shifts 32..56 for y_i and y_(i+8), and 32 less for
	// y_(i+4) and y_(i+12).
	for s := 32; s < 64; s += 8 {
		r := zl & 0xff
		zl = zl>>8 | zh<<56
		zh = zh>>8 ^ reduce8[r]
		a, b := &t0[y.hi>>s&0xff], &t1[y.hi>>(s-32)&0xff]
		c, d := &t2[y.lo>>s&0xff], &t3[y.lo>>(s-32)&0xff]
		zh ^= a.hi ^ b.hi ^ c.hi ^ d.hi
		zl ^= a.lo ^ b.lo ^ c.lo ^ d.lo
	}
	return fieldElement{zh, zl}
}

// update absorbs whole 16-byte blocks of p; len(p) must be a multiple of 16.
func (g *ghash) update(p []byte) {
	y := g.y
	for len(p) >= 16 {
		y.hi ^= binary.BigEndian.Uint64(p[:8])
		y.lo ^= binary.BigEndian.Uint64(p[8:16])
		y = g.mulH(y)
		p = p[16:]
	}
	g.y = y
}

// sum writes the current hash into out (16 bytes).
func (g *ghash) sum(out []byte) {
	binary.BigEndian.PutUint64(out[:8], g.y.hi)
	binary.BigEndian.PutUint64(out[8:16], g.y.lo)
}
