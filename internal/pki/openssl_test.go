package pki

// OpenSSL is a real, independent producer and consumer of every format we
// handle: these tests parse what the OpenSSL CLI writes and feed OpenSSL
// what we write.

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// requireOpenSSL returns a runner for the openssl CLI in dir. Without
// openssl the test fails when AS2GATE_REQUIRE_PEERS=1 and is skipped,
// loudly, otherwise.
func requireOpenSSL(t *testing.T, dir string) func(t *testing.T, args ...string) string {
	t.Helper()
	bin, err := exec.LookPath("openssl")
	if err != nil {
		const msg = "openssl is MISSING from PATH: the OpenSSL interop tests DID NOT RUN"
		if os.Getenv("AS2GATE_REQUIRE_PEERS") == "1" {
			t.Fatal(msg + " (AS2GATE_REQUIRE_PEERS=1)")
		}
		t.Skip("SKIPPED: " + msg + "; set AS2GATE_REQUIRE_PEERS=1 to make this a failure")
	}
	return func(t *testing.T, args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
		}
		return string(out)
	}
}

// readKey parses an unencrypted key file with the standard library only.
func readKey(t *testing.T, path string) any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for block, rest := pem.Decode(data); block != nil; block, rest = pem.Decode(rest) {
		switch block.Type {
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			return k
		case "RSA PRIVATE KEY":
			k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			return k
		case "EC PRIVATE KEY":
			k, err := x509.ParseECPrivateKey(block.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			return k
		}
	}
	t.Fatalf("no plain private key in %s", path)
	return nil
}

