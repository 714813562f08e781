package cms

import (
	"bytes"
	"compress/zlib"
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"
	"time"

	"github.com/as2gate/as2gate/internal/testpeer"
)

func payload(n int) []byte {
	r := rand.New(rand.NewPCG(uint64(n), 7))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func digestOf(h crypto.Hash, data []byte) map[crypto.Hash][]byte {
	d := h.New()
	d.Write(data)
	return map[crypto.Hash][]byte{h: d.Sum(nil)}
}

func sign(t *testing.T, s *Signer, content []byte) []byte {
	t.Helper()
	h := s.NewHash()
	h.Write(content)
	sig, err := s.Sign(h.Sum(nil))
	if err != nil {
		t.Fatal(err)
	}
	size, err := s.Size()
	if err != nil {
		t.Fatal(err)
	}
	if size != len(sig) {
		t.Fatalf("Size() = %d, Sign produced %d bytes", size, len(sig))
	}
	return sig
}

func TestSignVerify(t *testing.T) {
	alice := testpeer.NewIdentity(t, "alice")
	content := []byte("Content-Type: application/edi-x12\r\n\r\nISA*00*...~\r\n")
	for _, h := range SigningDigests {
		for _, scheme := range []SignatureScheme{PKCS1v15, PSS} {
			for _, protect := range []bool{false, true} {
				name := fmt.Sprintf("%s/%v/protection=%v", DigestName(h), scheme, protect)
				t.Run(name, func(t *testing.T) {
					s := &Signer{Key: alice.Key, Cert: alice.Cert, Digest: h, Scheme: scheme, AlgorithmProtection: protect}
					sd, err := ParseSignedData(sign(t, s, content))
					if err != nil {
						t.Fatal(err)
					}
					v, err := sd.Verify(VerifyOptions{Trusted: []*x509.Certificate{alice.Cert}, Digests: digestOf(h, content)})
					if err != nil {
						t.Fatal(err)
					}
					if v.Digest != h || v.Scheme != scheme || !v.Trusted || v.AlgorithmProtection != protect || !v.Signer.Equal(alice.Cert) {
						t.Fatalf("verified as %+v", v)
					}
				})
			}
		}
	}
}

func TestVerifyFailures(t *testing.T) {
	alice := testpeer.NewIdentity(t, "alice")
	mallory := testpeer.NewIdentity(t, "mallory")
	content := []byte("the signed content")
	s := &Signer{Key: alice.Key, Cert: alice.Cert, Digest: crypto.SHA256}
	sig := sign(t, s, content)
	sd, err := ParseSignedData(sig)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		opts VerifyOptions
		want error
	}{
		{"content changed", VerifyOptions{Trusted: []*x509.Certificate{alice.Cert}, Digests: digestOf(crypto.SHA256, []byte("other"))}, ErrDigestMismatch},
		{"other partner's certificate", VerifyOptions{Trusted: []*x509.Certificate{mallory.Cert}, Digests: digestOf(crypto.SHA256, content)}, ErrUnknownSigner},
		{"digest not computed", VerifyOptions{Trusted: []*x509.Certificate{alice.Cert}, Digests: digestOf(crypto.SHA1, content)}, ErrDigestNotComputed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := sd.Verify(tt.opts); !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
		})
	}
	t.Run("embedded certificate when none is trusted", func(t *testing.T) {
		v, err := sd.Verify(VerifyOptions{Digests: digestOf(crypto.SHA256, content)})
		if err != nil {
			t.Fatal(err)
		}
		if v.Trusted || !v.Signer.Equal(alice.Cert) {
			t.Fatalf("verified as %+v", v)
		}
	})
	t.Run("signature bytes changed", func(t *testing.T) {
		bad := append([]byte{}, sig...)
		bad[len(bad)-10] ^= 1 // inside the RSA signature, the last field
		sd, err := ParseSignedData(bad)
		if err != nil {
			t.Fatal(err)
		}
		_, err = sd.Verify(VerifyOptions{Trusted: []*x509.Certificate{alice.Cert}, Digests: digestOf(crypto.SHA256, content)})
		if !errors.Is(err, ErrSignature) {
			t.Fatalf("error %v, want ErrSignature", err)
		}
	})
}

