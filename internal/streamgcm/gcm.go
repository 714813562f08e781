// Package streamgcm implements AES-GCM (NIST SP 800-38D) as a stream, for
// CMS AuthEnvelopedData (RFC 5083/5084), whose ciphertext can be many GiB
// long and is followed by the tag.
//
// crypto/cipher's AEAD needs the whole message in memory; a Stream instead
// takes the message in chunks of any size and produces or checks the tag at
// the end, using constant memory. The keystream comes from cipher.NewCTR
// and GHASH from cipher.NewGCM, piece by piece (see ghash.go): both are
// assembly for crypto/aes on amd64 and arm64, and constant-time.
//
// A Stream either encrypts (AddAAD…, Encrypt…, Tag) or decrypts (AddAAD…,
// Decrypt…, Verify). Any misuse or error is recorded and returned by that
// call and every later call, and Tag never yields a tag after one: callers
// that ignore an error still cannot produce or accept a message.
//
// Decrypt returns plaintext before it is authenticated. It must be held back
// (for example in a temporary file) and released only after Verify succeeds.
package streamgcm

import (
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"unsafe"
)

const (
	blockSize = 16

	// MinTagSize and MaxTagSize bound the tag length; RFC 5084 allows
	// 12 to 16 bytes.
	MinTagSize = 12
	MaxTagSize = 16

	// gcmStandardNonceSize is the nonce length GCM handles without GHASH.
	gcmStandardNonceSize = 12

	// MaxMessageSize is the longest plaintext GCM allows, 2^39-256 bits
	// (SP 800-38D §5.2.1.1): beyond it the 32-bit block counter would wrap
	// onto the tag mask's counter and reuse keystream.
	MaxMessageSize = 1<<36 - 32

	// maxAADSize is the longest AAD GCM allows, 2^64-1 bits.
	maxAADSize = 1<<61 - 1

	// hashChunk is how much text is hashed then en/decrypted at a time, so
	// both passes over a large caller buffer hit the cache.
	hashChunk = 16 * 1024
)

var (
	// ErrAuthFailed is returned by Verify when the tag does not match.
	ErrAuthFailed = errors.New("streamgcm: message authentication failed")
	// ErrInvalidParameter is wrapped by New for a bad block, nonce or tag size.
	ErrInvalidParameter = errors.New("streamgcm: invalid parameter")
	// ErrMisuse is wrapped when a method is called out of order, or with
	// buffers that cannot work.
	ErrMisuse = errors.New("streamgcm: misuse")
	// ErrTooLong is wrapped when the AAD or the text exceeds GCM's limits.
	ErrTooLong = errors.New("streamgcm: message too long")
)

type state int

const (
	stateAAD     state = iota // only AAD so far
	stateEncrypt              // Encrypt was called
	stateDecrypt              // Decrypt was called
	stateDone                 // Tag or Verify was called
)

// Stream is one AES-GCM message processed incrementally. It holds about
// 17 KiB whatever the message size, and is not safe for concurrent use.
type Stream struct {
	block   cipher.Block
	ctr     cipher.Stream
	counter [blockSize]byte // the counter block ctr started from
	// wrapIn is the number of keystream bytes left before the low 32 bits
	// of the counter wrap; GCM's inc32 then carries nothing into the upper
	// 96 bits, while cipher.NewCTR increments all 128 bits.
	wrapIn uint64

	// hash is a separate allocation: its 16 KiB buffer holds no pointers,
	// so the garbage collector need not scan it.
	hash    *ghash
	tagMask [blockSize]byte // E(K, J0), XORed onto the GHASH result
	tagSize int

	partial  [blockSize]byte // bytes not yet hashed, AAD or ciphertext
	npartial int

	aadLen, textLen uint64
	state           state
	err             error // sticky: once set, every call returns it
}

