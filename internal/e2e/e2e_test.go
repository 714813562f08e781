package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/as2gate/as2gate/client"
	"github.com/as2gate/as2gate/internal/testpeer"
)

// bin is the as2gate binary under test, built once by TestMain.
var bin string

func TestMain(m *testing.M) {
	var cleanup func()
	var err error
	if bin, cleanup, err = BuildBinary(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	cleanup()
	os.Exit(code)
}

// fastFlags make servers react within a fraction of a second, and take
// over the jobs of a killed process after 3 s.
var fastFlags = []string{"--workers", "4", "--lease", "3s", "--poll-interval", "100ms", "--send-scan-interval", "200ms"}

// pair starts two servers, A with station A and B with station B, each the
// other's partner (with partner flags aFlags on A, bFlags on B), and
// returns them with the paths of the stations' exported certificates.
func pair(t *testing.T, serverFlags, aFlags, bFlags []string) (a, b *Server, aCert, bCert string) {
	t.Helper()
	a = NewServer(t, bin, "A", serverFlags...)
	b = NewServer(t, bin, "B", serverFlags...)
	aCert = stationCert(t, a, "A")
	bCert = stationCert(t, b, "B")
	a.OK(append([]string{"partner", "create", "--as2-id", "B", "--url", b.URL(), "--cert", bCert}, aFlags...)...)
	b.OK(append([]string{"partner", "create", "--as2-id", "A", "--url", a.URL(), "--cert", aCert}, bFlags...)...)
	return a, b, aCert, bCert
}

// stationCert creates a station with a generated key pair and writes its
// exported certificate to a file, as a user does for a partner.
func stationCert(t *testing.T, s *Server, as2ID string) string {
	t.Helper()
	s.OK("station", "create", "--as2-id", as2ID, "--name", "Station "+as2ID)
	path := filepath.Join(t.TempDir(), as2ID+".crt")
	writeFile(t, path, []byte(s.OK("station", "cert", as2ID)))
	return path
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// writeRandom writes size pseudo-random bytes (a stream seeded by seed,
// never held in memory) to path and returns their SHA-256 in hex.
func writeRandom(t *testing.T, path string, size int64, seed uint64) string {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	rng := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16), byte(seed >> 24), 0xe2, 0xe})
	if _, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(rng, size)); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func sha256File(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// messages lists a server's messages with the filter flags given, every
// page of them.
func messages(t *testing.T, s *Server, filter ...string) []client.Message {
	t.Helper()
	var all []client.Message
	cursor := ""
	for {
		args := append([]string{"message", "list", "--limit", "1000"}, filter...)
		if cursor != "" {
			args = append(args, "--cursor", cursor)
		}
		var page client.List[client.Message]
		s.JSON(&page, args...)
		all = append(all, page.Items...)
		if page.NextCursor == "" {
			return all
		}
		cursor = page.NextCursor
	}
}

// waitFor polls cond until it holds, failing the test after timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// splitSigned splits a multipart/signed entity (its headers, an empty line,
// its body) into the signed part, headers included as the signature covers
// them, and the signature as DER. It is written from RFC 1847 and 2046 for
// the tests, independently of the gateway's own MIME code, so that the two
// cannot share a mistake.
func splitSigned(entity []byte) (content, sig []byte, err error) {
	headers, body, err := splitHeader(entity)
	if err != nil {
		return nil, nil, err
	}
	mt, params, err := mime.ParseMediaType(headers["content-type"])
	if err != nil || mt != "multipart/signed" || params["boundary"] == "" {
		return nil, nil, fmt.Errorf("not multipart/signed with a boundary: %q", headers["content-type"])
	}
	parts, err := splitParts(body, params["boundary"])
	if err != nil {
		return nil, nil, err
	}
	if len(parts) != 2 {
		return nil, nil, fmt.Errorf("multipart/signed has %d parts, want 2", len(parts))
	}
	sh, sb, err := splitHeader(parts[1])
	if err != nil {
		return nil, nil, fmt.Errorf("signature part: %w", err)
	}
	if strings.EqualFold(strings.TrimSpace(sh["content-transfer-encoding"]), "base64") {
		sb, err = base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(sb)), ""))
		if err != nil {
			return nil, nil, fmt.Errorf("signature part: %w", err)
		}
	}
	return parts[0], sb, nil
}

