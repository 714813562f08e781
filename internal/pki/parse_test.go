package pki

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const interopDir = "../../testdata/interop"

// fixture returns the path of a file in testdata/interop.
func fixture(name string) string {
	return filepath.Join(interopDir, filepath.FromSlash(name))
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(fixture(name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// derivedKey is the cert_test key that Go's standard library reads on its
// own; it is the reference for the encrypted forms of the same key.
func derivedKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	block, _ := pem.Decode(readFixture(t, "derived/pyas2lib_test_key_unencrypted.pem"))
	if block == nil {
		t.Fatal("no PEM block in derived key")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k.(*rsa.PrivateKey)
}

func parseCert(t *testing.T, name string) *x509.Certificate {
	t.Helper()
	b, err := ParseFile(fixture(name), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Certs) != 1 {
		t.Fatalf("%s holds %d certificates, want 1", name, len(b.Certs))
	}
	return b.Certs[0]
}

func commonNames(certs []*x509.Certificate) []string {
	var cns []string
	for _, c := range certs {
		cns = append(cns, c.Subject.CommonName)
	}
	return cns
}

func TestParseFixtures(t *testing.T) {
	tests := []struct {
		file, password string
		wantKey        bool
		wantCNs        []string // in the expected order
		wantErr        error
	}{
		{file: "pyas2lib-fixtures/cert_test.p12", password: "test", wantKey: true, wantCNs: []string{"pyas2lib"}},
		{file: "pyas2lib-fixtures/cert_test.p12", password: "wrong", wantErr: ErrBadPassword},
		{file: "pyas2lib-fixtures/cert_test.p12", password: "", wantErr: ErrBadPassword},
		{file: "pyas2lib-fixtures/cert_test.pem", password: "test", wantKey: true, wantCNs: []string{"pyas2lib"}},
		{file: "pyas2lib-fixtures/cert_test.pem", password: "wrong", wantErr: ErrBadPassword},
		{file: "pyas2lib-fixtures/cert_test.pem", password: "", wantErr: ErrBadPassword},
		{file: "pyas2lib-fixtures/cert_oldpyas2_private.pem", password: "password", wantKey: true, wantCNs: []string{"as2server"}},
		{file: "pyas2lib-fixtures/cert_oldpyas2_private.pem", password: "test", wantErr: ErrBadPassword},
		{file: "pyas2lib-fixtures/cert_test_public.pem", wantCNs: []string{"pyas2lib"}},
		{file: "pyas2lib-fixtures/verify_cert_test2.cer", wantCNs: []string{"as2test.summary-online.net"}},
		{file: "pyas2lib-fixtures/verify_cert_test3.ca", wantCNs: []string{"Entrust Root Certification Authority - G2", "Entrust Certification Authority - L1K"}},
		{file: "pyas2lib-fixtures/cert_sb2bi_public.ca", wantCNs: []string{"Entrust Root Certification Authority - G2", "Entrust Certification Authority - L1K"}},
		{file: "pyas2lib-fixtures/cert_sb2bi_public.pem", wantCNs: []string{"b2b.mclaneco.com"}},
		{file: "pyas2lib-fixtures/cert_mecas2_public.pem", wantCNs: []string{"mendelson test key 3"}},
		// A password is ignored when nothing is encrypted.
		{file: "pyas2lib-fixtures/cert_mecas2_public.pem", password: "unused", wantCNs: []string{"mendelson test key 3"}},
		{file: "derived/pyas2lib_test_key_unencrypted.pem", wantKey: true},
		{file: "pyas2lib-fixtures/payload.txt", wantErr: ErrUnknownFormat},
		{file: "pyas2lib-fixtures/payload.binary", wantErr: ErrUnknownFormat},
		{file: "pyas2lib-fixtures/mecas2_signed.mdn", wantErr: ErrUnknownFormat},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.file)+"/"+tt.password, func(t *testing.T) {
			b, err := ParseFile(fixture(tt.file), tt.password)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if b != nil {
					t.Errorf("got a bundle along with error %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (b.Key != nil) != tt.wantKey {
				t.Errorf("key = %T, want key: %v", b.Key, tt.wantKey)
			}
			if got := commonNames(b.Certs); strings.Join(got, "|") != strings.Join(tt.wantCNs, "|") {
				t.Errorf("certificates %q, want %q", got, tt.wantCNs)
			}
			if tt.wantKey && len(b.Certs) > 0 && !KeyMatchesCert(b.Key, b.Certs[0]) {
				t.Error("key does not match the first certificate")
			}
		})
	}
}

// The PBES2 PEM and the legacy PKCS#12 must yield the very key that the
// unencrypted derived file holds.
func TestParseEncryptedFormsGiveSameKey(t *testing.T) {
	want := derivedKey(t)
	for _, file := range []string{"pyas2lib-fixtures/cert_test.pem", "pyas2lib-fixtures/cert_test.p12"} {
		t.Run(filepath.Base(file), func(t *testing.T) {
			b, err := ParseFile(fixture(file), "test")
			if err != nil {
				t.Fatal(err)
			}
			got, ok := b.Key.(*rsa.PrivateKey)
			if !ok {
				t.Fatalf("key is %T, want *rsa.PrivateKey", b.Key)
			}
			if got.N.Cmp(want.N) != 0 || !got.Equal(want) {
				t.Error("decrypted key differs from derived/pyas2lib_test_key_unencrypted.pem")
			}
		})
	}
}

// The oldpyas2 private file carries its own certificate; the separate
// "public" file of the same name belongs to another key.
func TestParseOldPyas2KeyPair(t *testing.T) {
	b, err := ParseFile(fixture("pyas2lib-fixtures/cert_oldpyas2_private.pem"), "password")
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ParseFile(fixture("pyas2lib-fixtures/cert_oldpyas2_public.pem"), "")
	if err != nil {
		t.Fatal(err)
	}
	if KeyMatchesCert(b.Key, pub.Certs[0]) {
		t.Error("cert_oldpyas2_public.pem unexpectedly matches the private key")
	}
	if !KeyMatchesCert(b.Key, b.Certs[0]) {
		t.Error("the certificate bundled with the key does not match it")
	}
}

func concat(t *testing.T, files ...string) []byte {
	t.Helper()
	var out []byte
	for _, f := range files {
		out = append(out, readFixture(t, f)...)
		out = append(out, '\n')
	}
	return out
}

func TestParseOrdersLeafFirst(t *testing.T) {
	const (
		chain  = "pyas2lib-fixtures/verify_cert_test3.ca"
		mecas2 = "pyas2lib-fixtures/cert_mecas2_public.pem"
		certPw = "pyas2lib-fixtures/cert_test.pem"
		pub    = "pyas2lib-fixtures/cert_test_public.pem"
		key    = "derived/pyas2lib_test_key_unencrypted.pem"
		root   = "Entrust Root Certification Authority - G2"
		l1k    = "Entrust Certification Authority - L1K"
	)
	tests := []struct {
		name    string
		files   []string
		wantCNs []string
	}{
		{"leaf after chain", []string{chain, certPw}, []string{"pyas2lib", root, l1k}},
		{"leaf between others", []string{mecas2, pub, chain, key}, []string{"pyas2lib", "mendelson test key 3", root, l1k}},
		{"key first, leaf last", []string{key, chain, pub}, []string{"pyas2lib", root, l1k}},
		{"no matching cert keeps order", []string{chain, key, mecas2}, []string{root, l1k, "mendelson test key 3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Parse(concat(t, tt.files...), "test")
			if err != nil {
				t.Fatal(err)
			}
			if b.Key == nil {
				t.Fatal("no key")
			}
			if got := commonNames(b.Certs); strings.Join(got, "|") != strings.Join(tt.wantCNs, "|") {
				t.Errorf("certificates %q, want %q", got, tt.wantCNs)
			}
		})
	}
}

func TestParsePEMBlocks(t *testing.T) {
	cert := readFixture(t, "pyas2lib-fixtures/cert_mecas2_public.pem")
	key := readFixture(t, "derived/pyas2lib_test_key_unencrypted.pem")
	junkKey := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{0x30, 0x03, 0x02, 0x01, 0x00}})
	bigKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: make([]byte, maxKeyDER+1)})
	badCert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("not DER")})
	pubKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte("ignored")})
	tests := []struct {
		name     string
		data     []byte
		wantErr  error // nil: success expected
		anyError bool  // an error without a sentinel
	}{
		{name: "text before and between blocks", data: append(append([]byte("Bag Attributes\n  friendlyName: x\n"), cert...), append([]byte("subject=...\n"), key...)...)},
		{name: "unrelated block skipped", data: append(pubKey, cert...)},
		{name: "only unrelated blocks", data: pubKey, wantErr: ErrUnknownFormat},
		{name: "two keys", data: append(append([]byte{}, key...), key...), wantErr: ErrUnsupported},
		{name: "junk key", data: junkKey, anyError: true},
		{name: "oversized key", data: bigKey, wantErr: ErrTooLarge},
		{name: "bad certificate", data: append(append([]byte{}, cert...), badCert...), anyError: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Parse(tt.data, "")
			switch {
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			case tt.anyError && err == nil:
				t.Fatal("no error")
			case tt.wantErr == nil && !tt.anyError && err != nil:
				t.Fatal(err)
			case err == nil && b.Key == nil && len(b.Certs) == 0:
				t.Fatal("empty bundle without error")
			}
		})
	}
}

