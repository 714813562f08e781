package as2

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"testing"

	"github.com/as2gate/as2gate/internal/cms"
	"github.com/as2gate/as2gate/internal/mime"
	"github.com/as2gate/as2gate/internal/testpeer"
)

// readAll opens a source and reads it whole.
func readAll(t testing.TB, s Source) []byte {
	t.Helper()
	rc, err := s.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(b)) != s.Size() {
		t.Fatalf("source announced %d bytes and produced %d", s.Size(), len(b))
	}
	return b
}

type pair struct{ sender, receiver *testpeer.Identity }

func identities(t testing.TB) pair {
	return pair{testpeer.NewIdentity(t, "sender"), testpeer.NewIdentity(t, "receiver")}
}

type variant struct {
	sign     crypto.Hash
	pss      bool
	cipher   cms.Cipher
	oaep     crypto.Hash
	compress CompressMode
	base64   bool
	files    int
}

func (v variant) String() string {
	return fmt.Sprintf("sign=%s pss=%v enc=%v oaep=%v compress=%v b64=%v files=%d",
		cms.DigestName(v.sign), v.pss, v.cipher, v.oaep, v.compress, v.base64, v.files)
}

func (v variant) build(t testing.TB, ids pair, payloads [][]byte) *Request {
	t.Helper()
	opts := BuildOptions{From: "Sender Co", To: "receiver", Subject: "Invoice ü", Compress: v.compress, Base64: v.base64,
		MDN: MDNRequest{To: "as2@sender.example", Signed: true, MICAlgs: []string{"sha-256"}}}
	for i, p := range payloads {
		opts.Attachments = append(opts.Attachments, Attachment{Content: BytesSource(p), ContentType: "application/edi-x12", Filename: fmt.Sprintf("order-%d.x12", i)})
	}
	if v.sign != 0 {
		scheme := cms.PKCS1v15
		if v.pss {
			scheme = cms.PSS
		}
		opts.Sign = &cms.Signer{Key: ids.sender.Key, Cert: ids.sender.Cert, Digest: v.sign, Scheme: scheme}
	}
	if v.cipher != 0 {
		opts.Encrypt = &cms.EncryptOptions{Cipher: v.cipher, Recipients: []*x509.Certificate{ids.receiver.Cert},
			KeyTransport: cms.KeyTransport{OAEP: v.oaep != 0, Hash: v.oaep}}
	}
	opts.TempDir = t.TempDir()
	req, err := Build(opts)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func parse(t testing.TB, ids pair, req *Request, body []byte) (*Message, error) {
	return Parse(req.Header, bytes.NewReader(body), ParseOptions{
		Decrypt: []cms.Recipient{{Cert: ids.receiver.Cert, Key: ids.receiver.Key}},
		Verify:  []*x509.Certificate{ids.sender.Cert},
		TempDir: t.(*testing.T).TempDir(),
	})
}

func TestBuildParseRoundTrip(t *testing.T) {
	ids := identities(t)
	var variants []variant
	for _, sign := range []crypto.Hash{0, crypto.SHA1, crypto.SHA256, crypto.SHA512} {
		for _, c := range []cms.Cipher{0, cms.TripleDESCBC, cms.AES256CBC, cms.AES128GCM} {
			for _, comp := range []CompressMode{CompressNone, CompressBeforeSigning, CompressAfterSigning} {
				variants = append(variants, variant{sign: sign, cipher: c, compress: comp, files: 1})
			}
		}
	}
	variants = append(variants,
		variant{sign: crypto.SHA256, pss: true, cipher: cms.AES192CBC, oaep: crypto.SHA256, files: 1},
		variant{sign: crypto.SHA384, cipher: cms.AES256CBC, oaep: crypto.SHA512, base64: true, files: 1},
		variant{sign: crypto.SHA256, cipher: cms.AES128CBC, files: 3},
		variant{sign: crypto.SHA256, cipher: cms.AES128CBC, compress: CompressAfterSigning, files: 2, base64: true},
		variant{files: 2},
	)
	for _, v := range variants {
		t.Run(v.String(), func(t *testing.T) {
			payloads := [][]byte{[]byte("ISA*00*          *00*\r\nGS*PO~\n"), bytes.Repeat([]byte{0, 1, 2, '\r', '\n', 0xff}, 3000), {}}[:v.files]
			req := v.build(t, ids, payloads)
			defer req.Close()
			body := readAll(t, req.Body)
			msg, err := parse(t, ids, req, body)
			if err != nil {
				t.Fatal(err)
			}
			defer msg.Close()
			if len(msg.Parts) != len(payloads) {
				t.Fatalf("%d parts, want %d", len(msg.Parts), len(payloads))
			}
			for i, p := range msg.Parts {
				got, err := os.ReadFile(p.Path)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, payloads[i]) {
					t.Fatalf("part %d: got %q, want %q", i, got, payloads[i])
				}
				if sum := sha256.Sum256(payloads[i]); p.SHA256 != hex.EncodeToString(sum[:]) {
					t.Fatalf("part %d: SHA-256 %s, want %x", i, p.SHA256, sum)
				}
				if want := fmt.Sprintf("order-%d.x12", i); p.Filename != want || p.ContentType != "application/edi-x12" {
					t.Fatalf("part %d: %q %q", i, p.Filename, p.ContentType)
				}
			}
			sent, err := req.MIC()
			if err != nil {
				t.Fatal(err)
			}
			if !msg.MIC.Equal(sent) {
				t.Fatalf("receiver MIC %v, sender MIC %v", msg.MIC, sent)
			}
			if (v.sign != 0) != (msg.Signature != nil) || (v.cipher != 0) != (msg.Encryption != nil) {
				t.Fatalf("layers %+v", msg.Layers)
			}
			if v.cipher != 0 && msg.Encryption.Cipher != v.cipher {
				t.Fatalf("cipher %v", msg.Encryption.Cipher)
			}
			wantComp := v.compress
			if v.compress == CompressAfterSigning && v.sign == 0 {
				wantComp = CompressBeforeSigning
			}
			if msg.Compression != wantComp {
				t.Fatalf("compression %v, want %v (layers %+v)", msg.Compression, wantComp, msg.Layers)
			}
			if msg.From != "Sender Co" || msg.To != "receiver" || msg.Subject != "Invoice ü" || msg.MessageID != req.MessageID {
				t.Fatalf("headers: %q %q %q %q", msg.From, msg.To, msg.Subject, msg.MessageID)
			}
			// A second read of the body (a retry) is a valid message too.
			if _, err := parse(t, ids, req, readAll(t, req.Body)); err != nil {
				t.Fatalf("second read: %v", err)
			}
		})
	}
}

