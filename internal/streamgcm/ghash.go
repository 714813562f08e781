package streamgcm

import (
	"crypto/cipher"
	"encoding/binary"
	"fmt"
)

// GHASH (NIST SP 800-38D §6.4), computed by crypto/cipher's GCM.
//
// crypto/cipher's GHASH is constant-time and, on amd64 and arm64,
// carry-less-multiply assembly, but it hashes only whole messages. GHASH is
// linear, which lets it hash a stream piece by piece all the same. For a
// piece Z of m blocks, sealing an empty plaintext with Z as the additional
// data returns
//
//	Seal(Z) = (G(Z) ⊕ L(Z))·H ⊕ E(K, J0)
//
// where G(Z) is GHASH's running value after Z alone (Horner's rule from
// zero: Y_i = (Y_(i-1) ⊕ Z_i)·H), L(Z) the lengths block of a message whose
// additional data is Z, and E(K, J0) the tag mask of the nonce used, which
// we compute with the block cipher. The running value Y of the whole stream
// after Z is Y·H^m ⊕ G(Z). We keep W = Y·H instead, so that no division by
// H is ever needed:
//
//	W' = W·H^m ⊕ G(Z)·H = W·H^m ⊕ (Seal(Z) ⊕ E(K, J0)) ⊕ L(Z)·H
//
// and GHASH's output after the final lengths block L is (Y ⊕ L)·H =
// W ⊕ L·H. Each piece costs one Seal and one product by H^m, which mul
// computes in constant time; the powers depend only on the (public)
// lengths of the pieces. The text is hashed in pieces of pieceSize,
// collected in a buffer when it comes in smaller bits (a partner decides
// the size of the BER segments that are decrypted one by one), so that
// H^m is computed once per message, not per bit, and every Seal call
// covers many blocks.

//
// Where crypto/cipher has no assembly for the machine, its portable GHASH is
// table-driven, as ours was before it. Under GODEBUG=fips140=only,
// crypto/cipher refuses GCM with a nonce of our choosing, and so New fails.

// fieldElement is an element of GF(2^128), as two uint64 halves loaded
// big-endian from its 16 bytes: hi is bytes 0..7, lo is bytes 8..15. GCM
// numbers the bits the "wrong" way round: the most significant bit of byte
// 0 is the coefficient of x^0 and the least significant bit of byte 15 that
// of x^127. Multiplying by x is therefore a right shift of the 128-bit
// value, and a bit shifted out at the bottom (x^128) is reduced by the
// field polynomial x^128 + x^7 + x^2 + x + 1, which is XORing 0xe1 into the
// top byte.
type fieldElement struct {
	hi, lo uint64
}

func loadElement(b []byte) fieldElement {
	return fieldElement{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:16])}
}

func (e fieldElement) store(b []byte) {
	binary.BigEndian.PutUint64(b[:8], e.hi)
	binary.BigEndian.PutUint64(b[8:16], e.lo)
}

func (e fieldElement) xor(f fieldElement) fieldElement {
	return fieldElement{e.hi ^ f.hi, e.lo ^ f.lo}
}

// mulX returns e·x.
func (e fieldElement) mulX() fieldElement {
	carry := e.lo & 1
	return fieldElement{
		hi: e.hi>>1 ^ (0xe1<<56)&-carry,
		lo: e.lo>>1 | e.hi<<63,
	}
}

// mul returns x·y in constant time: shift-and-add over the 128 bits of x,
// adding y·x^i under a mask rather than a branch. It runs a few times per
// piece hashed, not per block.
func mul(x, y fieldElement) fieldElement {
	var z fieldElement
	for i := range 128 {
		var bit uint64
		if i < 64 {
			bit = x.hi >> (63 - i) & 1
		} else {
			bit = x.lo >> (127 - i) & 1
		}
		z.hi ^= y.hi & -bit
		z.lo ^= y.lo & -bit
		y = y.mulX()
	}
	return z
}

