package streamgcm

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func newAES(t testing.TB, key []byte) cipher.Block {
	t.Helper()
	b, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// splits cuts n bytes into the chunk sizes a caller might use.
type splitter func(r *rand.Rand, n int) []int

var splitters = map[string]splitter{
	"whole": func(_ *rand.Rand, n int) []int { return []int{n} },
	"bytes": func(_ *rand.Rand, n int) []int {
		s := make([]int, n)
		for i := range s {
			s[i] = 1
		}
		return s
	},
	"small": func(r *rand.Rand, n int) []int { return randomSplit(r, n, 40) },
	"large": func(r *rand.Rand, n int) []int { return randomSplit(r, n, 5000) },
}

// randomSplit cuts n into pieces of 0..max bytes (empty calls included).
func randomSplit(r *rand.Rand, n, max int) []int {
	var s []int
	for n > 0 {
		c := min(r.IntN(max+1), n)
		s = append(s, c)
		n -= c
	}
	return s
}

// seal runs a whole message through a Stream, feeding aad and plaintext in
// the given chunk sizes and encrypting in place, and returns ciphertext and
// tag.
func seal(t testing.TB, block cipher.Block, nonce, aad, plaintext []byte, tagSize int, aadSplit, textSplit []int) (ct, tag []byte) {
	t.Helper()
	s, err := New(block, nonce, tagSize)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range aadSplit {
		if err := s.AddAAD(aad[:n]); err != nil {
			t.Fatal(err)
		}
		aad = aad[n:]
	}
	ct = bytes.Clone(plaintext)
	rest := ct
	for _, n := range textSplit {
		if err := s.Encrypt(rest[:n], rest[:n]); err != nil {
			t.Fatal(err)
		}
		rest = rest[n:]
	}
	tag, err = s.Tag()
	if err != nil {
		t.Fatal(err)
	}
	return ct, tag
}

// open decrypts in place in the given chunk sizes and returns the plaintext
// and Verify's verdict.
func open(t testing.TB, block cipher.Block, nonce, aad, ct, tag []byte, tagSize int, aadSplit, textSplit []int) ([]byte, error) {
	t.Helper()
	s, err := New(block, nonce, tagSize)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range aadSplit {
		if err := s.AddAAD(aad[:n]); err != nil {
			t.Fatal(err)
		}
		aad = aad[n:]
	}
	pt := bytes.Clone(ct)
	rest := pt
	for _, n := range textSplit {
		if err := s.Decrypt(rest[:n], rest[:n]); err != nil {
			t.Fatal(err)
		}
		rest = rest[n:]
	}
	return pt, s.Verify(tag)
}

// Test cases from McGrew and Viega, "The Galois/Counter Mode of Operation
// (GCM)", revised 2005, Appendix B, with their published results.
func TestSpecVectors(t *testing.T) {
	const (
		k128 = "feffe9928665731c6d6a8f9467308308"
		p64  = "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72" +
			"1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255"
		p60 = "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72" +
			"1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39"
		aad   = "feedfacedeadbeeffeedfacedeadbeefabaddad2"
		iv96  = "cafebabefacedbaddecaf888"
		iv64  = "cafebabefacedbad"
		iv480 = "9313225df88406e555909c5aff5269aa6a7a9538534f7da1e4c303d2a318a728" +
			"c3c0c95156809539fcf0e2429a6b525416aedbf5a0de6a57a637b39b"
	)
	tests := []struct {
		name, key, iv, aad, pt, ct, tag string
	}{
		{"1", "00000000000000000000000000000000", "000000000000000000000000", "", "", "",
			"58e2fccefa7e3061367f1d57a4e7455a"},
		{"2", "00000000000000000000000000000000", "000000000000000000000000", "",
			"00000000000000000000000000000000", "0388dace60b6a392f328c2b971b2fe78",
			"ab6e47d42cec13bdf53a67b21257bddf"},
		{"3", k128, iv96, "", p64,
			"42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e" +
				"21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985",
			"4d5c2af327cd64a62cf35abd2ba6fab4"},
		{"4", k128, iv96, aad, p60,
			"42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e" +
				"21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
			"5bc94fbc3221a5db94fae95ae7121a47"},
		{"5", k128, iv64, aad, p60,
			"61353b4c2806934a777ff51fa22a4755699b2a714fcdc6f83766e5f97b6c7423" +
				"73806900e49f24b22b097544d4896b424989b5e1ebac0f07c23f4598",
			"3612d2e79e3b0785561be14aaca2fccb"},
		{"6", k128, iv480, aad, p60,
			"8ce24998625615b603a033aca13fb894be9112a5c3a211a8ba262a3cca7e2ca7" +
				"01e4a9a4fba43c90ccdcb281d48c7c6fd62875d2aca417034c34aee5",
			"619cc5aefffe0bfa462af43c1699d050"},
		{"13", "0000000000000000000000000000000000000000000000000000000000000000",
			"000000000000000000000000", "", "", "", "530f8afbc74536b9a963b4f1c4cb738b"},
		{"14", "0000000000000000000000000000000000000000000000000000000000000000",
			"000000000000000000000000", "", "00000000000000000000000000000000",
			"cea7403d4d606b6e074ec5d3baf39d18", "d0d1c8a799996bf0265b98b5d48ab919"},
		{"15", k128 + k128, iv96, "", p64,
			"522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa" +
				"8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad",
			"b094dac5d93471bdec1a502270e3cc6c"},
		{"16", k128 + k128, iv96, aad, p60,
			"522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa" +
				"8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
			"76fc6ece0f4e1768cddf8853bb2d551b"},
		{"17", k128 + k128, iv64, aad, p60,
			"c3762df1ca787d32ae47c13bf19844cbaf1ae14d0b976afac52ff7d79bba9de0" +
				"feb582d33934a4f0954cc2363bc73f7862ac430e64abe499f47c9b1f",
			"3a337dbf46a792c45e454913fe2ea8f2"},
		{"18", k128 + k128, iv480, aad, p60,
			"5a8def2f0c9e53f1f75d7853659e2a20eeb2b22aafde6419a058ab4f6f746bf4" +
				"0fc0c3b780f244452da3ebf1c5d82cdea2418997200ef82e44ae7e3f",
			"a44a8266ee1c8eb0c8b5d4cf5ae9f19a"},
	}
	r := rand.New(rand.NewPCG(1, 2))
	for _, tc := range tests {
		for name, split := range splitters {
			t.Run("case"+tc.name+"/"+name, func(t *testing.T) {
				block := newAES(t, unhex(t, tc.key))
				iv, a, pt := unhex(t, tc.iv), unhex(t, tc.aad), unhex(t, tc.pt)
				wantCT, wantTag := unhex(t, tc.ct), unhex(t, tc.tag)
				aadSplit, textSplit := split(r, len(a)), split(r, len(pt))

				ct, tag := seal(t, block, iv, a, pt, 16, aadSplit, textSplit)
				if !bytes.Equal(ct, wantCT) || !bytes.Equal(tag, wantTag) {
					t.Errorf("Encrypt = %x, tag %x\nwant      %x, tag %x", ct, tag, wantCT, wantTag)
				}
				got, err := open(t, block, iv, a, wantCT, wantTag, 16, aadSplit, textSplit)
				if err != nil || !bytes.Equal(got, pt) {
					t.Errorf("Decrypt = %x, %v; want %x", got, err, pt)
				}
			})
		}
	}
}

// TestMatchesStdlib compares random messages with crypto/cipher's GCM, the
// reference, across lengths, nonce and tag sizes, key sizes and chunkings.
func TestMatchesStdlib(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	lengths := []int{0, 1, 15, 16, 17, 31, 32, 33, 63, 64, 65, 255, 256, 257, 1000, 4095, 4096, 4097, 9000}
	for range 10 {
		lengths = append(lengths, r.IntN(20000))
	}
	for _, keySize := range []int{16, 24, 32} {
		for _, nonceSize := range []int{12, 1, 8, 16, 60} {
			for tagSize := MinTagSize; tagSize <= MaxTagSize; tagSize++ {
				key := randBytes(r, keySize)
				block := newAES(t, key)
				ref, err := cipher.NewGCMWithNonceSize(block, nonceSize)
				if err != nil {
					t.Fatal(err)
				}
				if tagSize != MaxTagSize {
					// The stdlib has no constructor for both at once.
					if nonceSize != 12 {
						continue
					}
					if ref, err = cipher.NewGCMWithTagSize(block, tagSize); err != nil {
						t.Fatal(err)
					}
				}
				for _, n := range lengths {
					for name, split := range splitters {
						if name == "bytes" && n > 4096 {
							continue // slow and adds nothing over 4096
						}
						nonce := randBytes(r, nonceSize)
						aad := randBytes(r, []int{0, 1, 13, 16, 20, 100}[r.IntN(6)])
						pt := randBytes(r, n)
						sealed := ref.Seal(nil, nonce, pt, aad)
						wantCT, wantTag := sealed[:n], sealed[n:]

						desc := fmt.Sprintf("key %d nonce %d tag %d len %d aad %d split %s", keySize, nonceSize, tagSize, n, len(aad), name)
						aadSplit, textSplit := split(r, len(aad)), split(r, n)
						ct, tag := seal(t, block, nonce, aad, pt, tagSize, aadSplit, textSplit)
						if !bytes.Equal(ct, wantCT) || !bytes.Equal(tag, wantTag) {
							t.Fatalf("%s: Encrypt differs from the stdlib", desc)
						}
						got, err := open(t, block, nonce, aad, wantCT, wantTag, tagSize, split(r, len(aad)), split(r, n))
						if err != nil || !bytes.Equal(got, pt) {
							t.Fatalf("%s: Decrypt: %v, plaintext equal %v", desc, err, bytes.Equal(got, pt))
						}
					}
				}
			}
		}
	}
}

func randBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func TestTamperFailsVerify(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	block := newAES(t, randBytes(r, 16))
	nonce, aad, pt := randBytes(r, 12), randBytes(r, 20), randBytes(r, 100)
	ct, tag := seal(t, block, nonce, aad, pt, 16, []int{len(aad)}, []int{len(pt)})

	flip := func(b []byte, i int) []byte {
		b = bytes.Clone(b)
		b[i] ^= 0x01
		return b
	}
	tests := []struct {
		name              string
		nonce, aad, ct, t []byte
	}{
		{"ciphertext first byte", nonce, aad, flip(ct, 0), tag},
		{"ciphertext last byte", nonce, aad, flip(ct, len(ct)-1), tag},
		{"ciphertext truncated", nonce, aad, ct[:len(ct)-1], tag},
		{"ciphertext extended", nonce, aad, append(bytes.Clone(ct), 0), tag},
		{"tag", nonce, aad, ct, flip(tag, 15)},
		{"tag truncated", nonce, aad, ct, tag[:12]},
		{"tag empty", nonce, aad, ct, nil},
		{"aad", nonce, flip(aad, 7), ct, tag},
		{"aad missing", nonce, nil, ct, tag},
		{"nonce", flip(nonce, 11), aad, ct, tag},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := open(t, block, tc.nonce, tc.aad, tc.ct, tc.t, 16, []int{len(tc.aad)}, []int{len(tc.ct)})
			if !errors.Is(err, ErrAuthFailed) {
				t.Errorf("Verify = %v, want ErrAuthFailed", err)
			}
		})
	}
	// The untampered message passes, so the failures above are the tampering.
	if _, err := open(t, block, nonce, aad, ct, tag, 16, []int{len(aad)}, []int{len(ct)}); err != nil {
		t.Errorf("untampered message: %v", err)
	}
}

