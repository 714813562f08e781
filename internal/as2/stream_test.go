package as2

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/as2gate/as2gate/internal/cms"
	"github.com/as2gate/as2gate/internal/heapwatch"
)

// ediSource generates size bytes of EDI-like text without storing them:
// a 64 KiB block of random segments, stamped with the block number.
type ediSource struct {
	size  int64
	block []byte
}

func newEDISource(size int64) *ediSource {
	r := rand.New(rand.NewPCG(1, 2))
	var b bytes.Buffer
	for b.Len() < 64<<10 {
		fmt.Fprintf(&b, "LIN+%d++%012d:EN'QTY+21:%d'PRI+AAA:%d.%02d'\n", r.IntN(1000), r.Int64N(1e12), r.IntN(500), r.IntN(100), r.IntN(100))
	}
	return &ediSource{size: size, block: b.Bytes()[:64<<10]}
}

func (s *ediSource) Size() int64 { return s.size }

func (s *ediSource) Open() (io.ReadCloser, error) {
	return io.NopCloser(&ediReader{s: s, cur: make([]byte, len(s.block))}), nil
}

type ediReader struct {
	s   *ediSource
	off int64
	cur []byte
	n   int64 // block number in cur; -1 before the first
	set bool
}

func (r *ediReader) Read(p []byte) (int, error) {
	if r.off >= r.s.size {
		return 0, io.EOF
	}
	bs := int64(len(r.s.block))
	blk := r.off / bs
	if !r.set || blk != r.n {
		copy(r.cur, r.s.block)
		copy(r.cur, fmt.Sprintf("UNH+%d'", blk))
		r.n, r.set = blk, true
	}
	in := r.off % bs
	n := copy(p, r.cur[in:])
	if rest := r.s.size - r.off; int64(n) > rest {
		n = int(rest)
	}
	r.off += int64(n)
	return n, nil
}

