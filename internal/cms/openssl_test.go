package cms

// Interoperability with the OpenSSL command line (openssl cms), in both
// directions. The helpers at the top are shared with the NSS and Bouncy
// Castle tests.

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/as2gate/as2gate/internal/testpeer"
)

// The payloads are binary (all byte values, including CR, LF and NUL), so
// that any line-ending canonicalisation by a peer shows up as a difference.
const (
	interopSize = 10007  // not a multiple of any block size
	largeSize   = 600001 // crosses the 256 KiB streaming chunk twice
)

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// samePayload fails the test when a peer's output differs from the input.
func samePayload(t *testing.T, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		i := 0
		for i < len(got) && i < len(want) && got[i] == want[i] {
			i++
		}
		t.Fatalf("payload differs: got %d bytes, want %d, first difference at offset %d", len(got), len(want), i)
	}
}

// goDecrypt decrypts a peer's enveloped data as a receiver does: from a
// stream, for the identity's certificate and key.
func goDecrypt(t *testing.T, der []byte, id *testpeer.Identity) ([]byte, *EnvelopeInfo) {
	t.Helper()
	got, info, err := decrypt(bytes.NewReader(der), []Recipient{{Cert: id.Cert, Key: id.Key}})
	if err != nil {
		t.Fatalf("decrypting the peer's message: %v", err)
	}
	return got, info
}

// goVerify verifies a detached signature as a receiver does: parse it,
// hash the content with every digest the signers name, verify.
func goVerify(sig, content []byte, trusted ...*x509.Certificate) (*Verified, error) {
	sd, err := ParseSignedData(sig)
	if err != nil {
		return nil, err
	}
	return verifyParsed(sd, content, trusted...)
}

func verifyParsed(sd *SignedData, content []byte, trusted ...*x509.Certificate) (*Verified, error) {
	digests := map[crypto.Hash][]byte{}
	for _, h := range sd.Digests() {
		d := h.New()
		d.Write(content)
		digests[h] = d.Sum(nil)
	}
	return sd.Verify(VerifyOptions{Trusted: trusted, Digests: digests})
}

// tampered returns a copy of content with one byte changed.
func tampered(content []byte) []byte {
	out := slices.Clone(content)
	out[len(out)/2] ^= 0x01
	return out
}

// opensslCipher is OpenSSL's name of each cipher, which is also its
// `openssl cms -encrypt` option.
var opensslCipher = map[Cipher]string{
	TripleDESCBC: "des-ede3-cbc", AES128CBC: "aes-128-cbc", AES192CBC: "aes-192-cbc", AES256CBC: "aes-256-cbc",
	AES128GCM: "aes-128-gcm", AES192GCM: "aes-192-gcm", AES256GCM: "aes-256-gcm", DESCBC: "des-cbc", RC2CBC: "rc2-cbc",
}

// opensslKeyopts are the recipient options that select a key transport.
func opensslKeyopts(kt KeyTransport) []string {
	if !kt.OAEP {
		return nil
	}
	h := DigestName(kt.oaepHash())
	return []string{"-keyopt", "rsa_padding_mode:oaep", "-keyopt", "rsa_oaep_md:" + h, "-keyopt", "rsa_mgf1_md:" + h}
}

// printedAlgorithm reads the output of `openssl cms -cmsout -print`: the
// algorithm OpenSSL names under field (contentEncryptionAlgorithm,
// keyEncryptionAlgorithm, digestAlgorithm, signatureAlgorithm) and the
// object names in its parameters, in order (for example sha256, mgf1,
// sha256 for RSAES-OAEP with SHA-256).
func printedAlgorithm(t *testing.T, print, field string) (string, []string) {
	t.Helper()
	lines := strings.Split(print, "\n")
	for i, l := range lines {
		if strings.TrimSpace(l) != field+":" {
			continue
		}
		if i+1 >= len(lines) {
			break
		}
		name, ok := strings.CutPrefix(strings.TrimSpace(lines[i+1]), "algorithm: ")
		if !ok {
			break
		}
		name, _, _ = strings.Cut(name, " ")
		var params []string
		for _, p := range lines[i+2:] {
			p = strings.TrimSpace(p)
			if p == "" || !(p[0] >= '0' && p[0] <= '9' || strings.HasPrefix(p, "parameter:")) {
				break // the next field; parameters are asn1parse lines that start with an offset
			}
			if strings.Contains(p, " OBJECT ") {
				params = append(params, p[strings.LastIndex(p, ":")+1:])
			}
		}
		return name, params
	}
	t.Fatalf("openssl -print shows no %s:\n%s", field, print)
	return "", nil
}