// TestCounterWrap uses a nonce whose J0 has its low 32 bits just below
// 2^32, so the block counter wraps inside the message. GCM's inc32 must not
// carry into the upper 96 bits; cipher.NewCTR alone would.
func TestCounterWrap(t *testing.T) {
	key := make([]byte, 16)
	// Found by searching counter-valued nonces for this all-zero key: J0 ends
	// in 0xfffff90d, so the counter wraps 1778 blocks (about 28 KiB) in.
	nonce := unhex(t, "00000000000000000000000000169f4f")
	const n = 64 * 1024
	block := newAES(t, key)
	s, err := New(block, nonce, 16)
	if err != nil {
		t.Fatal(err)
	}
	first := uint64(s.counter[12])<<24 | uint64(s.counter[13])<<16 | uint64(s.counter[14])<<8 | uint64(s.counter[15])
	if first+n/blockSize <= 1<<32 {
		t.Fatalf("precondition: counter starts at %#x and does not wrap within %d bytes", first, n)
	}
	ref, err := cipher.NewGCMWithNonceSize(block, len(nonce))
	if err != nil {
		t.Fatal(err)
	}
	pt := randBytes(rand.New(rand.NewPCG(7, 8)), n)
	want := ref.Seal(nil, nonce, pt, nil)
	r := rand.New(rand.NewPCG(9, 10))
	for name, split := range splitters {
		ct, tag := seal(t, block, nonce, nil, pt, 16, nil, split(r, n))
		if !bytes.Equal(append(ct, tag...), want) {
			t.Errorf("split %s: differs from the stdlib across the counter wrap", name)
		}
	}
}

