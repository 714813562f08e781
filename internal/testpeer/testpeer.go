// Package testpeer helps tests that run independent implementations
// (OpenSSL, NSS, Bouncy Castle, libas2) and need test keys.
//
// A missing peer fails the test when AS2GATE_REQUIRE_PEERS=1 (as the test
// script sets it, after installing the peers) and skips it loudly otherwise.
package testpeer

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"
)

// Required reports whether missing peers are failures.
func Required() bool { return os.Getenv("AS2GATE_REQUIRE_PEERS") == "1" }

// Missing reports a peer that is not available: a failure when peers are
// required, a loud skip otherwise.
func Missing(t testing.TB, what string) {
	t.Helper()
	msg := "PEER MISSING: " + what + " (run scripts/test to install the peers; AS2GATE_REQUIRE_PEERS=1 turns this skip into a failure)"
	if Required() {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// Command returns the path of a program, or reports it missing.
func Command(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(t, name+" not found in PATH")
	}
	return p
}

// Run runs a command and fails the test with its output when it fails.
func Run(t testing.TB, dir string, name string, args ...string) []byte {
	t.Helper()
	out, err := RunErr(dir, name, args...)
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return out
}

// RunErr runs a command and returns its combined output.
func RunErr(dir string, name string, args ...string) ([]byte, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	return out.Bytes(), err
}

// Identity is a test key pair with a self-signed certificate.
type Identity struct {
	Key  *rsa.PrivateKey
	Cert *x509.Certificate
}

var (
	identitiesMu sync.Mutex
	identities   = map[string]*Identity{}
)

// NewIdentity returns a 2048-bit RSA identity with the given common name,
// made once per test binary and name (RSA key generation is slow).
func NewIdentity(t testing.TB, name string) *Identity {
	t.Helper()
	identitiesMu.Lock()
	defer identitiesMu.Unlock()
	if id, ok := identities[name]; ok {
		return id
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name, Organization: []string{"as2gate test"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageDataEncipherment,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	id := &Identity{Key: key, Cert: cert}
	identities[name] = id
	return id
}

// WritePEM writes the identity as name.key (PKCS#8) and name.crt in dir and
// returns their paths.
func (id *Identity) WritePEM(t testing.TB, dir, name string) (keyPath, certPath string) {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(id.Key)
	if err != nil {
		t.Fatal(err)
	}
	keyPath = filepath.Join(dir, name+".key")
	certPath = filepath.Join(dir, name+".crt")
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: id.Cert.Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	return keyPath, certPath
}

// RepoRoot is the repository's top directory.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Fixture is the path of a file in testdata/interop.
func Fixture(parts ...string) string {
	return filepath.Join(append([]string{RepoRoot(), "testdata", "interop"}, parts...)...)
}
