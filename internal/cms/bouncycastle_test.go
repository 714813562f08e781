package cms

// Interoperability with Bouncy Castle (the CMS library of OpenAS2, Mendelson
// and most Java AS2 products), through the harness interop/bc/CmsPeer.java.
// Starting a JVM costs about a second, so each test hands the harness all
// its operations at once (CmsPeer batch) and then checks the results.

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/as2gate/as2gate/internal/testpeer"
)

var bcJars = []string{"/usr/share/java/bcprov.jar", "/usr/share/java/bcpkix.jar", "/usr/share/java/bcutil.jar"}

// The harness is compiled once per test binary; TestMain removes it.
var (
	bcOnce    sync.Once
	bcClasses string // directory of the compiled harness
	bcErr     error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if bcClasses != "" {
		os.RemoveAll(bcClasses)
	}
	os.Exit(code)
}

// bcPeer runs the Bouncy Castle harness.
type bcPeer struct {
	java      string
	classpath string
}

func bouncyCastle(t *testing.T) *bcPeer {
	t.Helper()
	java := testpeer.Command(t, "java")
	javac := testpeer.Command(t, "javac")
	for _, jar := range bcJars {
		if _, err := os.Stat(jar); err != nil {
			testpeer.Missing(t, "Bouncy Castle "+jar+" (Debian packages libbcprov-java, libbcpkix-java)")
		}
	}
	jars := strings.Join(bcJars, string(os.PathListSeparator))
	bcOnce.Do(func() {
		dir, err := os.MkdirTemp("", "as2gate-bc-")
		if err != nil {
			bcErr = err
			return
		}
		bcClasses = dir
		src := filepath.Join(testpeer.RepoRoot(), "interop", "bc", "CmsPeer.java")
		if out, err := testpeer.RunErr(dir, javac, "-cp", jars, "-d", dir, src); err != nil {
			bcErr = fmt.Errorf("javac CmsPeer.java: %v\n%s", err, out)
		}
	})
	if bcErr != nil {
		t.Fatal(bcErr)
	}
	return &bcPeer{java: java, classpath: jars + string(os.PathListSeparator) + bcClasses}
}

// bcResult is the harness's answer to one operation.
type bcResult struct {
	ok   bool
	info map[string]string // key=value pairs of what BC read
	line string
}

// batch runs the operations (each a list of arguments) in one JVM and
// returns their results in order.
func (p *bcPeer) batch(t *testing.T, dir string, ops [][]string) []bcResult {
	t.Helper()
	var list bytes.Buffer
	for _, op := range ops {
		list.WriteString(strings.Join(op, "\t") + "\n")
	}
	file := writeFile(t, dir, "ops.txt", list.Bytes())
	out := testpeer.Run(t, dir, p.java, "-XX:TieredStopAtLevel=1", "-cp", p.classpath, "CmsPeer", "batch", file)
	var results []bcResult
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		status, rest, _ := strings.Cut(line, " ")
		if status != "ok" && status != "error" {
			continue // JVM warnings
		}
		r := bcResult{ok: status == "ok", info: map[string]string{}, line: line}
		for _, f := range strings.Fields(rest) {
			if k, v, found := strings.Cut(f, "="); found {
				r.info[k] = v
			}
		}
		results = append(results, r)
	}
	if len(results) != len(ops) {
		t.Fatalf("Bouncy Castle answered %d of %d operations:\n%s", len(results), len(ops), out)
	}
	return results
}

func (r bcResult) must(t *testing.T) {
	t.Helper()
	if !r.ok {
		t.Fatalf("Bouncy Castle: %s", r.line)
	}
}

// bcOp is one operation of a batch with the check of its result, run as a
// subtest after the batch.
type bcOp struct {
	name  string
	args  []string
	check func(t *testing.T, r bcResult)
}

func runBC(t *testing.T, p *bcPeer, dir string, ops []bcOp) {
	t.Helper()
	args := make([][]string, len(ops))
	for i, op := range ops {
		args[i] = op.args
	}
	results := p.batch(t, dir, args)
	for i, op := range ops {
		t.Run(op.name, func(t *testing.T) { op.check(t, results[i]) })
	}
}