func TestParseFailures(t *testing.T) {
	ids := identities(t)
	other := testpeer.NewIdentity(t, "other")
	v := variant{sign: crypto.SHA256, cipher: cms.AES256CBC, files: 1}
	req := v.build(t, ids, [][]byte{[]byte("hello")})
	body := readAll(t, req.Body)
	tests := []struct {
		name string
		opts ParseOptions
		body []byte
		want Failure
	}{
		{"not for our key", ParseOptions{Decrypt: []cms.Recipient{{Cert: other.Cert, Key: other.Key}}, Verify: []*x509.Certificate{ids.sender.Cert}}, body, DecryptionFailed},
		{"signed by someone else", ParseOptions{Decrypt: []cms.Recipient{{Cert: ids.receiver.Cert, Key: ids.receiver.Key}}, Verify: []*x509.Certificate{other.Cert}}, body, AuthenticationFailed},
		{"truncated", ParseOptions{Decrypt: []cms.Recipient{{Cert: ids.receiver.Cert, Key: ids.receiver.Key}}, Verify: []*x509.Certificate{ids.sender.Cert}}, body[:len(body)-50], DecryptionFailed},
		{"garbage", ParseOptions{}, []byte("this is not DER"), DecryptionFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.TempDir = t.TempDir()
			_, err := Parse(req.Header, bytes.NewReader(tt.body), tt.opts)
			if FailureOf(err) != tt.want {
				t.Fatalf("error %v (%s), want %s", err, FailureOf(err), tt.want)
			}
			if entries, _ := os.ReadDir(tt.opts.TempDir); len(entries) != 0 {
				t.Fatalf("%d files left behind", len(entries))
			}
		})
	}
	t.Run("policy", func(t *testing.T) {
		plain := variant{files: 1}.build(t, ids, [][]byte{[]byte("x")})
		_, err := Parse(plain.Header, bytes.NewReader(readAll(t, plain.Body)), ParseOptions{RequireEncrypted: true, TempDir: t.TempDir()})
		if FailureOf(err) != InsufficientSecurity {
			t.Fatalf("error %v, want insufficient-message-security", err)
		}
	})
}