// garbage returns n deterministic pseudo-random bytes.
func garbage(n int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func TestParseRejectsGarbage(t *testing.T) {
	cert := readFixture(t, "pyas2lib-fixtures/cert_mecas2_public.pem")
	pad := func(n int) []byte { // cert preceded by a junk line, n bytes in all
		junk := bytes.Repeat([]byte("x"), n-len(cert))
		junk[len(junk)-1] = '\n'
		return append(junk, cert...)
	}
	tests := []struct {
		name    string
		data    []byte
		wantErr error // nil: success expected
	}{
		{"empty", nil, ErrUnknownFormat},
		{"random bytes", garbage(4096), ErrUnknownFormat},
		{"text", []byte("hello, world\n"), ErrUnknownFormat},
		{"empty SEQUENCE", []byte{0x30, 0x00}, ErrUnknownFormat},
		{"huge DER length", []byte{0x30, 0x84, 0x7f, 0xff, 0xff, 0xff, 0x02, 0x01, 0x03}, ErrUnknownFormat},
		{"PFX version only", []byte{0x30, 0x03, 0x02, 0x01, 0x03}, ErrUnknownFormat},
		{"unterminated PEM", []byte("-----BEGIN CERTIFICATE-----\nMIIB\n"), ErrUnknownFormat},
		{"many BEGIN lines", bytes.Repeat([]byte("-----BEGIN A-----\n"), MaxInputSize/18), ErrUnknownFormat},
		{"limit exactly", pad(MaxInputSize), nil},
		{"one byte over", pad(MaxInputSize + 1), ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Parse(tt.data, "test")
			if tt.wantErr == nil {
				if err != nil || len(b.Certs) != 1 {
					t.Fatalf("got %v, %v; want one certificate", b, err)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestParseTruncated(t *testing.T) {
	for _, file := range []string{
		"pyas2lib-fixtures/cert_test.p12",
		"pyas2lib-fixtures/verify_cert_test2.cer",
		"pyas2lib-fixtures/cert_test.pem",
		"pyas2lib-fixtures/verify_cert_test3.ca",
	} {
		data := readFixture(t, file)
		der := !bytes.HasPrefix(data, []byte("-----"))
		t.Run(filepath.Base(file), func(t *testing.T) {
			for _, n := range []int{1, 2, 10, 100, len(data) / 3, len(data) / 2, len(data) - 70, len(data) - 1} {
				b, err := Parse(data[:n], "test")
				if der && err == nil {
					t.Errorf("DER truncated to %d bytes parsed without error", n)
				}
				// A truncated PEM file may still hold whole blocks.
				if err == nil && b.Key == nil && len(b.Certs) == 0 {
					t.Errorf("truncated to %d bytes: empty bundle without error", n)
				}
			}
		})
	}
}

func TestParseFileLimits(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.pem")
	if err := os.WriteFile(big, bytes.Repeat([]byte("A"), 3*MaxInputSize), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ParseFile(big, ""); !errors.Is(err, ErrTooLarge) {
		t.Errorf("oversized file: err = %v, want ErrTooLarge", err)
	}
	if _, err := ParseFile(filepath.Join(dir, "missing.pem"), ""); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: err = %v, want not-exist", err)
	}
}

// withIterations re-encodes an encrypted PKCS#8 key with another PBKDF2
// iteration count (and so, in effect, a wrong key).
func withIterations(t *testing.T, der []byte, n int) []byte {
	t.Helper()
	var info encryptedPrivateKeyInfo
	var p pbes2Params
	var kdf pbkdf2Params
	if err := unmarshalDER(der, &info); err != nil {
		t.Fatal(err)
	}
	if err := unmarshalDER(info.Algorithm.Parameters.FullBytes, &p); err != nil {
		t.Fatal(err)
	}
	if err := unmarshalDER(p.KeyDerivationFunc.Parameters.FullBytes, &kdf); err != nil {
		t.Fatal(err)
	}
	kdf.IterationCount = n
	p.KeyDerivationFunc.Parameters = mustMarshal(t, kdf)
	info.Algorithm.Parameters = mustMarshal(t, p)
	return mustMarshal(t, info).FullBytes
}

func mustMarshal(t *testing.T, v any) asn1.RawValue {
	t.Helper()
	der, err := asn1.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return asn1.RawValue{FullBytes: der}
}

func TestPBES2IterationLimit(t *testing.T) {
	block, _ := pem.Decode(readFixture(t, "pyas2lib-fixtures/cert_test.pem"))
	if block == nil || block.Type != "ENCRYPTED PRIVATE KEY" {
		t.Fatal("cert_test.pem does not start with an encrypted key")
	}
	tests := []struct {
		iterations int
		wantErr    error
	}{
		{2048, nil}, // the real count: the re-encoding is faithful
		{0, ErrUnsupported},
		{-1, ErrUnsupported},
		{maxIterations + 1, ErrUnsupported},
		{1 << 30, ErrUnsupported},
		// Accepted and derived, then the changed count gives a wrong key.
		{maxIterations, ErrBadPassword},
	}
	for _, tt := range tests {
		der := withIterations(t, block.Bytes, tt.iterations)
		for _, form := range []struct {
			name string
			data []byte
		}{
			{"PEM", pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: der})},
			{"DER", der},
		} {
			_, err := Parse(form.data, "test")
			if !errors.Is(err, tt.wantErr) && (tt.wantErr != nil || err != nil) {
				t.Errorf("%d iterations, %s: err = %v, want %v", tt.iterations, form.name, err, tt.wantErr)
			}
			if tt.iterations == maxIterations {
				break // one slow derivation is enough
			}
		}
	}
}

func TestDecryptPKCS8Unsupported(t *testing.T) {
	block, _ := pem.Decode(readFixture(t, "pyas2lib-fixtures/cert_test.pem"))
	var info encryptedPrivateKeyInfo
	if err := unmarshalDER(block.Bytes, &info); err != nil {
		t.Fatal(err)
	}
	var p pbes2Params
	if err := unmarshalDER(info.Algorithm.Parameters.FullBytes, &p); err != nil {
		t.Fatal(err)
	}
	// encode swaps parts of the fixture's algorithm identifier.
	encode := func(outer asn1.ObjectIdentifier, kdf, cipher asn1.ObjectIdentifier) []byte {
		q := p
		q.KeyDerivationFunc.Algorithm = kdf
		q.EncryptionScheme.Algorithm = cipher
		i := info
		i.Algorithm.Algorithm = outer
		i.Algorithm.Parameters = mustMarshal(t, q)
		return mustMarshal(t, i).FullBytes
	}
	pbeSHA1And3DES := asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 1, 3}
	tests := []struct {
		name string
		der  []byte
	}{
		{"PKCS#12 PBE instead of PBES2", encode(pbeSHA1And3DES, oidPBKDF2, oidAES256CBC)},
		{"unknown KDF", encode(oidPBES2, oidHMACSHA256, oidAES256CBC)},
		{"unknown cipher", encode(oidPBES2, oidPBKDF2, asn1.ObjectIdentifier{1, 2, 3})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Parse(tt.der, "test"); !errors.Is(err, ErrUnsupported) {
				t.Errorf("err = %v, want ErrUnsupported", err)
			}
		})
	}
}

func TestUnpad(t *testing.T) {
	tests := []struct {
		in   []byte
		want []byte // nil: malformed
	}{
		{[]byte{'a', 'b', 2, 2}, []byte{'a', 'b'}},
		{[]byte{4, 4, 4, 4}, []byte{}},
		{[]byte{'a', 'b', 'c', 1}, []byte{'a', 'b', 'c'}},
		{[]byte{'a', 'b', 'c', 0}, nil}, // zero is no padding length
		{[]byte{'a', 'b', 1, 2}, nil},   // inconsistent bytes
		{[]byte{5, 5, 5, 5}, nil},       // longer than the block
		{[]byte{}, nil},                 // empty
	}
	for _, tt := range tests {
		got, ok := unpad(tt.in, 4)
		if ok != (tt.want != nil) || !bytes.Equal(got, tt.want) {
			t.Errorf("unpad(%v) = %v, %v; want %v", tt.in, got, ok, tt.want)
		}
	}
}