// New starts a GCM message under block (which must have a 16-byte block
// size, normally crypto/aes), nonce (at least 1 byte; 12 is standard) and
// tagSize (MinTagSize..MaxTagSize bytes).
func New(block cipher.Block, nonce []byte, tagSize int) (*Stream, error) {
	if block == nil || block.BlockSize() != blockSize {
		return nil, fmt.Errorf("%w: block cipher must have a %d-byte block", ErrInvalidParameter, blockSize)
	}
	if len(nonce) == 0 {
		return nil, fmt.Errorf("%w: empty nonce", ErrInvalidParameter)
	}
	if tagSize < MinTagSize || tagSize > MaxTagSize {
		return nil, fmt.Errorf("%w: tag size %d, want %d..%d", ErrInvalidParameter, tagSize, MinTagSize, MaxTagSize)
	}

	s := &Stream{block: block, tagSize: tagSize, hash: new(ghash)}
	if err := s.hash.init(block); err != nil {
		return nil, err
	}

	// The pre-counter block J0 (SP 800-38D §7.1 step 2).
	var j0 [blockSize]byte
	if len(nonce) == gcmStandardNonceSize {
		copy(j0[:], nonce)
		j0[blockSize-1] = 1
	} else {
		s.hashPadded(nonce)
		s.hash.final(0, uint64(len(nonce)), j0[:])
		s.hash.reset()
	}
	block.Encrypt(s.tagMask[:], j0[:])

	// Encryption starts at inc32(J0).
	s.counter = j0
	ctr32 := binary.BigEndian.Uint32(j0[12:]) + 1
	binary.BigEndian.PutUint32(s.counter[12:], ctr32)
	s.startCTR(ctr32)
	return s, nil
}

// startCTR (re)starts the keystream at s.counter, whose low 32 bits are ctr32.
func (s *Stream) startCTR(ctr32 uint32) {
	s.ctr = cipher.NewCTR(s.block, s.counter[:])
	s.wrapIn = (1<<32 - uint64(ctr32)) * blockSize
}

// hashPadded absorbs p followed by zeros up to a block boundary.
func (s *Stream) hashPadded(p []byte) {
	whole := len(p) &^ (blockSize - 1)
	s.hash.update(p[:whole])
	if whole < len(p) {
		var last [blockSize]byte
		copy(last[:], p[whole:])
		s.hash.update(last[:])
	}
}

// absorb hashes p, keeping an incomplete trailing block in s.partial for the
// next call; whole blocks are hashed straight from p.
func (s *Stream) absorb(p []byte) {
	if s.npartial > 0 {
		n := copy(s.partial[s.npartial:], p)
		s.npartial += n
		p = p[n:]
		if s.npartial < blockSize {
			return
		}
		s.hash.update(s.partial[:])
		s.npartial = 0
	}
	whole := len(p) &^ (blockSize - 1)
	s.hash.update(p[:whole])
	s.npartial = copy(s.partial[:], p[whole:])
}

// flushPartial zero-pads and hashes a pending incomplete block.
func (s *Stream) flushPartial() {
	if s.npartial > 0 {
		clear(s.partial[s.npartial:])
		s.hash.update(s.partial[:])
		s.npartial = 0
	}
}

// fail records err as the Stream's permanent error and returns it.
func (s *Stream) fail(err error) error {
	if s.err == nil {
		s.err = err
	}
	return s.err
}

// AddAAD adds additional authenticated data. It may be called any number of
// times, but only before the first Encrypt or Decrypt.
func (s *Stream) AddAAD(aad []byte) error {
	if s.err != nil {
		return s.err
	}
	if s.state != stateAAD {
		return s.fail(fmt.Errorf("%w: AddAAD after Encrypt, Decrypt, Tag or Verify", ErrMisuse))
	}
	if uint64(len(aad)) > maxAADSize-s.aadLen {
		return s.fail(fmt.Errorf("%w: AAD exceeds %d bytes", ErrTooLong, uint64(maxAADSize)))
	}
	s.aadLen += uint64(len(aad))
	s.absorb(aad)
	return nil
}

// Encrypt encrypts src into dst. len(dst) must be at least len(src), and
// dst may be src itself but must not overlap it otherwise.
func (s *Stream) Encrypt(dst, src []byte) error {
	return s.crypt(dst, src, stateEncrypt)
}

// Decrypt decrypts src into dst, with the same buffer rules as Encrypt.
// The plaintext is unauthenticated until Verify succeeds.
func (s *Stream) Decrypt(dst, src []byte) error {
	return s.crypt(dst, src, stateDecrypt)
}