// opensslPrint is what OpenSSL reads in a DER CMS file.
func opensslPrint(t *testing.T, bin, dir, path string) string {
	t.Helper()
	return string(testpeer.Run(t, dir, bin, "cms", "-cmsout", "-print", "-noout", "-inform", "DER", "-in", path))
}

// wantParams is how OpenSSL prints the parameters we write for an
// OAEP or PSS hash: hash, MGF1 and its hash; nothing for OAEP's SHA-1 default.
func wantParams(h crypto.Hash, oaep bool) []string {
	if oaep && h == crypto.SHA1 {
		return nil
	}
	return []string{DigestName(h), "mgf1", DigestName(h)}
}

func TestOpenSSLDecryptsOurs(t *testing.T) {
	bin := testpeer.Command(t, "openssl")
	bob := testpeer.NewIdentity(t, "bob")
	type row struct {
		cipher Cipher
		kt     KeyTransport
		size   int
	}
	var rows []row
	for c := TripleDESCBC; c <= AES256GCM; c++ {
		for _, kt := range allTransports {
			rows = append(rows, row{c, kt, interopSize})
		}
	}
	rows = append(rows, row{AES256CBC, KeyTransport{}, largeSize}, row{AES128GCM, KeyTransport{OAEP: true, Hash: crypto.SHA256}, largeSize})
	for _, r := range rows {
		t.Run(fmt.Sprintf("%v/%v/%d", r.cipher, r.kt, r.size), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			key, cert := bob.WritePEM(t, dir, "bob")
			content := payload(r.size)
			enc := writeFile(t, dir, "enc.der", encrypt(t, content, EncryptOptions{Cipher: r.cipher, KeyTransport: r.kt, Recipients: []*x509.Certificate{bob.Cert}}))
			testpeer.Run(t, dir, bin, "cms", "-decrypt", "-binary", "-inform", "DER", "-in", enc, "-recip", cert, "-inkey", key, "-out", "dec.bin")
			samePayload(t, readFile(t, filepath.Join(dir, "dec.bin")), content)

			print := opensslPrint(t, bin, dir, enc)
			if name, _ := printedAlgorithm(t, print, "contentEncryptionAlgorithm"); name != opensslCipher[r.cipher] {
				t.Errorf("OpenSSL reads the cipher as %s, want %s", name, opensslCipher[r.cipher])
			}
			name, params := printedAlgorithm(t, print, "keyEncryptionAlgorithm")
			want, wantP := "rsaEncryption", []string(nil)
			if r.kt.OAEP {
				want, wantP = "rsaesOaep", wantParams(r.kt.oaepHash(), true)
			}
			if name != want || !slices.Equal(params, wantP) {
				t.Errorf("OpenSSL reads the key transport as %s %v, want %s %v", name, params, want, wantP)
			}
		})
	}
}

// opensslLegacy reports whether OpenSSL's legacy provider (DES, RC2) loads.
func opensslLegacy(t *testing.T, bin string) {
	t.Helper()
	if out, err := testpeer.RunErr(t.TempDir(), bin, "list", "-providers", "-provider", "legacy"); err != nil {
		testpeer.Missing(t, "OpenSSL legacy provider (DES, RC2): "+strings.TrimSpace(string(out)))
	}
}

