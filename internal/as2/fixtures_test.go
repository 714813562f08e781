package as2

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/as2gate/as2gate/internal/cms"
	"github.com/as2gate/as2gate/internal/pki"
	"github.com/as2gate/as2gate/internal/testpeer"
)

func fixtureBundle(t *testing.T, name, password string) *pki.Bundle {
	t.Helper()
	b, err := loadFixtureBundle(name, password)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return b
}

func loadFixtureBundle(name, password string) (*pki.Bundle, error) {
	return pki.ParseFile(testpeer.Fixture(name), password)
}

func parseFixture(t *testing.T, name string, opts ParseOptions) (*Message, error) {
	t.Helper()
	f, err := os.Open(testpeer.Fixture("pyas2lib-fixtures", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h, body, err := ReadCapture(f)
	if err != nil {
		t.Fatal(err)
	}
	opts.TempDir = t.TempDir()
	return Parse(h, body, opts)
}

// TestMendelsonFixtures replays real messages from Mendelson AS2: every one
// must decrypt, verify and yield the EDIFACT payload byte for byte.
func TestMendelsonFixtures(t *testing.T) {
	ours := fixtureBundle(t, "pyas2lib-fixtures/cert_test.p12", "test")
	mendelson := fixtureBundle(t, "pyas2lib-fixtures/cert_mecas2_public.pem", "")
	want, err := os.ReadFile(testpeer.Fixture("pyas2lib-fixtures", "payload.txt"))
	if err != nil {
		t.Fatal(err)
	}
	opts := ParseOptions{
		Decrypt: []cms.Recipient{{Cert: ours.Certs[0], Key: ours.Key.(crypto.Decrypter)}},
		Verify:  []*x509.Certificate{mendelson.Certs[0]},
	}
	tests := []struct {
		file        string
		encrypted   bool
		signed      bool
		compression CompressMode
	}{
		{"mecas2_encrypted.as2", true, false, CompressNone},
		{"mecas2_compressed.as2", false, true, CompressBeforeSigning},
		{"mecas2_signed_encrypted.as2", true, true, CompressNone},
		{"mecas2_compressed_signed_encrypted.as2", true, true, CompressBeforeSigning},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			msg, err := parseFixture(t, tt.file, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer msg.Close()
			if len(msg.Parts) != 1 {
				t.Fatalf("%d parts", len(msg.Parts))
			}
			got, _ := os.ReadFile(msg.Parts[0].Path)
			if !bytes.Equal(got, want) {
				t.Fatalf("payload differs:\n%q\nwant\n%q", got, want)
			}
			if (msg.Encryption != nil) != tt.encrypted || (msg.Signature != nil) != tt.signed || msg.Compression != tt.compression {
				t.Fatalf("layers %+v, compression %v", msg.Layers, msg.Compression)
			}
			if tt.encrypted && msg.Encryption.Cipher != cms.TripleDESCBC {
				t.Fatalf("cipher %v", msg.Encryption.Cipher)
			}
			if tt.signed && !msg.Signature.Trusted {
				t.Fatal("signature not checked against the partner certificate")
			}
			if msg.From != "mecas2" || msg.To != "pyas2lib" {
				t.Fatalf("from %q to %q", msg.From, msg.To)
			}
			t.Logf("MIC %v; layers %+v", msg.MIC, msg.Layers)
		})
	}
}

// TestMendelsonSignedCRStripped: the capture lost its CRs, so the exact
// bytes no longer verify; the signature does once the header line ends are
// restored, and the payload is delivered as received.
func TestMendelsonSignedCRStripped(t *testing.T) {
	mendelson := fixtureBundle(t, "pyas2lib-fixtures/cert_mecas2_public.pem", "")
	msg, err := parseFixture(t, "mecas2_signed.as2", ParseOptions{Verify: mendelson.Certs})
	if err != nil {
		t.Fatal(err)
	}
	defer msg.Close()
	want, _ := os.ReadFile(testpeer.Fixture("pyas2lib-fixtures", "payload.txt"))
	got, _ := os.ReadFile(msg.Parts[0].Path)
	if !bytes.Equal(got, want) || msg.Signature == nil || !msg.Signature.Trusted {
		t.Fatalf("payload equal=%v signature=%+v", bytes.Equal(got, want), msg.Signature)
	}
	// The MIC is over the repaired entity, which an independent hash of
	// the repaired fixture confirms.
	repaired, err := os.ReadFile(testpeer.Fixture("derived", "mecas2_signed.entity-crlf-repaired.mime"))
	if err != nil {
		t.Fatal(err)
	}
	wantMIC := micOfFirstPart(t, repaired, msg.MIC.Alg)
	if !msg.MIC.Equal(wantMIC) {
		t.Fatalf("MIC %v, want %v", msg.MIC, wantMIC)
	}
}

// micOfFirstPart computes, independently of the MIME package, the MIC of
// the first part of a multipart entity given with its header: the bytes
// between the line after the first delimiter and the line break before
// the next one.
func micOfFirstPart(t *testing.T, entity []byte, alg crypto.Hash) MIC {
	t.Helper()
	m := regexp.MustCompile(`(?i)boundary="?([^";\r\n]+)"?`).FindSubmatch(entity)
	if m == nil {
		t.Fatal("no boundary")
	}
	delim := append([]byte("--"), m[1]...)
	start := bytes.Index(entity, append(append([]byte{}, delim...), '\r', '\n'))
	if start < 0 {
		t.Fatal("no first delimiter")
	}
	start += len(delim) + 2
	end := bytes.Index(entity[start:], append([]byte("\r\n"), delim...))
	if end < 0 {
		t.Fatal("no second delimiter")
	}
	h := alg.New()
	h.Write(entity[start : start+end])
	return MIC{Digest: h.Sum(nil), Alg: alg}
}

// TestMendelsonMICsAgainstOpenSSL: the MIC as2gate states for the
// encrypted fixtures equals one computed from OpenSSL's decryption of them.
func TestMendelsonMICsAgainstOpenSSL(t *testing.T) {
	openssl := testpeer.Command(t, "openssl")
	ours := fixtureBundle(t, "pyas2lib-fixtures/cert_test.p12", "test")
	mendelson := fixtureBundle(t, "pyas2lib-fixtures/cert_mecas2_public.pem", "")
	opts := ParseOptions{
		Decrypt: []cms.Recipient{{Cert: ours.Certs[0], Key: ours.Key.(crypto.Decrypter)}},
		Verify:  []*x509.Certificate{mendelson.Certs[0]},
	}
	for _, file := range []string{"mecas2_encrypted.as2", "mecas2_signed_encrypted.as2", "mecas2_compressed_signed_encrypted.as2"} {
		t.Run(file, func(t *testing.T) {
			msg, err := parseFixture(t, file, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer msg.Close()
			f, _ := os.Open(testpeer.Fixture("pyas2lib-fixtures", file))
			defer f.Close()
			h, body, err := ReadCapture(f)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			der, _ := io.ReadAll(body)
			os.WriteFile(filepath.Join(dir, "body.der"), der, 0o600)
			testpeer.Run(t, dir, openssl, "cms", "-decrypt", "-binary", "-inform", "DER", "-in", "body.der",
				"-recip", testpeer.Fixture("pyas2lib-fixtures", "cert_test_public.pem"),
				"-inkey", testpeer.Fixture("derived", "pyas2lib_test_key_unencrypted.pem"), "-out", "plain")
			plain, _ := os.ReadFile(filepath.Join(dir, "plain"))
			var want MIC
			if msg.Signature == nil {
				d := msg.MIC.Alg.New()
				d.Write(plain)
				want = MIC{Digest: d.Sum(nil), Alg: msg.MIC.Alg}
			} else {
				want = micOfFirstPart(t, plain, msg.MIC.Alg)
			}
			if !msg.MIC.Equal(want) {
				t.Fatalf("MIC %v, OpenSSL-derived %v (requested %q)", msg.MIC, want, h.Get("Disposition-Notification-Options"))
			}
		})
	}
}

// TestSterlingTruncatedMessage: the saved Sterling message lost bytes; it
// must be refused with a clear error, nothing kept.
func TestSterlingTruncatedMessage(t *testing.T) {
	sterling := fixtureBundle(t, "pyas2lib-fixtures/cert_sb2bi_public.pem", "")
	dir := t.TempDir()
	f, _ := os.Open(testpeer.Fixture("pyas2lib-fixtures", "sb2bi_signed_cmp.msg"))
	defer f.Close()
	h, body, err := ReadCapture(f)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Parse(h, body, ParseOptions{Verify: sterling.Certs, TempDir: dir})
	if err == nil {
		t.Fatal("a truncated message was accepted")
	}
	if f := FailureOf(err); f != AuthenticationFailed && f != DecompressionFailed && f != IntegrityCheckFailed {
		t.Fatalf("failure %s (%v)", f, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("%d files left behind", len(entries))
	}
	t.Logf("refused: %v", err)
}