func TestOpenSSLProducedFiles(t *testing.T) {
	dir := t.TempDir()
	openssl := requireOpenSSL(t, dir)
	const pw = "s3cret"
	pass := "pass:" + pw

	// The reference material: an RSA key (PKCS#8) with its certificate, a
	// traditional RSA key (PKCS#1) and an EC key (SEC 1).
	openssl(t, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "key.pem", "-out", "cert.pem",
		"-subj", "/CN=openssl-peer/O=Peer Org", "-days", "30")
	openssl(t, "genrsa", "-traditional", "-out", "trad.pem", "2048")
	openssl(t, "ecparam", "-name", "prime256v1", "-genkey", "-out", "ec.pem")
	openssl(t, "req", "-x509", "-key", "ec.pem", "-out", "ec-cert.pem", "-subj", "/CN=ec-peer", "-days", "1")

	// Everything else is derived from those by OpenSSL.
	openssl(t, "pkcs12", "-export", "-inkey", "key.pem", "-in", "cert.pem", "-out", "modern.p12", "-passout", pass)
	openssl(t, "pkcs12", "-export", "-legacy", "-inkey", "key.pem", "-in", "cert.pem", "-out", "legacy.p12", "-passout", pass)
	openssl(t, "pkcs12", "-export", "-inkey", "key.pem", "-in", "cert.pem", "-certfile", "ec-cert.pem", "-out", "chain.p12", "-passout", pass)
	openssl(t, "pkcs8", "-topk8", "-in", "key.pem", "-v2", "aes-256-cbc", "-outform", "DER", "-out", "enc.der", "-passout", pass)
	openssl(t, "pkcs8", "-topk8", "-in", "key.pem", "-nocrypt", "-outform", "DER", "-out", "pkcs8.der")
	openssl(t, "pkcs8", "-topk8", "-in", "key.pem", "-v1", "PBE-SHA1-3DES", "-out", "pbes1.pem", "-passout", pass)
	openssl(t, "rsa", "-in", "trad.pem", "-aes256", "-traditional", "-out", "trad-aes.pem", "-passout", pass)
	openssl(t, "rsa", "-in", "trad.pem", "-des3", "-traditional", "-out", "trad-des3.pem", "-passout", pass)
	openssl(t, "rsa", "-in", "trad.pem", "-traditional", "-outform", "DER", "-out", "pkcs1.der")
	openssl(t, "ec", "-in", "ec.pem", "-aes128", "-out", "ec-aes.pem", "-passout", pass)
	openssl(t, "ec", "-in", "ec.pem", "-outform", "DER", "-out", "sec1.der")
	openssl(t, "x509", "-in", "cert.pem", "-outform", "DER", "-out", "cert.der")

	type matrixCase struct{ cipher, prf string }
	var matrix []matrixCase
	for _, c := range []string{"aes-128-cbc", "aes-192-cbc", "aes-256-cbc", "des3"} {
		for _, p := range []string{"hmacWithSHA1", "hmacWithSHA224", "hmacWithSHA256", "hmacWithSHA384", "hmacWithSHA512"} {
			matrix = append(matrix, matrixCase{c, p})
			openssl(t, "pkcs8", "-topk8", "-in", "key.pem", "-v2", c, "-v2prf", p, "-out", c+"-"+p+".pem", "-passout", pass)
		}
	}

	rsaKey := readKey(t, filepath.Join(dir, "key.pem")).(*rsa.PrivateKey)
	tradKey := readKey(t, filepath.Join(dir, "trad.pem")).(*rsa.PrivateKey)
	ecKey := readKey(t, filepath.Join(dir, "ec.pem")).(*ecdsa.PrivateKey)

	type testCase struct {
		files    []string // concatenated
		password string
		wantKey  interface{ Equal(crypto.PrivateKey) bool } // nil: no key
		wantCNs  []string
		wantErr  error
	}
	tests := []testCase{
		{files: []string{"cert.pem"}, wantCNs: []string{"openssl-peer"}},
		{files: []string{"cert.der"}, wantCNs: []string{"openssl-peer"}},
		{files: []string{"key.pem"}, wantKey: rsaKey},
		{files: []string{"cert.pem", "key.pem"}, wantKey: rsaKey, wantCNs: []string{"openssl-peer"}},
		{files: []string{"pkcs8.der"}, wantKey: rsaKey},
		{files: []string{"modern.p12"}, password: pw, wantKey: rsaKey, wantCNs: []string{"openssl-peer"}},
		{files: []string{"modern.p12"}, password: "wrong", wantErr: ErrBadPassword},
		{files: []string{"legacy.p12"}, password: pw, wantKey: rsaKey, wantCNs: []string{"openssl-peer"}},
		{files: []string{"legacy.p12"}, password: "wrong", wantErr: ErrBadPassword},
		{files: []string{"chain.p12"}, password: pw, wantKey: rsaKey, wantCNs: []string{"openssl-peer", "ec-peer"}},
		{files: []string{"enc.der"}, password: pw, wantKey: rsaKey},
		{files: []string{"enc.der"}, password: "wrong", wantErr: ErrBadPassword},
		{files: []string{"pbes1.pem"}, password: pw, wantErr: ErrUnsupported},
		{files: []string{"trad.pem"}, wantKey: tradKey},
		{files: []string{"pkcs1.der"}, wantKey: tradKey},
		{files: []string{"trad-aes.pem"}, password: pw, wantKey: tradKey},
		{files: []string{"trad-aes.pem"}, password: "wrong", wantErr: ErrBadPassword},
		{files: []string{"trad-aes.pem"}, password: "", wantErr: ErrBadPassword},
		{files: []string{"trad-des3.pem"}, password: pw, wantKey: tradKey},
		{files: []string{"ec.pem"}, wantKey: ecKey},
		{files: []string{"sec1.der"}, wantKey: ecKey},
		{files: []string{"ec-cert.pem", "ec-aes.pem"}, password: pw, wantKey: ecKey, wantCNs: []string{"ec-peer"}},
		{files: []string{"ec-aes.pem"}, password: "wrong", wantErr: ErrBadPassword},
	}
	for _, m := range matrix {
		name := m.cipher + "-" + m.prf + ".pem"
		tests = append(tests,
			testCase{files: []string{name}, password: pw, wantKey: rsaKey},
			testCase{files: []string{name}, password: "wrong", wantErr: ErrBadPassword})
	}

	for _, tt := range tests {
		t.Run(strings.Join(tt.files, "+")+"/"+tt.password, func(t *testing.T) {
			var data []byte
			for _, f := range tt.files {
				b, err := os.ReadFile(filepath.Join(dir, f))
				if err != nil {
					t.Fatal(err)
				}
				data = append(data, b...)
			}
			b, err := Parse(data, tt.password)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tt.wantKey == nil && b.Key != nil:
				t.Errorf("unexpected key %T", b.Key)
			case tt.wantKey != nil && !tt.wantKey.Equal(b.Key):
				t.Errorf("key %T differs from OpenSSL's plain key", b.Key)
			}
			if got := commonNames(b.Certs); strings.Join(got, "|") != strings.Join(tt.wantCNs, "|") {
				t.Errorf("certificates %q, want %q", got, tt.wantCNs)
			}
		})
	}
}