func TestBouncyCastleCompression(t *testing.T) {
	bc := bouncyCastle(t)
	dir := t.TempDir()
	var ops []bcOp
	for _, size := range []int{0, 1, interopSize, largeSize} {
		// Text-like content that compresses, then random bytes that do not.
		content := bytes.Repeat([]byte("UNH+1+ORDERS:D:96A:UN'\r\nBGM+220+PO1'\n"), size/37+1)[:size]
		if size == largeSize {
			content = payload(size)
		}
		ours := writeFile(t, dir, fmt.Sprintf("ours-%d.p7z", size), compress(t, content))
		plain := writeFile(t, dir, fmt.Sprintf("plain-%d", size), content)
		theirs := filepath.Join(dir, fmt.Sprintf("theirs-%d.p7z", size))
		unpacked := filepath.Join(dir, fmt.Sprintf("unpacked-%d", size))
		ops = append(ops,
			bcOp{fmt.Sprintf("go-to-bc/%d", size), []string{"decompress", ours, unpacked}, func(t *testing.T, r bcResult) {
				r.must(t)
				samePayload(t, readFile(t, unpacked), content)
			}},
			bcOp{fmt.Sprintf("bc-to-go/%d", size), []string{"compress", plain, theirs}, func(t *testing.T, r bcResult) {
				r.must(t)
				in := readFile(t, theirs)
				if in[1] != 0x80 {
					t.Errorf("Bouncy Castle wrote definite lengths (%x): the BER case is not covered", in[:4])
				}
				got, err := decompress(in, 0)
				if err != nil {
					t.Fatal(err)
				}
				samePayload(t, got, content)
			}})
	}
	runBC(t, bc, dir, ops)
}

// bcTransport is the harness's name of a key transport.
func bcTransport(kt KeyTransport) string {
	if !kt.OAEP {
		return "pkcs1"
	}
	return "oaep-" + DigestName(kt.oaepHash())
}

func TestBouncyCastleEnveloped(t *testing.T) {
	bc := bouncyCastle(t)
	bob := testpeer.NewIdentity(t, "bob")
	dir := t.TempDir()
	key, cert := bob.WritePEM(t, dir, "bob")
	type row struct {
		cipher Cipher
		kt     KeyTransport
	}
	var rows []row
	for _, c := range []Cipher{AES128GCM, AES192GCM, AES256GCM} {
		rows = append(rows, row{c, KeyTransport{}})
	}
	for _, c := range []Cipher{TripleDESCBC, AES128CBC, AES256CBC} {
		for _, kt := range allTransports {
			rows = append(rows, row{c, kt})
		}
	}
	rows = append(rows, row{AES256GCM, KeyTransport{OAEP: true, Hash: crypto.SHA256}})

	var ops []bcOp
	for i, r := range rows {
		content := payload(interopSize + i)
		name := fmt.Sprintf("%v/%v", r.cipher, r.kt)
		ours := writeFile(t, dir, fmt.Sprintf("ours-%d.p7m", i), encrypt(t, content, EncryptOptions{Cipher: r.cipher, KeyTransport: r.kt, Recipients: []*x509.Certificate{bob.Cert}}))
		plain := writeFile(t, dir, fmt.Sprintf("plain-%d", i), content)
		dec := filepath.Join(dir, fmt.Sprintf("dec-%d", i))
		theirs := filepath.Join(dir, fmt.Sprintf("theirs-%d.p7m", i))
		ops = append(ops,
			bcOp{"go-to-bc/" + name, []string{"decrypt", cert, key, ours, dec}, func(t *testing.T, res bcResult) {
				res.must(t)
				samePayload(t, readFile(t, dec), content)
				want := map[string]string{"cipher": r.cipher.oid().String(), "transport": oidRSAEncryption.String()}
				if r.kt.OAEP {
					h := digestOIDs[r.kt.oaepHash()].String()
					want = map[string]string{"cipher": r.cipher.oid().String(), "transport": oidRSAESOAEP.String(), "oaep-hash": h, "mgf1-hash": h}
				}
				if !maps.Equal(res.info, want) {
					t.Errorf("Bouncy Castle read %v, want %v", res.info, want)
				}
			}},
			bcOp{"bc-to-go/" + name, []string{"encrypt", r.cipher.String(), bcTransport(r.kt), cert, plain, theirs}, func(t *testing.T, res bcResult) {
				res.must(t)
				got, info := goDecrypt(t, readFile(t, theirs), bob)
				samePayload(t, got, content)
				if info.Cipher != r.cipher || info.KeyTransport.OAEP != r.kt.OAEP || info.KeyTransport.oaepHash() != r.kt.oaepHash() {
					t.Errorf("detected %+v, want %v with %v", info, r.cipher, r.kt)
				}
			}})
	}
	runBC(t, bc, dir, ops)
}