func TestNewInvalid(t *testing.T) {
	aesBlock := newAES(t, make([]byte, 16))
	desBlock, err := des.NewCipher(make([]byte, 8))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		block   cipher.Block
		nonce   []byte
		tagSize int
	}{
		{"nil block", nil, make([]byte, 12), 16},
		{"8-byte block", desBlock, make([]byte, 12), 16},
		{"empty nonce", aesBlock, nil, 16},
		{"tag 11", aesBlock, make([]byte, 12), 11},
		{"tag 17", aesBlock, make([]byte, 12), 17},
		{"tag 0", aesBlock, make([]byte, 12), 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(tc.block, tc.nonce, tc.tagSize)
			if !errors.Is(err, ErrInvalidParameter) || s != nil {
				t.Errorf("New = %v, %v; want nil, ErrInvalidParameter", s, err)
			}
		})
	}
}

// TestMisuse checks that out-of-order calls and bad buffers return an error
// and that the error sticks: no tag can be had from the Stream afterwards.
func TestMisuse(t *testing.T) {
	buf := make([]byte, 64)
	tests := []struct {
		name    string
		steps   func(s *Stream) error // the last step must fail
		wantErr error
	}{
		{"AddAAD after Encrypt", func(s *Stream) error {
			must(t, s.Encrypt(buf[:4], buf[:4]))
			return s.AddAAD(buf[:4])
		}, ErrMisuse},
		{"AddAAD after Tag", func(s *Stream) error {
			_, err := s.Tag()
			must(t, err)
			return s.AddAAD(buf[:4])
		}, ErrMisuse},
		{"Decrypt after Encrypt", func(s *Stream) error {
			must(t, s.Encrypt(buf[:4], buf[:4]))
			return s.Decrypt(buf[:4], buf[:4])
		}, ErrMisuse},
		{"Encrypt after Decrypt", func(s *Stream) error {
			must(t, s.Decrypt(buf[:4], buf[:4]))
			return s.Encrypt(buf[:4], buf[:4])
		}, ErrMisuse},
		{"Encrypt after Tag", func(s *Stream) error {
			_, err := s.Tag()
			must(t, err)
			return s.Encrypt(buf[:4], buf[:4])
		}, ErrMisuse},
		{"Tag twice", func(s *Stream) error {
			_, err := s.Tag()
			must(t, err)
			_, err = s.Tag()
			return err
		}, ErrMisuse},
		{"Tag after Decrypt", func(s *Stream) error {
			must(t, s.Decrypt(buf[:4], buf[:4]))
			_, err := s.Tag()
			return err
		}, ErrMisuse},
		{"Verify after Encrypt", func(s *Stream) error {
			must(t, s.Encrypt(buf[:4], buf[:4]))
			return s.Verify(make([]byte, 16))
		}, ErrMisuse},
		{"short dst", func(s *Stream) error {
			return s.Encrypt(buf[:3], buf[:4])
		}, ErrMisuse},
		{"inexact overlap", func(s *Stream) error {
			return s.Decrypt(buf[1:20], buf[:19])
		}, ErrMisuse},
		{"text too long", func(s *Stream) error {
			s.textLen = MaxMessageSize - 3
			must(t, s.Encrypt(buf[:3], buf[:3])) // exactly at the limit
			return s.Encrypt(buf[:1], buf[:1])
		}, ErrTooLong},
		{"failed Verify", func(s *Stream) error {
			return s.Verify(make([]byte, 16))
		}, ErrAuthFailed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(newAES(t, make([]byte, 16)), make([]byte, 12), 16)
			if err != nil {
				t.Fatal(err)
			}
			if err := tc.steps(s); !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if err := s.AddAAD(nil); !errors.Is(err, tc.wantErr) {
				t.Errorf("later AddAAD = %v, want the recorded error", err)
			}
			if tag, err := s.Tag(); tag != nil || !errors.Is(err, tc.wantErr) {
				t.Errorf("later Tag = %x, %v; want nil and the recorded error", tag, err)
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestSeparateBuffers covers dst distinct from src and longer than it.
func TestSeparateBuffers(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	block := newAES(t, randBytes(r, 32))
	nonce, pt := randBytes(r, 12), randBytes(r, 1000)
	ref, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	want := ref.Seal(nil, nonce, pt, nil)

	s, err := New(block, nonce, 16)
	must(t, err)
	dst := make([]byte, len(pt)+50) // longer than src: the tail is untouched
	must(t, s.Encrypt(dst, pt))
	tag, err := s.Tag()
	must(t, err)
	if !bytes.Equal(append(dst[:len(pt):len(pt)], tag...), want) || !bytes.Equal(dst[len(pt):], make([]byte, 50)) {
		t.Fatal("Encrypt into a separate buffer differs from the stdlib")
	}

	d, err := New(block, nonce, 16)
	must(t, err)
	out := make([]byte, len(pt))
	must(t, d.Decrypt(out, want[:len(pt)]))
	if err := d.Verify(want[len(pt):]); err != nil || !bytes.Equal(out, pt) {
		t.Fatalf("Decrypt into a separate buffer: %v", err)
	}
}

var benchSizes = []struct {
	name string
	n    int
}{{"1KiB", 1 << 10}, {"64KiB", 64 << 10}, {"8MiB", 8 << 20}}

// BenchmarkEncrypt encrypts and tags one message of each size, in place.
func BenchmarkEncrypt(b *testing.B) {
	block := newAES(b, make([]byte, 16))
	nonce := make([]byte, 12)
	for _, size := range benchSizes {
		b.Run(size.name, func(b *testing.B) {
			buf := make([]byte, size.n)
			b.SetBytes(int64(size.n))
			for b.Loop() {
				s, err := New(block, nonce, 16)
				if err != nil {
					b.Fatal(err)
				}
				if err := s.Encrypt(buf, buf); err != nil {
					b.Fatal(err)
				}
				if _, err := s.Tag(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkStdlibSeal is the one-shot crypto/cipher AEAD, for comparison.
func BenchmarkStdlibSeal(b *testing.B) {
	aead, err := cipher.NewGCM(newAES(b, make([]byte, 16)))
	if err != nil {
		b.Fatal(err)
	}
	nonce := make([]byte, 12)
	for _, size := range benchSizes {
		b.Run(size.name, func(b *testing.B) {
			buf := make([]byte, size.n, size.n+16)
			b.SetBytes(int64(size.n))
			for b.Loop() {
				aead.Seal(buf[:0], nonce, buf, nil)
			}
		})
	}
}

// BenchmarkDecryptSegments decrypts 1 MiB in the bits a partner chooses:
// BER segments of 1000 bytes (Bouncy Castle's), or of 8 bytes.
func BenchmarkDecryptSegments(b *testing.B) {
	block, _ := aes.NewCipher(make([]byte, 16))
	buf := make([]byte, 1<<20)
	for _, seg := range []int{1000, 8} {
		b.Run(fmt.Sprint(seg), func(b *testing.B) {
			b.SetBytes(int64(len(buf)))
			for b.Loop() {
				s, _ := New(block, make([]byte, 12), 16)
				for p := buf; len(p) > 0; {
					n := min(seg, len(p))
					s.Decrypt(p[:n], p[:n])
					p = p[n:]
				}
			}
		})
	}
}
