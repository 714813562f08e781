package rc2

import (
	"bytes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"errors"
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

// The test vectors of RFC 2268 §5.
var rfcVectors = []struct {
	key        string
	effective  int
	plaintext  string
	ciphertext string
}{
	{"0000000000000000", 63, "0000000000000000", "ebb773f993278eff"},
	{"ffffffffffffffff", 64, "ffffffffffffffff", "278b27e42e2f0d49"},
	{"3000000000000000", 64, "1000000000000001", "30649edf9be7d2c2"},
	{"88", 64, "0000000000000000", "61a8a244adacccf0"},
	{"88bca90e90875a", 64, "0000000000000000", "6ccf4308974c267f"},
	{"88bca90e90875a7f0f79c384627bafb2", 64, "0000000000000000", "1a807d272bbe5db1"},
	{"88bca90e90875a7f0f79c384627bafb2", 128, "0000000000000000", "2269552ab0f85ca6"},
	{"88bca90e90875a7f0f79c384627bafb216f80a6f85920584c42fceb0be255daf1e", 129, "0000000000000000", "5b78d3a43dfff1f1"},
}

func TestRFC2268Vectors(t *testing.T) {
	for _, v := range rfcVectors {
		t.Run(v.key+"/"+v.ciphertext, func(t *testing.T) {
			c, err := NewCipher(unhex(t, v.key), v.effective)
			if err != nil {
				t.Fatal(err)
			}
			pt, ct := unhex(t, v.plaintext), unhex(t, v.ciphertext)
			got := make([]byte, BlockSize)
			c.Encrypt(got, pt)
			if !bytes.Equal(got, ct) {
				t.Errorf("Encrypt = %x, want %x", got, ct)
			}
			c.Decrypt(got, ct)
			if !bytes.Equal(got, pt) {
				t.Errorf("Decrypt = %x, want %x", got, pt)
			}
		})
	}
}

func TestPiTableIsPermutation(t *testing.T) {
	var seen [256]bool
	for _, b := range piTable {
		if seen[b] {
			t.Fatalf("value %#x appears twice", b)
		}
		seen[b] = true
	}
}

// TestCBCRoundTrip checks that the block plugs into crypto/cipher and that
// Decrypt inverts Encrypt for many key and effective lengths, including in
// place.
func TestCBCRoundTrip(t *testing.T) {
	tests := []struct {
		keyLen, effective int
	}{
		{1, 1}, {5, 40}, {8, 64}, {16, 128}, {16, 40}, {33, 129}, {64, 300}, {128, 1024}, {128, 1},
	}
	for _, tc := range tests {
		key := make([]byte, tc.keyLen)
		iv := make([]byte, BlockSize)
		plaintext := make([]byte, 40*BlockSize)
		for _, b := range [][]byte{key, iv, plaintext} {
			if _, err := rand.Read(b); err != nil {
				t.Fatal(err)
			}
		}
		c, err := NewCipher(key, tc.effective)
		if err != nil {
			t.Fatalf("NewCipher(%d-byte key, %d): %v", tc.keyLen, tc.effective, err)
		}
		if c.BlockSize() != BlockSize {
			t.Fatalf("BlockSize() = %d", c.BlockSize())
		}
		ct := make([]byte, len(plaintext))
		cipher.NewCBCEncrypter(c, iv).CryptBlocks(ct, plaintext)
		if bytes.Equal(ct, plaintext) {
			t.Fatalf("key %d/%d: ciphertext equals plaintext", tc.keyLen, tc.effective)
		}
		got := bytes.Clone(ct)
		cipher.NewCBCDecrypter(c, iv).CryptBlocks(got, got)
		if !bytes.Equal(got, plaintext) {
			t.Errorf("key %d/%d: CBC round trip mismatch", tc.keyLen, tc.effective)
		}
	}
}

// TestEffectiveBitsMatter guards the key reduction step: the same key must
// give different ciphers for different effective lengths.
func TestEffectiveBitsMatter(t *testing.T) {
	key := unhex(t, "88bca90e90875a7f0f79c384627bafb2")
	seen := map[string]int{}
	for _, bits := range []int{8, 40, 64, 72, 128, 1024} {
		c, err := NewCipher(key, bits)
		if err != nil {
			t.Fatal(err)
		}
		out := make([]byte, BlockSize)
		c.Encrypt(out, make([]byte, BlockSize))
		if prev, ok := seen[string(out)]; ok {
			t.Errorf("effective bits %d and %d give the same ciphertext", prev, bits)
		}
		seen[string(out)] = bits
	}
}

func TestNewCipherInvalid(t *testing.T) {
	tests := []struct {
		name      string
		keyLen    int
		effective int
	}{
		{"empty key", 0, 64},
		{"key too long", 129, 64},
		{"zero effective bits", 16, 0},
		{"negative effective bits", 16, -8},
		{"effective bits too large", 16, 1025},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := NewCipher(make([]byte, tc.keyLen), tc.effective)
			if !errors.Is(err, ErrInvalidParameter) {
				t.Fatalf("err = %v, want ErrInvalidParameter", err)
			}
			if c != nil {
				t.Errorf("got a cipher with an error")
			}
		})
	}
}

func TestEffectiveBitsFromVersion(t *testing.T) {
	tests := []struct {
		version int
		want    int
		wantErr bool
	}{
		{160, 40, false},
		{120, 64, false},
		{58, 128, false},
		{256, 256, false},
		{1024, 1024, false},
		{0, 0, true},
		{-1, 0, true},
		{32, 0, true},
		{40, 0, true},
		{128, 0, true},
		{255, 0, true},
		{1025, 0, true},
	}
	for _, tc := range tests {
		got, err := EffectiveBitsFromVersion(tc.version)
		if tc.wantErr {
			if !errors.Is(err, ErrInvalidParameter) {
				t.Errorf("version %d: err = %v, want ErrInvalidParameter", tc.version, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("version %d = %d, %v; want %d", tc.version, got, err, tc.want)
		}
	}
}

func BenchmarkDecryptCBC(b *testing.B) {
	c, err := NewCipher(make([]byte, 16), 128)
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 64*1024)
	dec := cipher.NewCBCDecrypter(c, make([]byte, BlockSize))
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		dec.CryptBlocks(buf, buf)
	}
}