func TestBouncyCastleSignatures(t *testing.T) {
	bc := bouncyCastle(t)
	alice := testpeer.NewIdentity(t, "alice")
	dir := t.TempDir()
	key, cert := alice.WritePEM(t, dir, "alice")
	content := payload(interopSize)
	part := writeFile(t, dir, "part.bin", content)
	changed := writeFile(t, dir, "changed.bin", tampered(content))
	bcScheme := map[SignatureScheme]string{PKCS1v15: "pkcs1", PSS: "pss"}
	oid := func(v asn1.ObjectIdentifier) string { return v.String() }

	var ops []bcOp
	for _, h := range SigningDigests {
		for _, scheme := range []SignatureScheme{PKCS1v15, PSS} {
			for _, protect := range []bool{false, true} {
				name := fmt.Sprintf("%s/%v/protection=%v", DigestName(h), scheme, protect)
				s := &Signer{Key: alice.Key, Cert: alice.Cert, Digest: h, Scheme: scheme, AlgorithmProtection: protect}
				sig := writeFile(t, dir, strings.ReplaceAll(name, "/", "-")+".p7s", sign(t, s, content))
				ops = append(ops,
					bcOp{"go-to-bc/" + name, []string{"verify", cert, sig, part}, func(t *testing.T, r bcResult) {
						r.must(t)
						want := map[string]string{"digest": oid(digestOIDs[h]), "signature": oid(oidRSAEncryption), "protection": fmt.Sprint(protect)}
						if scheme == PSS {
							want["signature"], want["pss-hash"] = oid(oidRSASSAPSS), oid(digestOIDs[h])
						}
						if !maps.Equal(r.info, want) {
							t.Errorf("Bouncy Castle read %v, want %v", r.info, want)
						}
					}},
					bcOp{"go-to-bc/" + name + "/changed-content", []string{"verify", cert, sig, changed}, func(t *testing.T, r bcResult) {
						if r.ok {
							t.Fatalf("Bouncy Castle accepted changed content: %s", r.line)
						}
					}})
			}
			name := fmt.Sprintf("%s/%v", DigestName(h), scheme)
			theirs := filepath.Join(dir, "bc-"+strings.ReplaceAll(name, "/", "-")+".p7s")
			ops = append(ops, bcOp{"bc-to-go/" + name, []string{"sign", DigestName(h), bcScheme[scheme], cert, key, part, theirs}, func(t *testing.T, r bcResult) {
				r.must(t)
				sig := readFile(t, theirs)
				v, err := goVerify(sig, content, alice.Cert)
				if err != nil {
					t.Fatal(err)
				}
				// BC adds CMSAlgorithmProtection to every signature it makes.
				if v.Digest != h || v.Scheme != scheme || !v.Trusted || !v.AlgorithmProtection || v.SigningTime.IsZero() {
					t.Errorf("verified as %+v", v)
				}
				if _, err := goVerify(sig, tampered(content), alice.Cert); !errors.Is(err, ErrDigestMismatch) {
					t.Errorf("changed content: error %v, want ErrDigestMismatch", err)
				}
			}})
		}
	}
	runBC(t, bc, dir, ops)
}
