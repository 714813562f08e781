package as2

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/as2gate/as2gate/internal/cms"
	"github.com/as2gate/as2gate/internal/testpeer"
)

func TestMDNRoundTrip(t *testing.T) {
	ids := identities(t)
	mic := MIC{Digest: bytes.Repeat([]byte{7}, 32), Alg: crypto.SHA256, AlgName: "sha256"}
	for _, tt := range []struct {
		name   string
		disp   Disposition
		signed bool
	}{
		{"processed signed", Processed(), true},
		{"processed unsigned", Processed(), false},
		{"error signed", ProcessedError(DecryptionFailed), true},
		{"warning", ProcessedWarning("duplicate-document"), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			opts := MDNOptions{From: "receiver", To: "Sender Co", OriginalMessageID: "<abc@sender>", Disposition: tt.disp, MIC: &mic}
			if tt.signed {
				opts.Sign = &cms.Signer{Key: ids.receiver.Key, Cert: ids.receiver.Cert, Digest: crypto.SHA256}
			}
			mdn, err := BuildMDN(opts)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseMDN(mdn.Header, bytes.NewReader(mdn.Body), MDNParseOptions{Verify: []*x509.Certificate{ids.receiver.Cert}})
			if err != nil {
				t.Fatal(err)
			}
			if (got.Signature != nil) != tt.signed || got.Disposition != tt.disp || got.OriginalMessageID != "<abc@sender>" ||
				got.From != "receiver" || got.To != "Sender Co" || got.MessageID != mdn.MessageID {
				t.Fatalf("parsed %+v", got)
			}
			if err := got.CheckMIC(mic); err != nil {
				t.Fatal(err)
			}
			other := mic
			other.Digest = bytes.Repeat([]byte{8}, 32)
			if err := got.CheckMIC(other); !errors.Is(err, ErrMICMismatch) {
				t.Fatalf("CheckMIC of another MIC: %v", err)
			}
			if tt.signed {
				bad := bytes.Replace(mdn.Body, []byte("Reporting-UA: as2gate"), []byte("Reporting-UA: as2gatX"), 1)
				if _, err := ParseMDN(mdn.Header, bytes.NewReader(bad), MDNParseOptions{Verify: []*x509.Certificate{ids.receiver.Cert}}); !errors.Is(err, ErrMDNSignature) {
					t.Fatalf("tampered MDN: %v", err)
				}
				if _, err := ParseMDN(mdn.Header, bytes.NewReader(mdn.Body), MDNParseOptions{Verify: []*x509.Certificate{ids.sender.Cert}}); !errors.Is(err, ErrMDNSignature) {
					t.Fatalf("MDN checked against another certificate: %v", err)
				}
			}
		})
	}
}

func TestDisposition(t *testing.T) {
	for in, want := range map[string]Disposition{
		"automatic-action/MDN-sent-automatically; processed":                              Processed(),
		"Automatic-action/mdn-sent-automatically;processed":                               {ActionMode: "Automatic-action", SendingMode: "mdn-sent-automatically", Type: "processed"},
		"automatic-action/MDN-sent-automatically; processed/error: authentication-failed": ProcessedError(AuthenticationFailed),
		"automatic-action/MDN-sent-automatically; processed/Warning: duplicate-document":  ProcessedWarning("duplicate-document"),
	} {
		got, err := ParseDisposition(in)
		if err != nil || got != want {
			t.Errorf("%q: %+v, %v", in, got, err)
		}
	}
	if Processed().String() != "automatic-action/MDN-sent-automatically; processed" || !Processed().OK() || ProcessedError(DecryptionFailed).OK() || !ProcessedWarning("x").OK() {
		t.Error("Disposition helpers")
	}
}

func parseMDNFixture(t *testing.T, name string, verify []*x509.Certificate) (*ReceivedMDN, error) {
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
	return ParseMDN(h, body, MDNParseOptions{Verify: verify})
}

func TestMDNFixtures(t *testing.T) {
	sterling := fixtureBundle(t, "pyas2lib-fixtures/cert_sb2bi_public.pem", "")
	tests := []struct {
		file     string
		verify   []*x509.Certificate
		signed   bool
		disp     Disposition
		mic      string
		original string
	}{
		{"mecas2_signed.mdn", nil, true, Processed(), "O4bvrm5t2YunRfwvZicNdEUmPaPZ9vUslX8loVLDck0=, sha-256", "<20161230102456.10748.40759@imac.local>"},
		{"mecas2_unsigned.mdn", nil, false, ProcessedError(AuthenticationFailed), "", "<20161230102316.10728.85252@imac.local>"},
		{"sb2bi_signed.mdn", sterling.Certs, true, Disposition{ActionMode: "Automatic-action", SendingMode: "mdn-sent-automatically", Type: "processed"},
			"wNh76aEicfBurg/et2wio4zk/2I=,sha1", "<151694007918.24690.7052273208458909245@ip-172-31-14-209.ec2.internal>"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			m, err := parseMDNFixture(t, tt.file, tt.verify)
			if err != nil {
				t.Fatal(err)
			}
			if (m.Signature != nil) != tt.signed || m.Disposition != tt.disp || m.OriginalMessageID != tt.original {
				t.Fatalf("parsed %+v", m)
			}
			if tt.verify != nil && !m.Signature.Trusted {
				t.Fatal("not verified against the partner certificate")
			}
			if tt.mic != "" {
				want, err := ParseMIC(tt.mic)
				if err != nil {
					t.Fatal(err)
				}
				if err := m.CheckMIC(want); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
	t.Run("tampered", func(t *testing.T) {
		raw, _ := os.ReadFile(testpeer.Fixture("pyas2lib-fixtures", "mecas2_signed.mdn"))
		raw = []byte(strings.Replace(string(raw), "; processed", "; processed/error: decryption-failed", 1))
		h, body, err := ReadCapture(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseMDN(h, body, MDNParseOptions{}); !errors.Is(err, ErrMDNSignature) {
			t.Fatalf("error %v, want ErrMDNSignature", err)
		}
	})
}