func TestOpenSSLEncryptsForUs(t *testing.T) {
	bin := testpeer.Command(t, "openssl")
	bob := testpeer.NewIdentity(t, "bob")
	type row struct {
		cipher Cipher
		option string // OpenSSL's cipher option, without the dash
		kt     KeyTransport
		stream bool // -stream: BER with indefinite lengths
		legacy bool
		size   int
	}
	var rows []row
	for c := TripleDESCBC; c <= AES256GCM; c++ {
		for _, kt := range allTransports {
			for _, stream := range []bool{false, true} {
				rows = append(rows, row{cipher: c, option: opensslCipher[c], kt: kt, stream: stream, size: interopSize})
			}
		}
	}
	for _, opt := range []string{"des", "rc2-40", "rc2-64", "rc2-128"} {
		c := DESCBC
		if strings.HasPrefix(opt, "rc2") {
			c = RC2CBC
		}
		rows = append(rows, row{cipher: c, option: opt, legacy: true, size: interopSize},
			row{cipher: c, option: opt, legacy: true, stream: true, size: interopSize})
	}
	rows = append(rows,
		row{cipher: AES256CBC, option: "aes256", stream: true, size: largeSize},
		row{cipher: AES256GCM, option: "aes-256-gcm", kt: KeyTransport{OAEP: true, Hash: crypto.SHA512}, stream: true, size: largeSize})

	for _, r := range rows {
		name := fmt.Sprintf("%s/%v/stream=%v/%d", r.option, r.kt, r.stream, r.size)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var args []string
			if r.legacy {
				opensslLegacy(t, bin)
				args = append(args, "-provider", "legacy", "-provider", "default")
			}
			dir := t.TempDir()
			_, cert := bob.WritePEM(t, dir, "bob")
			content := payload(r.size)
			in := writeFile(t, dir, "in.bin", content)
			args = append(args, "-"+r.option, "-binary", "-in", in, "-outform", "DER", "-out", "enc.der", "-recip", cert)
			args = append(args, opensslKeyopts(r.kt)...)
			if r.stream {
				args = append(args, "-stream")
			}
			testpeer.Run(t, dir, bin, append([]string{"cms", "-encrypt"}, args...)...)
			enc := readFile(t, filepath.Join(dir, "enc.der"))
			if indefinite := len(enc) > 1 && enc[1] == 0x80; indefinite != r.stream {
				t.Fatalf("OpenSSL wrote indefinite lengths: %v, expected %v", indefinite, r.stream)
			}

			got, info := goDecrypt(t, enc, bob)
			samePayload(t, got, content)
			if info.Cipher != r.cipher || info.KeyTransport.OAEP != r.kt.OAEP || info.KeyTransport.oaepHash() != r.kt.oaepHash() {
				t.Errorf("detected %v with %v, want %v with %v", info.Cipher, info.KeyTransport, r.cipher, r.kt)
			}
			if !info.Recipient.Equal(bob.Cert) {
				t.Errorf("recipient not matched by its identifier: %+v", info)
			}
		})
	}
}

func TestOpenSSLVerifiesOurs(t *testing.T) {
	bin := testpeer.Command(t, "openssl")
	alice := testpeer.NewIdentity(t, "alice")
	content := payload(interopSize)
	for _, h := range SigningDigests {
		for _, scheme := range []SignatureScheme{PKCS1v15, PSS} {
			for _, protect := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/%v/protection=%v", DigestName(h), scheme, protect), func(t *testing.T) {
					t.Parallel()
					dir := t.TempDir()
					_, cert := alice.WritePEM(t, dir, "alice")
					s := &Signer{Key: alice.Key, Cert: alice.Cert, Digest: h, Scheme: scheme, AlgorithmProtection: protect}
					sig := writeFile(t, dir, "sig.der", sign(t, s, content))
					part := writeFile(t, dir, "part.bin", content)
					verify := []string{"cms", "-verify", "-binary", "-inform", "DER", "-in", sig, "-content", part, "-CAfile", cert, "-purpose", "any", "-out", os.DevNull}
					testpeer.Run(t, dir, bin, verify...)

					print := opensslPrint(t, bin, dir, sig)
					if name, _ := printedAlgorithm(t, print, "digestAlgorithm"); name != DigestName(h) {
						t.Errorf("OpenSSL reads the digest as %s, want %s", name, DigestName(h))
					}
					name, params := printedAlgorithm(t, print, "signatureAlgorithm")
					want, wantP := "rsaEncryption", []string(nil)
					if scheme == PSS {
						want, wantP = "rsassaPss", wantParams(h, false)
					}
					if name != want || !slices.Equal(params, wantP) {
						t.Errorf("OpenSSL reads the signature as %s %v, want %s %v", name, params, want, wantP)
					}
					if got := strings.Contains(print, "(1.2.840.113549.1.9.52)"); got != protect {
						t.Errorf("OpenSSL sees CMSAlgorithmProtection: %v, want %v", got, protect)
					}

					writeFile(t, dir, "part.bin", tampered(content))
					out, err := testpeer.RunErr(dir, bin, verify...)
					if err == nil || !strings.Contains(string(out), "Verification failure") {
						t.Fatalf("OpenSSL accepted changed content (%v):\n%s", err, out)
					}
				})
			}
		}
	}
}

