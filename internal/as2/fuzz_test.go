package as2

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"errors"
	"os"
	"testing"

	"github.com/as2gate/as2gate/internal/cms"
	"github.com/as2gate/as2gate/internal/mime"
	"github.com/as2gate/as2gate/internal/testpeer"
)

// fuzzCaptures are the seeds: every fixture capture.
var fuzzCaptures = []string{"mecas2_encrypted.as2", "mecas2_signed.as2", "mecas2_compressed.as2",
	"mecas2_signed_encrypted.as2", "mecas2_compressed_signed_encrypted.as2", "sb2bi_signed_cmp.msg",
	"mecas2_signed.mdn", "mecas2_unsigned.mdn", "sb2bi_signed.mdn"}

// splitSeed turns a capture into the Content-Type header and the body.
func splitSeed(f *testing.F, name string) (string, []byte) {
	raw, err := os.ReadFile(testpeer.Fixture("pyas2lib-fixtures", name))
	if err != nil {
		f.Fatal(err)
	}
	h, body, err := ReadCapture(bytes.NewReader(raw))
	if err != nil {
		f.Fatal(err)
	}
	var b bytes.Buffer
	b.ReadFrom(body)
	return h.Get("Content-Type"), b.Bytes()
}

// FuzzParse feeds hostile bodies to the message parser with the fixtures'
// keys: it must return a classified error or a message, never panic, and
// leave no file behind on error.
func FuzzParse(f *testing.F) {
	for _, name := range fuzzCaptures {
		ct, body := splitSeed(f, name)
		f.Add(ct, body)
	}
	ours, err := loadFixtureBundle("pyas2lib-fixtures/cert_test.p12", "test")
	if err != nil {
		f.Fatal(err)
	}
	mendelson, err := loadFixtureBundle("pyas2lib-fixtures/cert_mecas2_public.pem", "")
	if err != nil {
		f.Fatal(err)
	}
	opts := ParseOptions{
		Decrypt:         []cms.Recipient{{Cert: ours.Certs[0], Key: ours.Key.(crypto.Decrypter)}},
		Verify:          []*x509.Certificate{mendelson.Certs[0]},
		MaxDecompressed: 16 << 20,
	}
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		var h mime.Header
		h.Add("AS2-From", "mecas2")
		h.Add("AS2-To", "pyas2lib")
		h.Add("Content-Type", contentType)
		o := opts
		o.TempDir = t.TempDir()
		msg, err := Parse(h, bytes.NewReader(body), o)
		if err != nil {
			if FailureOf(err) == "" {
				t.Fatalf("unclassified error %v", err)
			}
			if entries, _ := os.ReadDir(o.TempDir); len(entries) != 0 {
				t.Fatalf("error %v left %d files", err, len(entries))
			}
			return
		}
		msg.Close()
	})
}

// FuzzParseMDN: the receipt parser on hostile input.
func FuzzParseMDN(f *testing.F) {
	for _, name := range []string{"mecas2_signed.mdn", "mecas2_unsigned.mdn", "sb2bi_signed.mdn"} {
		ct, body := splitSeed(f, name)
		f.Add(ct, body)
	}
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		var h mime.Header
		h.Add("Content-Type", contentType)
		m, err := ParseMDN(h, bytes.NewReader(body), MDNParseOptions{})
		if err == nil && m.Disposition.Type == "" {
			t.Fatal("an MDN without disposition was accepted")
		}
		if err != nil && !errors.Is(err, ErrMDNMalformed) && !errors.Is(err, ErrMDNSignature) {
			t.Fatalf("unclassified error %v", err)
		}
	})
}