// TestContentTypeAttribute: with signed attributes, the content type the
// signer signed must be present and be the encapsulated one (RFC 5652
// §5.3, §11.1); the encapsulated type itself is not signed.
func TestContentTypeAttribute(t *testing.T) {
	alice := testpeer.NewIdentity(t, "alice")
	content := []byte("the signed content")
	s := &Signer{Key: alice.Key, Cert: alice.Cert, Digest: crypto.SHA256}
	dataOID, _ := asn1.Marshal(oidData)
	otherOID, _ := asn1.Marshal(oidSignedData) // as long as dataOID
	contentTypeAttr, _ := asn1.Marshal(oidAttrContentType)
	otherAttr, _ := asn1.Marshal(asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 7}) // as long, and not known to us
	// signEdited signs after edit changed the DER signed attributes in
	// place: build embeds the attributes it handed to the signing function.
	signEdited := func(edit func(attrs []byte)) []byte {
		d := s.NewHash()
		d.Write(content)
		der, err := s.build(d.Sum(nil), time.Now(), func(attrs []byte) ([]byte, error) {
			edit(attrs)
			h := s.Digest.New()
			h.Write(attrs)
			return s.Key.Sign(nil, h.Sum(nil), s.Digest)
		})
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	replace := func(b, old, new []byte) {
		i := bytes.Index(b, old)
		if i < 0 {
			t.Fatalf("%x not found", old)
		}
		copy(b[i:], new)
	}
	encapChanged := sign(t, s, content)
	replace(encapChanged, dataOID, otherOID) // the first is the encapsulated content type
	tests := []struct {
		name string
		der  []byte
		ok   bool
	}{
		{"as signed", signEdited(func([]byte) {}), true},
		{"encapsulated type differs", encapChanged, false},
		{"signed type differs", signEdited(func(attrs []byte) { replace(attrs, dataOID, otherOID) }), false},
		{"no content-type attribute", signEdited(func(attrs []byte) { replace(attrs, contentTypeAttr, otherAttr) }), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sd, err := ParseSignedData(tt.der)
			if err == nil {
				_, err = sd.Verify(VerifyOptions{Trusted: []*x509.Certificate{alice.Cert}, Digests: digestOf(crypto.SHA256, content)})
			}
			if tt.ok != (err == nil) || (err != nil && !IsMalformed(err)) {
				t.Fatalf("error %v, want ok=%v or a malformed structure", err, tt.ok)
			}
		})
	}
}