func TestOpenSSLSignsForUs(t *testing.T) {
	bin := testpeer.Command(t, "openssl")
	alice := testpeer.NewIdentity(t, "alice")
	other := testpeer.NewIdentity(t, "mallory")
	content := payload(interopSize)
	pss := func(extra ...string) []string {
		return append([]string{"-keyopt", "rsa_padding_mode:pss"}, extra...)
	}
	tests := []struct {
		name     string
		md       crypto.Hash
		args     []string
		scheme   SignatureScheme
		noCerts  bool // the signer's certificate is not embedded
		noAttrs  bool // no signed attributes: the content digest is signed directly
		chain    bool // -certfile: an unrelated certificate is embedded too
		indefBER bool
	}{
		{name: "sha1", md: crypto.SHA1},
		{name: "sha224", md: crypto.SHA224},
		{name: "sha256", md: crypto.SHA256},
		{name: "sha384", md: crypto.SHA384},
		{name: "sha512", md: crypto.SHA512},
		{name: "md5", md: crypto.MD5},
		{name: "pss-saltlen32", md: crypto.SHA256, args: pss("-keyopt", "rsa_pss_saltlen:32"), scheme: PSS},
		{name: "pss-default-max-salt", md: crypto.SHA256, args: pss(), scheme: PSS},
		{name: "pss-sha512-max-salt", md: crypto.SHA512, args: pss(), scheme: PSS},
		{name: "pss-sha1-saltlen20", md: crypto.SHA1, args: pss("-keyopt", "rsa_pss_saltlen:20"), scheme: PSS},
		{name: "nocerts", md: crypto.SHA256, args: []string{"-nocerts"}, noCerts: true},
		{name: "noattr", md: crypto.SHA256, args: []string{"-noattr"}, noAttrs: true},
		{name: "noattr-nocerts-pss", md: crypto.SHA384, args: pss("-noattr", "-nocerts"), scheme: PSS, noCerts: true, noAttrs: true},
		{name: "sterling-like-sha1-with-chain", md: crypto.SHA1, chain: true},
		// -stream writes BER and, with -outform DER, embeds the content
		// too (OpenSSL 3.0): the receiver still verifies the MIME part.
		{name: "stream-ber-embedded-content", md: crypto.SHA256, args: []string{"-stream"}, indefBER: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			key, cert := alice.WritePEM(t, dir, "alice")
			in := writeFile(t, dir, "part.bin", content)
			args := []string{"cms", "-sign", "-binary", "-md", DigestName(tt.md), "-in", in, "-signer", cert, "-inkey", key, "-outform", "DER", "-out", "sig.der"}
			if tt.chain {
				_, chain := other.WritePEM(t, dir, "chain")
				args = append(args, "-certfile", chain)
			}
			testpeer.Run(t, dir, bin, append(args, tt.args...)...)
			sig := readFile(t, filepath.Join(dir, "sig.der"))
			if indefinite := sig[1] == 0x80; indefinite != tt.indefBER {
				t.Fatalf("OpenSSL wrote indefinite lengths: %v, expected %v", indefinite, tt.indefBER)
			}

			// As a receiver: the partner's certificate is configured.
			v, err := goVerify(sig, content, other.Cert, alice.Cert)
			if err != nil {
				t.Fatal(err)
			}
			if v.Digest != tt.md || v.Scheme != tt.scheme || !v.Trusted || !v.Signer.Equal(alice.Cert) {
				t.Errorf("verified as digest %v, %v, trusted %v, signer %q", v.Digest, v.Scheme, v.Trusted, v.Signer.Subject)
			}
			if v.SigningTime.IsZero() != tt.noAttrs {
				t.Errorf("signing time %v with signed attributes %v", v.SigningTime, !tt.noAttrs)
			}

			// Without a configured certificate, only the embedded one can serve.
			v, err = goVerify(sig, content)
			switch {
			case tt.noCerts && !errors.Is(err, ErrUnknownSigner):
				t.Errorf("no certificate anywhere: error %v, want ErrUnknownSigner", err)
			case !tt.noCerts && (err != nil || v.Trusted || !v.Signer.Equal(alice.Cert)):
				t.Errorf("with the embedded certificate: %+v, %v", v, err)
			}

			// Signed with alice's key, but another partner is configured:
			// named as such when the signer's certificate is embedded.
			wrongPartner := ErrUnknownSigner
			if tt.noCerts {
				wrongPartner = ErrSignature
			}
			if _, err := goVerify(sig, content, other.Cert); !errors.Is(err, wrongPartner) {
				t.Errorf("verified against the wrong partner: error %v, want %v", err, wrongPartner)
			}

			want := ErrDigestMismatch
			if tt.noAttrs {
				want = ErrSignature // the signature itself covers the content digest
			}
			if _, err := goVerify(sig, tampered(content), alice.Cert); !errors.Is(err, want) {
				t.Errorf("changed content: error %v, want %v", err, want)
			}
		})
	}
}
