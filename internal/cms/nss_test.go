package cms

// Interoperability with NSS's cmsutil, a CMS implementation that shares no
// code with OpenSSL. NSS 3.87 (Debian 12) does not decrypt RSAES-OAEP key
// transport (SEC_ERROR_UNSUPPORTED_KEYALG) or AuthEnvelopedData
// (SEC_ERROR_UNRECOGNIZED_OID), cannot sign with SHA-224 or RSASSA-PSS, and
// cmsutil -E always encrypts with AES-128-CBC: those cases are covered by the
// OpenSSL and Bouncy Castle tests only.

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/as2gate/as2gate/internal/testpeer"
)

// nssDB is an NSS certificate database holding the keys and certificates of
// the given identities under their names, each trusted as a peer.
type nssDB struct {
	cmsutil string
	dir     string // where cmsutil runs
	db      string // sql:<path>
}

func newNSSDB(t *testing.T, ids map[string]*testpeer.Identity) *nssDB {
	t.Helper()
	n := &nssDB{cmsutil: testpeer.Command(t, "cmsutil"), dir: t.TempDir()}
	certutil := testpeer.Command(t, "certutil")
	pk12util := testpeer.Command(t, "pk12util")
	openssl := testpeer.Command(t, "openssl") // NSS imports keys only from PKCS#12
	n.db = "sql:" + filepath.Join(n.dir, "nssdb")
	if err := os.Mkdir(filepath.Join(n.dir, "nssdb"), 0o700); err != nil {
		t.Fatal(err)
	}
	testpeer.Run(t, n.dir, certutil, "-N", "-d", n.db, "--empty-password")
	for name, id := range ids {
		key, cert := id.WritePEM(t, n.dir, name)
		p12 := filepath.Join(n.dir, name+".p12")
		testpeer.Run(t, n.dir, openssl, "pkcs12", "-export", "-inkey", key, "-in", cert, "-name", name, "-passout", "pass:x", "-out", p12)
		testpeer.Run(t, n.dir, pk12util, "-i", p12, "-d", n.db, "-W", "x", "-K", "")
		testpeer.Run(t, n.dir, certutil, "-M", "-d", n.db, "-n", name, "-t", "P,P,P")
	}
	return n
}

func (n *nssDB) run(t *testing.T, args ...string) []byte {
	t.Helper()
	return testpeer.Run(t, n.dir, n.cmsutil, append(args, "-d", n.db)...)
}

// nssCBC are the ciphers NSS decrypts, with PKCS#1 v1.5 key transport.
var nssCBC = []Cipher{TripleDESCBC, AES128CBC, AES192CBC, AES256CBC}

func TestNSSDecryptsOurs(t *testing.T) {
	bob := testpeer.NewIdentity(t, "bob")
	nss := newNSSDB(t, map[string]*testpeer.Identity{"bob": bob})
	for _, c := range nssCBC {
		for _, size := range []int{interopSize, largeSize} {
			t.Run(fmt.Sprintf("%v/%d", c, size), func(t *testing.T) {
				dir := t.TempDir()
				content := payload(size)
				enc := writeFile(t, dir, "enc.der", encrypt(t, content, EncryptOptions{Cipher: c, Recipients: []*x509.Certificate{bob.Cert}}))
				dec := filepath.Join(dir, "dec.bin")
				nss.run(t, "-D", "-i", enc, "-o", dec)
				samePayload(t, readFile(t, dec), content)
			})
		}
	}
}