func encrypt(t *testing.T, content []byte, opts EncryptOptions) []byte {
	t.Helper()
	var out bytes.Buffer
	w, err := NewEncrypter(&out, int64(len(content)), opts)
	if err != nil {
		t.Fatal(err)
	}
	// Write in uneven pieces to exercise the block buffering.
	for rest := content; len(rest) > 0; {
		k := min(len(rest), 1+len(rest)/3)
		if _, err := w.Write(rest[:k]); err != nil {
			t.Fatal(err)
		}
		rest = rest[k:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	size, err := EncryptedSize(int64(len(content)), opts)
	if err != nil {
		t.Fatal(err)
	}
	if size != int64(out.Len()) {
		t.Fatalf("EncryptedSize = %d, wrote %d", size, out.Len())
	}
	return out.Bytes()
}

func decrypt(r io.Reader, recipients []Recipient) ([]byte, *EnvelopeInfo, error) {
	c, err := ReadContentInfo(r)
	if err != nil {
		return nil, nil, err
	}
	plain, info, err := c.Decrypt(recipients)
	if err != nil {
		return nil, nil, err
	}
	got, err := io.ReadAll(plain)
	return got, info, err
}

var allTransports = []KeyTransport{{}, {OAEP: true, Hash: crypto.SHA1}, {OAEP: true, Hash: crypto.SHA256}, {OAEP: true, Hash: crypto.SHA512}}

func TestEncryptDecrypt(t *testing.T) {
	bob := testpeer.NewIdentity(t, "bob")
	recipients := []Recipient{{Cert: bob.Cert, Key: bob.Key}}
	for c := TripleDESCBC; c <= AES256GCM; c++ {
		for _, kt := range allTransports {
			for _, n := range []int{0, 1, 7, 8, 15, 16, 17, 1000, chunkSize - 1, chunkSize + 17} {
				t.Run(fmt.Sprintf("%v/%v/%d", c, kt, n), func(t *testing.T) {
					content := payload(n)
					enc := encrypt(t, content, EncryptOptions{Cipher: c, KeyTransport: kt, Recipients: []*x509.Certificate{bob.Cert}})
					var r io.Reader = bytes.NewReader(enc)
					if n < 100 {
						r = iotest.OneByteReader(r)
					}
					got, info, err := decrypt(r, recipients)
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(got, content) {
						t.Fatalf("decrypted %d bytes differ from the %d encrypted", len(got), n)
					}
					if info.Cipher != c || info.KeyTransport.OAEP != kt.OAEP || info.KeyTransport.oaepHash() != kt.oaepHash() {
						t.Fatalf("info %+v", info)
					}
				})
			}
		}
	}
}

func TestDecryptFailures(t *testing.T) {
	bob := testpeer.NewIdentity(t, "bob")
	mallory := testpeer.NewIdentity(t, "mallory")
	content := payload(5000)
	for _, c := range []Cipher{AES256CBC, AES128GCM} {
		enc := encrypt(t, content, EncryptOptions{Cipher: c, Recipients: []*x509.Certificate{bob.Cert}})
		t.Run(c.String()+"/not for us", func(t *testing.T) {
			_, _, err := decrypt(bytes.NewReader(enc), []Recipient{{Cert: mallory.Cert, Key: mallory.Key}})
			if !errors.Is(err, ErrNoRecipient) {
				t.Fatalf("error %v, want ErrNoRecipient", err)
			}
		})
		t.Run(c.String()+"/ciphertext changed", func(t *testing.T) {
			// CBC has no integrity of its own (the signature provides it):
			// change the byte that becomes the padding. GCM catches any change.
			at := len(enc) - 17
			if c.AEAD() {
				at = len(enc) - 40
			}
			bad := append([]byte{}, enc...)
			bad[at] ^= 0x80
			_, _, err := decrypt(bytes.NewReader(bad), []Recipient{{Cert: bob.Cert, Key: bob.Key}})
			if !errors.Is(err, ErrDecrypt) {
				t.Fatalf("error %v, want ErrDecrypt", err)
			}
		})
		t.Run(c.String()+"/truncated", func(t *testing.T) {
			for _, cut := range []int{10, 300, len(enc) - 100, len(enc) - 1} {
				if _, _, err := decrypt(bytes.NewReader(enc[:cut]), []Recipient{{Cert: bob.Cert, Key: bob.Key}}); err == nil {
					t.Fatalf("cut at %d: no error", cut)
				}
			}
		})
	}
}

func TestEncryptRejects(t *testing.T) {
	bob := testpeer.NewIdentity(t, "bob")
	for _, opts := range []EncryptOptions{
		{Cipher: DESCBC, Recipients: []*x509.Certificate{bob.Cert}},
		{Cipher: RC2CBC, Recipients: []*x509.Certificate{bob.Cert}},
		{Cipher: AES128CBC},
	} {
		if _, err := NewEncrypter(io.Discard, 10, opts); err == nil {
			t.Errorf("%+v: no error", opts)
		}
	}
	w, err := NewEncrypter(io.Discard, 3, EncryptOptions{Cipher: AES128CBC, Recipients: []*x509.Certificate{bob.Cert}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("four")); err == nil {
		t.Error("writing more than announced: no error")
	}
	w, _ = NewEncrypter(io.Discard, 3, EncryptOptions{Cipher: AES128CBC, Recipients: []*x509.Certificate{bob.Cert}})
	w.Write([]byte("ab"))
	if err := w.Close(); err == nil {
		t.Error("writing less than announced: no error")
	}
}

func compress(t *testing.T, content []byte) []byte {
	t.Helper()
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(content)
	zw.Close()
	return append(CompressedPrefix(int64(z.Len())), z.Bytes()...)
}

func decompress(in []byte, limit int64) ([]byte, error) {
	c, err := ReadContentInfo(bytes.NewReader(in))
	if err != nil {
		return nil, err
	}
	if c.Kind() != KindCompressedData {
		return nil, fmt.Errorf("kind %v", c.Kind())
	}
	r, err := c.Decompress(limit)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

func TestCompressDecompress(t *testing.T) {
	for _, n := range []int{0, 1, 100, 200000} {
		content := bytes.Repeat([]byte("UNB+UNOA:2+SENDER+RECEIVER'"), n/27+1)[:n]
		got, err := decompress(compress(t, content), 0)
		if err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
		if !bytes.Equal(got, content) {
			t.Fatalf("n=%d: round trip differs", n)
		}
	}
	t.Run("limit", func(t *testing.T) {
		_, err := decompress(compress(t, make([]byte, 1<<20)), 1000)
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("error %v, want ErrTooLarge", err)
		}
	})
	t.Run("corrupt", func(t *testing.T) {
		in := compress(t, payload(3000))
		in[len(in)-100] ^= 0xff
		if _, err := decompress(in, 0); !errors.Is(err, ErrDecompress) {
			t.Fatalf("error %v, want ErrDecompress", err)
		}
	})
}

// TestVerifyPSSWithoutParameters: pyas2lib writes rsassaPss with no
// parameters and hashes with the digest algorithm; such signatures verify.
func TestVerifyPSSWithoutParameters(t *testing.T) {
	alice := testpeer.NewIdentity(t, "alice")
	content := []byte("pss without parameters")
	s := &Signer{Key: alice.Key, Cert: alice.Cert, Digest: crypto.SHA256, Scheme: PSS}
	der := sign(t, s, content)

	var ci contentInfo
	if _, err := asn1.Unmarshal(der, &ci); err != nil {
		t.Fatal(err)
	}
	var sd signedDataIn
	if _, err := asn1.Unmarshal(ci.Content.Bytes, &sd); err != nil {
		t.Fatal(err)
	}
	sd.SignerInfos[0].SignatureAlgorithm = pkix.AlgorithmIdentifier{Algorithm: oidRSASSAPSS}
	inner, err := asn1.Marshal(sd)
	if err != nil {
		t.Fatal(err)
	}
	stripped, err := asn1.Marshal(contentInfo{ContentType: oidSignedData, Content: asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: inner}})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(stripped, der) {
		t.Fatal("the parameters were not removed")
	}
	parsed, err := ParseSignedData(stripped)
	if err != nil {
		t.Fatal(err)
	}
	v, err := parsed.Verify(VerifyOptions{Trusted: []*x509.Certificate{alice.Cert}, Digests: digestOf(crypto.SHA256, content)})
	if err != nil {
		t.Fatal(err)
	}
	if v.Scheme != PSS || v.Digest != crypto.SHA256 {
		t.Fatalf("verified as %+v", v)
	}
}
