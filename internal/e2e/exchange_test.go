package e2e

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/as2gate/as2gate/client"
)

// TestExchange runs two gateways that send each other files with every MDN
// mode and several security profiles, each set up with `partner update`
// and sent with `as2gate send --wait`, and checks both sides' records, the
// file received byte for byte, the MDN and the MICs.
func TestExchange(t *testing.T) {
	a, b, aCert, bCert := pair(t, fastFlags, []string{"--retry-delay", "1s"}, []string{"--retry-delay", "1s"})
	type side struct {
		s           *Server
		as2ID, cert string
	}
	A, B := side{a, "A", aCert}, side{b, "B", bCert}
	tests := []struct {
		name     string
		from, to side
		mdn      string
		signed   bool     // a signed MDN is asked for
		security []string // flags of partner update
		size     int64
		// what the receiver must find: flags and parts of its description
		compressed bool
		algs       []string
	}{
		{"A to B, sync signed MDN, aes256-cbc", A, B, "sync", true,
			[]string{"--sign", "sha256", "--pss=false", "--encrypt", "aes256-cbc", "--oaep", "none", "--compress", "none", "--mic-alg", "sha-256"},
			100_003, false, []string{"encrypted aes256-cbc (rsa-pkcs1-v1_5)", "signed sha256 rsassa-pkcs1-v1_5"}},
		{"B to A, async signed MDN, compressed before signing", B, A, "async", true,
			[]string{"--sign", "sha256", "--pss=false", "--encrypt", "aes256-cbc", "--oaep", "none", "--compress", "before", "--mic-alg", "sha-256"},
			300_001, true, []string{"encrypted aes256-cbc", "signed sha256", "compressed"}},
		{"A to B, no MDN, 3des", A, B, "none", false,
			[]string{"--sign", "sha1", "--pss=false", "--encrypt", "3des", "--oaep", "none", "--compress", "none", "--mic-alg", "sha1"},
			65_536, false, []string{"encrypted 3des (rsa-pkcs1-v1_5)", "signed sha1 rsassa-pkcs1-v1_5"}},
		{"B to A, sync unsigned MDN, gcm oaep pss", B, A, "sync", false,
			[]string{"--sign", "sha512", "--pss", "--encrypt", "aes256-gcm", "--oaep", "sha256", "--compress", "none", "--mic-alg", "sha-512"},
			1, false, []string{"encrypted aes256-gcm (rsaes-oaep-sha256)", "signed sha512 rsassa-pss"}},
		{"A to B, async signed MDN, gcm oaep pss", A, B, "async", true,
			[]string{"--sign", "sha384", "--pss", "--encrypt", "aes128-gcm", "--oaep", "sha512", "--compress", "none", "--mic-alg", "sha-384"},
			2 << 20, false, []string{"encrypted aes128-gcm (rsaes-oaep-sha512)", "signed sha384 rsassa-pss"}},
		{"B to A, no MDN, compressed after signing, 3des", B, A, "none", false,
			[]string{"--sign", "sha256", "--pss=false", "--encrypt", "3des", "--oaep", "none", "--compress", "after", "--mic-alg", "sha-256"},
			40_000, true, []string{"encrypted 3des", "signed sha256", "compressed after signing"}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.from.s.OK(append([]string{"partner", "update", tc.to.as2ID, "--mdn", tc.mdn, "--mdn-signed=" + boolString(tc.signed)}, tc.security...)...)
			file := filepath.Join(dir, "order-"+string(rune('a'+i))+".edi")
			sum := writeRandom(t, file, tc.size, uint64(i))

			var out client.Message
			tc.from.s.JSON(&out, "send", "--station", tc.from.as2ID, "--partner", tc.to.as2ID, "--wait", "--wait-timeout", "60s", file)
			if out.Status != "sent" || out.Direction != "out" || out.MDNMode != tc.mdn || out.MIC == "" {
				t.Fatalf("sent message %+v", out)
			}

			list := messages(t, tc.to.s, "--direction", "in", "--message-id", out.MessageID)
			if len(list) != 1 {
				t.Fatalf("%s holds %d inbound messages with Message-ID %s, want 1: %+v", tc.to.as2ID, len(list), out.MessageID, list)
			}
			in := list[0]
			if in.Status != "received" || in.StationAS2ID != tc.to.as2ID || in.PartnerAS2ID != tc.from.as2ID || len(in.Files) != 1 {
				t.Fatalf("received message %+v", in)
			}
			if f := in.Files[0]; f.Name != filepath.Base(file) || f.Size != tc.size || f.SHA256 != sum {
				t.Errorf("received file %+v, want %s, %d bytes, sha256 %s", f, filepath.Base(file), tc.size, sum)
			}
			if !in.Signed || !in.Encrypted || in.Compressed != tc.compressed {
				t.Errorf("received signed=%v encrypted=%v compressed=%v, want true true %v", in.Signed, in.Encrypted, in.Compressed, tc.compressed)
			}
			for _, want := range tc.algs {
				if !strings.Contains(in.Algorithms, want) {
					t.Errorf("receiver's security %q does not say %q", in.Algorithms, want)
				}
			}
			if strings.Contains(in.Algorithms, "after signing") != strings.Contains(strings.Join(tc.security, " "), "after") {
				t.Errorf("receiver's security %q: wrong order of compression", in.Algorithms)
			}
			// Both sides computed the same MIC over the signed content.
			if in.MIC != out.MIC {
				t.Errorf("MIC: sender %q, receiver %q", out.MIC, in.MIC)
			}
			got := filepath.Join(dir, "downloaded")
			tc.to.s.OK("message", "download", in.ID, "--out", got)
			if !bytes.Equal(readFile(t, got), readFile(t, file)) {
				t.Errorf("downloaded file differs from the file sent")
			}

			if tc.mdn == "none" {
				if in.MDNMode != "none" || out.MDNStatus != "" || out.MICMatched != nil {
					t.Errorf("no MDN asked for, yet sender %+v, receiver %+v", out, in)
				}
				if r := tc.from.s.Run("message", "mdn", out.ID); r.Err == nil {
					t.Errorf("message mdn printed an MDN for a message sent without one:\n%s", r.Stdout)
				}
				return
			}
			checkMDN(t, dir, tc.from.s, tc.to.s, out, in, tc.signed, tc.to.cert)
		})
	}
	// No work is in flight: nothing may be left in the temporary areas.
	for _, s := range []*Server{a, b} {
		if left := listTmp(t, s.Data); len(left) > 0 {
			t.Errorf("server %s left temporary files after clean exchanges: %v", s.Name, left)
		}
	}
}