func TestNSSEncryptsForUs(t *testing.T) {
	openssl := testpeer.Command(t, "openssl")
	bob := testpeer.NewIdentity(t, "bob")
	nss := newNSSDB(t, map[string]*testpeer.Identity{"bob": bob})
	for _, size := range []int{0, 1, interopSize, largeSize} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			dir := t.TempDir()
			content := payload(size)
			in := writeFile(t, dir, "in.bin", content)
			enc := filepath.Join(dir, "enc.der")
			nss.run(t, "-E", "-r", "bob", "-i", in, "-o", enc)
			der := readFile(t, enc)
			got, info := goDecrypt(t, der, bob)
			samePayload(t, got, content)
			// cmsutil has no cipher option: check what we detect against
			// what OpenSSL reads in the same file.
			name, _ := printedAlgorithm(t, opensslPrint(t, openssl, dir, enc), "contentEncryptionAlgorithm")
			if opensslCipher[info.Cipher] != name || info.KeyTransport.OAEP {
				t.Errorf("detected %v with %v; OpenSSL reads %s", info.Cipher, info.KeyTransport, name)
			}
			t.Logf("cmsutil -E used %v", info.Cipher)
		})
	}
}

// nssHash is cmsutil's -H name of a digest; it has no SHA-224.
var nssHash = map[crypto.Hash]string{crypto.SHA1: "SHA1", crypto.SHA256: "SHA256", crypto.SHA384: "SHA384", crypto.SHA512: "SHA512"}

func TestNSSVerifiesOurs(t *testing.T) {
	alice := testpeer.NewIdentity(t, "alice")
	nss := newNSSDB(t, map[string]*testpeer.Identity{"alice": alice})
	content := payload(interopSize)
	for _, h := range SigningDigests {
		for _, scheme := range []SignatureScheme{PKCS1v15, PSS} {
			for _, protect := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/%v/protection=%v", DigestName(h), scheme, protect), func(t *testing.T) {
					dir := t.TempDir()
					s := &Signer{Key: alice.Key, Cert: alice.Cert, Digest: h, Scheme: scheme, AlgorithmProtection: protect}
					sig := writeFile(t, dir, "sig.der", sign(t, s, content))
					part := writeFile(t, dir, "part.bin", content)
					verify := []string{"-D", "-i", sig, "-c", part, "-u", "4", "-o", os.DevNull, "-d", nss.db}
					testpeer.Run(t, dir, nss.cmsutil, verify...)

					writeFile(t, dir, "part.bin", tampered(content))
					out, err := testpeer.RunErr(dir, nss.cmsutil, verify...)
					if err == nil || !strings.Contains(string(out), "DigestMismatch") {
						t.Fatalf("cmsutil accepted changed content (%v):\n%s", err, out)
					}
				})
			}
		}
	}
}

func TestNSSSignsForUs(t *testing.T) {
	alice := testpeer.NewIdentity(t, "alice")
	other := testpeer.NewIdentity(t, "mallory")
	nss := newNSSDB(t, map[string]*testpeer.Identity{"alice": alice})
	content := payload(interopSize)
	for _, h := range []crypto.Hash{crypto.SHA1, crypto.SHA256, crypto.SHA384, crypto.SHA512} {
		t.Run(DigestName(h), func(t *testing.T) {
			dir := t.TempDir()
			in := writeFile(t, dir, "part.bin", content)
			out := filepath.Join(dir, "sig.der")
			// -T detached, -G signing time, -Y NONE: no encryption key preference (required).
			nss.run(t, "-S", "-N", "alice", "-T", "-G", "-H", nssHash[h], "-Y", "NONE", "-i", in, "-o", out)
			sig := readFile(t, out)

			v, err := goVerify(sig, content, other.Cert, alice.Cert)
			if err != nil {
				t.Fatal(err)
			}
			if v.Digest != h || v.Scheme != PKCS1v15 || !v.Trusted || !v.Signer.Equal(alice.Cert) || v.SigningTime.IsZero() {
				t.Errorf("verified as digest %v, %v, trusted %v, signer %q, time %v", v.Digest, v.Scheme, v.Trusted, v.Signer.Subject, v.SigningTime)
			}
			if _, err := goVerify(sig, tampered(content), alice.Cert); !errors.Is(err, ErrDigestMismatch) {
				t.Errorf("changed content: error %v, want ErrDigestMismatch", err)
			}
		})
	}
}