// lengthsBlock is GCM's final block: the bit lengths of the additional data
// and of the text.
func lengthsBlock(aadLen, textLen uint64) fieldElement {
	return fieldElement{aadLen * 8, textLen * 8}
}

// hashNonce is the nonce of the Seal calls that only hash: any fixed value
// works, as the sealed output never leaves the ghash.
var hashNonce [gcmStandardNonceSize]byte

// pieceFactors are the values a piece of m blocks is combined with.
type pieceFactors struct {
	blocks  int
	hPowM   fieldElement // H^m
	lengthH fieldElement // L(Z)·H
}

// pieceSize is the size of the pieces hashed by one Seal call.
const pieceSize = 16 << 10

// ghash is the running GHASH of one key.
type ghash struct {
	aead  cipher.AEAD  // GCM under the key, used only to hash
	mask  fieldElement // E(K, J0) of hashNonce, which Seal adds
	h     fieldElement // the hash key H = E(K, 0^128)
	w     fieldElement // the running value times H, of the pieces hashed
	last  pieceFactors // of the last piece size seen: all but the final piece have one
	sealt [blockSize]byte

	pending  [pieceSize]byte // whole blocks not yet hashed
	npending int
}

// init sets the key from block (the message's cipher) and clears the state.
func (g *ghash) init(block cipher.Block) error {
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidParameter, err)
	}
	var h, j0 [blockSize]byte
	block.Encrypt(h[:], h[:])
	copy(j0[:], hashNonce[:])
	j0[blockSize-1] = 1 // J0 of a 12-byte nonce
	block.Encrypt(j0[:], j0[:])
	*g = ghash{aead: aead, h: loadElement(h[:]), mask: loadElement(j0[:])}
	return nil
}

// reset clears the running value, keeping the key.
func (g *ghash) reset() { g.w, g.npending = fieldElement{}, 0 }

// factors returns the combining values of a piece of m blocks.
func (g *ghash) factors(m int) pieceFactors {
	if g.last.blocks == m {
		return g.last
	}
	pow, sq := fieldElement{hi: 1 << 63}, g.h // 1 (x^0) and H
	for e := m; e > 0; e >>= 1 {
		if e&1 == 1 {
			pow = mul(pow, sq)
		}
		if e > 1 {
			sq = mul(sq, sq)
		}
	}
	g.last = pieceFactors{blocks: m, hPowM: pow, lengthH: mul(lengthsBlock(uint64(m)*blockSize, 0), g.h)}
	return g.last
}

// update absorbs whole 16-byte blocks of p; len(p) must be a multiple of 16.
func (g *ghash) update(p []byte) {
	for len(p) > 0 {
		if g.npending == 0 && len(p) >= pieceSize {
			g.hashPiece(p[:pieceSize])
			p = p[pieceSize:]
			continue
		}
		n := copy(g.pending[g.npending:], p)
		g.npending += n
		p = p[n:]
		if g.npending == pieceSize {
			g.hashPiece(g.pending[:])
			g.npending = 0
		}
	}
}

// hashPiece absorbs one piece of whole blocks.
func (g *ghash) hashPiece(p []byte) {
	f := g.factors(len(p) / blockSize)
	sealed := g.aead.Seal(g.sealt[:0], hashNonce[:], nil, p)
	g.w = mul(g.w, f.hPowM).xor(loadElement(sealed)).xor(g.mask).xor(f.lengthH)
}

// final writes GHASH's output after the lengths block of aadLen bytes of
// additional data and textLen bytes of text into out (16 bytes).
func (g *ghash) final(aadLen, textLen uint64, out []byte) {
	if g.npending > 0 {
		g.hashPiece(g.pending[:g.npending])
		g.npending = 0
	}
	g.w.xor(mul(lengthsBlock(aadLen, textLen), g.h)).store(out)
}