// checkMDN checks the MDN of a message as the sender received it and as
// the receiver returned it: the same body, a processed disposition for the
// message, the MIC both sides computed, and a signature OpenSSL verifies
// with the receiver's certificate when a signed MDN was asked for.
func checkMDN(t *testing.T, dir string, from, to *Server, out, in client.Message, signed bool, toCert string) {
	t.Helper()
	wantStatus := "unsigned"
	if signed {
		wantStatus = "signature verified"
	}
	if out.MDNStatus != wantStatus || !strings.Contains(out.MDNDisposition, "processed") || strings.Contains(out.MDNDisposition, "error") ||
		out.MICMatched == nil || !*out.MICMatched {
		t.Errorf("sender's MDN outcome: status %q, disposition %q, MIC matched %v; want %q, processed, true",
			out.MDNStatus, out.MDNDisposition, out.MICMatched, wantStatus)
	}
	if in.MDNMode != out.MDNMode || in.MDNMessageID == "" || in.MDNMessageID != out.MDNMessageID {
		t.Errorf("receiver's MDN: mode %q, Message-ID %q; sender's: mode %q, Message-ID %q", in.MDNMode, in.MDNMessageID, out.MDNMode, out.MDNMessageID)
	}
	if in.MDNMode == "async" {
		// The receiver records the delivery once the sender has answered.
		waitFor(t, 10*time.Second, "the receiver to record the async MDN as sent", func() bool {
			list := messages(t, to, "--direction", "in", "--message-id", in.MessageID)
			return len(list) == 1 && list[0].MDNStatus == "sent"
		})
	}

	received := []byte(from.OK("message", "mdn", out.ID))
	returned := []byte(to.OK("message", "mdn", in.ID))
	_, rbody, err := splitHeader(received)
	if err != nil {
		t.Fatalf("MDN received: %v\n%s", err, received)
	}
	_, sbody, err := splitHeader(returned)
	if err != nil {
		t.Fatalf("MDN returned: %v\n%s", err, returned)
	}
	if !bytes.Equal(rbody, sbody) {
		t.Errorf("the MDN the sender keeps differs from the one the receiver returned:\n%s\n---\n%s", received, returned)
	}

	report := received
	if signed {
		content, sig, err := splitSigned(received)
		if err != nil {
			t.Fatalf("signed MDN: %v\n%s", err, received)
		}
		if err := opensslVerify(t, dir, content, sig, toCert); err != nil {
			t.Errorf("the MDN's signature: %v", err)
		}
		report = content
	} else if bytes.Contains(received, []byte("multipart/signed")) {
		t.Errorf("an unsigned MDN was asked for, a signed one came:\n%s", received)
	}
	f := readMDNFields(report)
	mic, alg, _ := strings.Cut(out.MIC, ", ")
	if f.OriginalMessageID != out.MessageID || !strings.HasSuffix(f.Disposition, "processed") || f.MIC != mic || f.MICAlg != alg {
		t.Errorf("MDN fields %+v; want Original-Message-ID %s, processed, MIC %q", f, out.MessageID, out.MIC)
	}
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