// TestStreamingGiB builds a 1 GiB compressed, signed and encrypted message
// and parses it back, the body flowing through a pipe: the Go heap must
// stay under 64 MiB all along, and the payload must come out intact.
func TestStreamingGiB(t *testing.T) {
	if testing.Short() {
		t.Skip("1 GiB streaming test skipped in -short mode")
	}
	const size = 1 << 30
	const heapLimit = 64 << 20
	ids := identities(t)
	src := newEDISource(size)
	dir := t.TempDir()

	runtime.GC()
	w := heapwatch.Start()
	req, err := Build(BuildOptions{
		From: "sender", To: "receiver", Subject: "big",
		Attachments: []Attachment{{Content: src, ContentType: "application/edifact", Filename: "big.edi"}},
		Sign:        &cms.Signer{Key: ids.sender.Key, Cert: ids.sender.Cert, Digest: crypto.SHA256},
		Encrypt:     &cms.EncryptOptions{Cipher: cms.AES256CBC, Recipients: []*x509.Certificate{ids.receiver.Cert}},
		Compress:    CompressBeforeSigning,
		MDN:         MDNRequest{To: "x", Signed: true, MICAlgs: []string{"sha-256"}},
		TempDir:     dir,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer req.Close()
	body, err := req.Body.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	counted := &countingReader{r: body}
	msg, err := Parse(req.Header, counted, ParseOptions{
		Decrypt: []cms.Recipient{{Cert: ids.receiver.Cert, Key: ids.receiver.Key}},
		Verify:  []*x509.Certificate{ids.sender.Cert},
		TempDir: dir,
	})
	peak := w.Stop()
	if err != nil {
		t.Fatal(err)
	}
	defer msg.Close()
	t.Logf("body %d bytes, peak heap %.1f MiB", counted.n, float64(peak)/(1<<20))
	if counted.n != req.Body.Size() {
		t.Fatalf("body was %d bytes, %d announced", counted.n, req.Body.Size())
	}
	if peak > heapLimit {
		t.Fatalf("peak heap %.1f MiB, limit %d MiB", float64(peak)/(1<<20), heapLimit>>20)
	}
	sent, err := req.MIC()
	if err != nil {
		t.Fatal(err)
	}
	if !msg.MIC.Equal(sent) {
		t.Fatalf("MIC %v, sent %v", msg.MIC, sent)
	}
	if len(msg.Parts) != 1 || msg.Parts[0].Size != size {
		t.Fatalf("parts %+v", msg.Parts)
	}
	want := sourceDigest(t, src)
	if got := fileDigest(t, msg.Parts[0].Path); !bytes.Equal(got, want) {
		t.Fatal("the received payload differs from what was sent")
	}
	if msg.Parts[0].SHA256 != hex.EncodeToString(want) {
		t.Fatalf("the part's SHA-256 is %s, want %x", msg.Parts[0].SHA256, want)
	}
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func fileDigest(t testing.TB, path string) []byte {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return h.Sum(nil)
}

func sourceDigest(t testing.TB, s Source) []byte {
	rc, err := s.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	h := sha256.New()
	if _, err := io.Copy(h, rc); err != nil {
		t.Fatal(err)
	}
	return h.Sum(nil)
}

var benchSizes = []struct {
	name string
	size int64
}{{"1KiB", 1 << 10}, {"1MiB", 1 << 20}, {"64MiB", 64 << 20}}

// benchOptions are the common profile: SHA-256 signature, AES-256-CBC.
func benchOptions(b *testing.B, ids pair, src Source) BuildOptions {
	return BuildOptions{
		From: "sender", To: "receiver",
		Attachments: []Attachment{{Content: src, ContentType: "application/edi-x12", Filename: "bench.x12"}},
		Sign:        &cms.Signer{Key: ids.sender.Key, Cert: ids.sender.Cert, Digest: crypto.SHA256},
		Encrypt:     &cms.EncryptOptions{Cipher: cms.AES256CBC, Recipients: []*x509.Certificate{ids.receiver.Cert}},
		MDN:         MDNRequest{To: "x", Signed: true, MICAlgs: []string{"sha-256"}},
		TempDir:     b.TempDir(),
	}
}

// BenchmarkBuild measures building and writing out a signed and encrypted
// message (MB/s of payload).
func BenchmarkBuild(b *testing.B) {
	ids := identities(b)
	for _, s := range benchSizes {
		b.Run(s.name, func(b *testing.B) {
			src := newEDISource(s.size)
			opts := benchOptions(b, ids, src)
			b.SetBytes(s.size)
			b.ReportAllocs()
			for b.Loop() {
				req, err := Build(opts)
				if err != nil {
					b.Fatal(err)
				}
				rc, _ := req.Body.Open()
				if _, err := io.Copy(io.Discard, rc); err != nil {
					b.Fatal(err)
				}
				rc.Close()
				req.Close()
			}
		})
	}
}

// BenchmarkParse measures decrypting, verifying and storing a signed and
// encrypted message read from a file.
func BenchmarkParse(b *testing.B) {
	ids := identities(b)
	for _, s := range benchSizes {
		b.Run(s.name, func(b *testing.B) {
			src := newEDISource(s.size)
			req, err := Build(benchOptions(b, ids, src))
			if err != nil {
				b.Fatal(err)
			}
			defer req.Close()
			path := filepath.Join(b.TempDir(), "body")
			f, _ := os.Create(path)
			rc, _ := req.Body.Open()
			io.Copy(f, rc)
			rc.Close()
			f.Close()
			opts := ParseOptions{
				Decrypt: []cms.Recipient{{Cert: ids.receiver.Cert, Key: ids.receiver.Key}},
				Verify:  []*x509.Certificate{ids.sender.Cert},
				TempDir: b.TempDir(),
			}
			b.SetBytes(s.size)
			b.ReportAllocs()
			for b.Loop() {
				f, err := os.Open(path)
				if err != nil {
					b.Fatal(err)
				}
				msg, err := Parse(req.Header, f, opts)
				f.Close()
				if err != nil {
					b.Fatal(err)
				}
				msg.Close()
			}
		})
	}
}