// splitHeader splits an entity at the first empty line (CRLF or bare LF)
// and returns its header fields, unfolded, by lower-case name.
func splitHeader(entity []byte) (map[string]string, []byte, error) {
	end, sep := bytes.Index(entity, []byte("\r\n\r\n")), 4
	if lf := bytes.Index(entity, []byte("\n\n")); lf >= 0 && (end < 0 || lf < end) {
		end, sep = lf, 2
	}
	if end < 0 {
		return nil, nil, fmt.Errorf("no end of headers")
	}
	unfolded := regexp.MustCompile(`\r?\n[ \t]+`).ReplaceAllString(string(entity[:end]), " ")
	fields := map[string]string{}
	for _, line := range strings.Split(unfolded, "\n") {
		name, value, ok := strings.Cut(strings.TrimRight(line, "\r"), ":")
		if ok {
			fields[strings.ToLower(strings.TrimSpace(name))] = strings.TrimSpace(value)
		}
	}
	return fields, entity[end+sep:], nil
}

// splitParts returns the body parts of a multipart body. The line break
// before a delimiter belongs to the delimiter (RFC 2046 §5.1.1).
func splitParts(body []byte, boundary string) ([][]byte, error) {
	delim := []byte("--" + boundary)
	var starts []int // where each delimiter line starts
	for i := 0; i < len(body); {
		j := bytes.Index(body[i:], delim)
		if j < 0 {
			break
		}
		at := i + j
		if at == 0 || body[at-1] == '\n' {
			starts = append(starts, at)
		}
		i = at + len(delim)
	}
	var parts [][]byte
	for k := 0; k+1 < len(starts); k++ {
		line := body[starts[k]:]
		eol := bytes.IndexByte(line, '\n')
		if eol < 0 {
			return nil, fmt.Errorf("delimiter line without end")
		}
		from, to := starts[k]+eol+1, starts[k+1]-1 // to: the LF before the next delimiter
		if to > from && body[to-1] == '\r' {
			to--
		}
		if to < from {
			return nil, fmt.Errorf("malformed part %d", k)
		}
		parts = append(parts, body[from:to])
	}
	if len(starts) == 0 || !bytes.HasPrefix(body[starts[len(starts)-1]:], append(delim, '-', '-')) {
		return nil, fmt.Errorf("no closing delimiter")
	}
	return parts, nil
}

// mdnFields are the fields of an MDN's message/disposition-notification
// part that the tests check.
type mdnFields struct {
	OriginalMessageID string
	Disposition       string
	MIC               string // the base64 digest of Received-Content-MIC
	MICAlg            string // its algorithm, as written
}

// readMDNFields finds the disposition fields in the content of an MDN (the
// multipart/report, signed or not).
func readMDNFields(report []byte) mdnFields {
	text := regexp.MustCompile(`\r?\n[ \t]+`).ReplaceAllString(string(report), " ")
	field := func(name string) string {
		m := regexp.MustCompile(`(?im)^` + name + `:[ \t]*(.*?)\r?$`).FindStringSubmatch(text)
		if m == nil {
			return ""
		}
		return strings.TrimSpace(m[1])
	}
	f := mdnFields{OriginalMessageID: field("Original-Message-ID"), Disposition: field("Disposition")}
	if mic := field("Received-Content-MIC"); mic != "" {
		digest, alg, _ := strings.Cut(mic, ",")
		f.MIC, f.MICAlg = strings.TrimSpace(digest), strings.TrimSpace(alg)
	}
	return f
}

// opensslVerify checks a detached signature with the OpenSSL CLI, trusting
// the signer's certificate file alone.
func opensslVerify(t *testing.T, dir string, content, sig []byte, certFile string) error {
	t.Helper()
	openssl := testpeer.Command(t, "openssl")
	writeFile(t, filepath.Join(dir, "verify-content"), content)
	writeFile(t, filepath.Join(dir, "verify-sig.der"), sig)
	out, err := testpeer.RunErr(dir, openssl, "cms", "-verify", "-binary", "-inform", "DER", "-in", "verify-sig.der",
		"-content", "verify-content", "-certfile", certFile, "-CAfile", certFile, "-purpose", "any", "-out", os.DevNull)
	if err != nil {
		return fmt.Errorf("openssl cms -verify: %v: %s", err, out)
	}
	return nil
}

// opensslMIC is the digest of content that OpenSSL computes (digest is
// OpenSSL's name: sha256, sha512...), in base64 as a MIC states it.
func opensslMIC(t *testing.T, dir, digest string, content []byte) string {
	t.Helper()
	openssl := testpeer.Command(t, "openssl")
	writeFile(t, filepath.Join(dir, "mic-content"), content)
	return base64.StdEncoding.EncodeToString(testpeer.Run(t, dir, openssl, "dgst", "-"+digest, "-binary", "mic-content"))
}

// listTmp lists what is left in a data folder's temporary areas: the blob
// store's .tmp and the pickup area of the send folders.
func listTmp(t *testing.T, data string) []string {
	t.Helper()
	var left []string
	for _, dir := range []string{".tmp", "AS2/tmp"} {
		root := filepath.Join(data, dir)
		filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				rel, _ := filepath.Rel(data, p)
				left = append(left, rel)
			}
			return nil
		})
	}
	return left
}