func absFixture(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(fixture(name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// opensslField returns the value of "name=value" in out.
func opensslField(t *testing.T, out, name string) string {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, name+"="); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("no %q in openssl output:\n%s", name, out)
	return ""
}

// Describe must agree with what `openssl x509` prints.
func TestOpenSSLDescribe(t *testing.T) {
	dir := t.TempDir()
	openssl := requireOpenSSL(t, dir)
	openssl(t, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "key.pem", "-out", "cert.pem",
		"-subj", "/CN=openssl peer/O=Peer, Org/OU=AS2/emailAddress=peer@example.com", "-days", "30")
	files := []string{
		filepath.Join(dir, "cert.pem"),
		// openssl runs in dir, so fixtures need absolute paths.
		absFixture(t, "pyas2lib-fixtures/cert_test_public.pem"),
		absFixture(t, "pyas2lib-fixtures/cert_mecas2_public.pem"),
		absFixture(t, "pyas2lib-fixtures/verify_cert_test3.pem"),
		absFixture(t, "pyas2lib-fixtures/verify_cert_test2.cer"),
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := ParseFile(f, "")
			if err != nil {
				t.Fatal(err)
			}
			got := Describe(b.Certs[0])
			form := "PEM"
			if strings.HasSuffix(f, ".cer") {
				form = "DER"
			}
			common := []string{"x509", "-in", f, "-inform", form, "-noout"}
			out := openssl(t, append(common, "-serial", "-subject", "-issuer", "-nameopt", "RFC2253", "-startdate", "-enddate", "-fingerprint", "-sha256")...)
			sha1 := opensslField(t, openssl(t, append(common, "-fingerprint", "-sha1")...), "sha1 Fingerprint")
			const dateLayout = "Jan _2 15:04:05 2006 MST"
			notBefore, err := time.Parse(dateLayout, opensslField(t, out, "notBefore"))
			if err != nil {
				t.Fatal(err)
			}
			notAfter, err := time.Parse(dateLayout, opensslField(t, out, "notAfter"))
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct{ field, got, want string }{
				{"serial", got.SerialHex, opensslField(t, out, "serial")},
				{"subject", got.Subject, opensslField(t, out, "subject")},
				{"issuer", got.Issuer, opensslField(t, out, "issuer")},
				{"sha256", got.FingerprintSHA256, opensslField(t, out, "sha256 Fingerprint")},
				{"sha1", got.FingerprintSHA1, sha1},
			} {
				if c.got != c.want {
					t.Errorf("%s = %q, openssl says %q", c.field, c.got, c.want)
				}
			}
			if !got.NotBefore.Equal(notBefore) || !got.NotAfter.Equal(notAfter) {
				t.Errorf("validity %v to %v, openssl says %v to %v", got.NotBefore, got.NotAfter, notBefore, notAfter)
			}
		})
	}
}

// OpenSSL must read the keys, certificates and PKCS#12 files we write.
func TestOpenSSLReadsOurFiles(t *testing.T) {
	dir := t.TempDir()
	openssl := requireOpenSSL(t, dir)
	key, cert, err := GenerateSelfSigned(SelfSignedOptions{
		CommonName: "as2gate test", Organization: "as2gate", Country: "DE", KeyBits: 2048, ValidYears: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	chain := parseCert(t, "pyas2lib-fixtures/cert_mecas2_public.pem")
	keyPEM, err := EncodeKeyPEM(key)
	if err != nil {
		t.Fatal(err)
	}
	p12, err := EncodePKCS12(key, cert, []*x509.Certificate{chain}, "pw")
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"key.pem": keyPEM, "cert.pem": EncodeCertPEM(cert), "out.p12": p12} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	text := openssl(t, "x509", "-in", "cert.pem", "-noout", "-text")
	for _, want := range []string{
		"Digital Signature, Key Encipherment, Data Encipherment",
		"CA:FALSE",
		"X509v3 Subject Key Identifier",
		"Public-Key: (2048 bit)",
		"Subject: C = DE, O = as2gate, CN = as2gate test",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("openssl x509 -text lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "Extended Key Usage") {
		t.Errorf("certificate has an extended key usage:\n%s", text)
	}
	if out := openssl(t, "rsa", "-in", "key.pem", "-check", "-noout"); !strings.Contains(out, "RSA key ok") {
		t.Errorf("openssl rsa -check: %s", out)
	}
	if k, c := openssl(t, "rsa", "-in", "key.pem", "-noout", "-modulus"), openssl(t, "x509", "-in", "cert.pem", "-noout", "-modulus"); k != c {
		t.Errorf("key modulus %s differs from certificate modulus %s", k, c)
	}

	// OpenSSL unpacks our PKCS#12; its PEM output must hold our key and
	// both certificates.
	openssl(t, "pkcs12", "-in", "out.p12", "-passin", "pass:pw", "-noenc", "-out", "dump.pem")
	b, err := ParseFile(filepath.Join(dir, "dump.pem"), "")
	if err != nil {
		t.Fatal(err)
	}
	if !key.Equal(b.Key) || len(b.Certs) != 2 || !b.Certs[0].Equal(cert) || !b.Certs[1].Equal(chain) {
		t.Errorf("openssl's dump holds key %T and %q", b.Key, commonNames(b.Certs))
	}
	cmd := exec.Command("openssl", "pkcs12", "-in", "out.p12", "-passin", "pass:wrong", "-noenc")
	cmd.Dir = dir
	if err := cmd.Run(); err == nil {
		t.Error("openssl accepted a wrong PKCS#12 password")
	}
}