func TestIDs(t *testing.T) {
	for _, id := range []string{"plain", "with space", `quote"and\backslash`, "a;b"} {
		got, err := ParseID(FormatID(id))
		if err != nil || got != id {
			t.Errorf("%q -> %q -> %q, %v", id, FormatID(id), got, err)
		}
	}
	for _, bad := range []string{"", "tab\there", string(make([]byte, 129)), "ü"} {
		if err := CheckID(bad); err == nil {
			t.Errorf("CheckID(%q) accepted", bad)
		}
	}
}

func TestMDNRequest(t *testing.T) {
	var h mime.Header
	h.Add("Disposition-Notification-To", "http://x")
	h.Add("Disposition-Notification-Options", `signed-receipt-protocol=required, pkcs7-signature; signed-receipt-micalg=required, SHA256, sha1`)
	r := ParseMDNRequest(h)
	if !r.Requested() || !r.Signed || !r.SignedRequired || r.AsyncURL != "" {
		t.Fatalf("%+v", r)
	}
	alg, name, ok := r.MICAlg()
	if !ok || alg != crypto.SHA256 || name != "SHA256" {
		t.Fatalf("MICAlg = %v %q %v", alg, name, ok)
	}
	again := ParseMDNRequest(r.header())
	if again.Signed != r.Signed || len(again.MICAlgs) != 2 {
		t.Fatalf("round trip %+v", again)
	}
}

func TestMIC(t *testing.T) {
	for _, s := range []string{"O4bvrm5t2YunRfwvZicNdEUmPaPZ9vUslX8loVLDck0=, sha-256", "O4bvrm5t2YunRfwvZicNdEUmPaPZ9vUslX8loVLDck0=,sha256", " wNh76aEicfBurg/et2wio4zk/2I=,sha1"} {
		m, err := ParseMIC(s)
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		again, err := ParseMIC(m.String())
		if err != nil || !again.Equal(m) {
			t.Fatalf("%q round trip: %v %v", s, again, err)
		}
	}
	for _, bad := range []string{"", "abc, sha1", "O4bvrm5t2YunRfwvZicNdEUmPaPZ9vUslX8loVLDck0=, sha1", "x, sha999"} {
		if _, err := ParseMIC(bad); err == nil {
			t.Errorf("ParseMIC(%q) accepted", bad)
		}
	}
}

// TestBuildFailsCleanly: a signing key that does not match its
// certificate is an error, not a panic, and leaves no temporary file.
func TestBuildFailsCleanly(t *testing.T) {
	ids := identities(t)
	dir := t.TempDir()
	_, err := Build(BuildOptions{From: "a", To: "b", TempDir: dir, Compress: CompressBeforeSigning,
		Attachments: []Attachment{{Content: BytesSource([]byte("x"))}},
		Sign:        &cms.Signer{Key: ids.sender.Key, Cert: ids.receiver.Cert, Digest: crypto.SHA256}})
	if err == nil {
		t.Fatal("no error")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("%d temporary files left", len(entries))
	}
}