func (s *Stream) crypt(dst, src []byte, mode state) error {
	if s.err != nil {
		return s.err
	}
	switch s.state {
	case stateAAD:
		s.flushPartial() // the AAD ends here, padded to a block
		s.state = mode
	case mode:
	default:
		return s.fail(fmt.Errorf("%w: Encrypt and Decrypt on one Stream, or after Tag or Verify", ErrMisuse))
	}
	if len(dst) < len(src) {
		return s.fail(fmt.Errorf("%w: output buffer is %d bytes, input %d", ErrMisuse, len(dst), len(src)))
	}
	dst = dst[:len(src)]
	if inexactOverlap(dst, src) {
		return s.fail(fmt.Errorf("%w: output and input overlap but are not the same buffer", ErrMisuse))
	}
	if uint64(len(src)) > MaxMessageSize-s.textLen {
		return s.fail(fmt.Errorf("%w: text exceeds %d bytes", ErrTooLong, uint64(MaxMessageSize)))
	}
	s.textLen += uint64(len(src))

	// GHASH covers the ciphertext: hash it after encrypting, before
	// decrypting (dst may be src).
	for len(src) > 0 {
		n := min(len(src), hashChunk)
		if mode == stateDecrypt {
			s.absorb(src[:n])
		}
		s.xorKeyStream(dst[:n], src[:n])
		if mode == stateEncrypt {
			s.absorb(dst[:n])
		}
		dst, src = dst[n:], src[n:]
	}
	return nil
}

// xorKeyStream applies the GCM keystream, restarting the CTR with the low 32
// bits at zero when they wrap (inc32 semantics).
func (s *Stream) xorKeyStream(dst, src []byte) {
	for len(src) > 0 {
		n := len(src)
		if uint64(n) > s.wrapIn {
			n = int(s.wrapIn)
		}
		s.ctr.XORKeyStream(dst[:n], src[:n])
		s.wrapIn -= uint64(n)
		dst, src = dst[n:], src[n:]
		if s.wrapIn == 0 {
			binary.BigEndian.PutUint32(s.counter[12:], 0)
			s.startCTR(0)
		}
	}
}

// finish completes GHASH and returns the full 16-byte tag.
func (s *Stream) finish() [blockSize]byte {
	s.flushPartial()
	var tag [blockSize]byte
	s.hash.final(s.aadLen, s.textLen, tag[:])
	subtle.XORBytes(tag[:], tag[:], s.tagMask[:])
	s.state = stateDone
	return tag
}

// Tag finishes an encrypted (or AAD-only) message and returns its tag,
// tagSize bytes long. The Stream cannot be used afterwards.
func (s *Stream) Tag() ([]byte, error) {
	if s.err != nil {
		return nil, s.err
	}
	if s.state != stateAAD && s.state != stateEncrypt {
		return nil, s.fail(fmt.Errorf("%w: Tag after Decrypt, Tag or Verify", ErrMisuse))
	}
	tag := s.finish()
	return tag[:s.tagSize], nil
}

// Verify finishes a decrypted (or AAD-only) message and checks its tag in
// constant time; it returns an error wrapping ErrAuthFailed if it does not
// match. The Stream cannot be used afterwards.
func (s *Stream) Verify(tag []byte) error {
	if s.err != nil {
		return s.err
	}
	if s.state != stateAAD && s.state != stateDecrypt {
		return s.fail(fmt.Errorf("%w: Verify after Encrypt, Tag or Verify", ErrMisuse))
	}
	want := s.finish()
	if len(tag) != s.tagSize {
		return s.fail(fmt.Errorf("%w: tag is %d bytes, want %d", ErrAuthFailed, len(tag), s.tagSize))
	}
	if subtle.ConstantTimeCompare(tag, want[:s.tagSize]) != 1 {
		return s.fail(ErrAuthFailed)
	}
	return nil
}

// inexactOverlap reports whether x and y share memory without starting at
// the same address. cipher.NewCTR panics on such buffers; we turn them
// into an error instead.
func inexactOverlap(x, y []byte) bool {
	if len(x) == 0 || len(y) == 0 || &x[0] == &y[0] {
		return false
	}
	xs, ys := uintptr(unsafe.Pointer(&x[0])), uintptr(unsafe.Pointer(&y[0]))
	return xs < ys+uintptr(len(y)) && ys < xs+uintptr(len(x))
}
