package e2e

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/as2gate/as2gate/client"
	"github.com/as2gate/as2gate/internal/testpeer"
)

// TestOpenSSLPartnerSends has OpenSSL play the partner that sends: each
// request is built with the OpenSSL CLI alone, posted to a running server
// with Go's HTTP client asking for a signed synchronous MDN, and the MDN is
// verified with OpenSSL, its MIC against OpenSSL's digest of what it signed.
func TestOpenSSLPartnerSends(t *testing.T) {
	openssl := testpeer.Command(t, "openssl")
	s := NewServer(t, bin, "GW", fastFlags...)
	stationCrt := stationCert(t, s, "GW")
	keys := t.TempDir()
	partnerKey, partnerCrt := testpeer.NewIdentity(t, "OpenSSL partner").WritePEM(t, keys, "partner")
	s.OK("partner", "create", "--as2-id", "OSSL", "--url", "http://127.0.0.1:9/as2", "--cert", partnerCrt)

	tests := []struct {
		name    string
		sign    []string // options of openssl cms -sign
		encrypt []string // the cipher option of openssl cms -encrypt, then -keyopt options
		tamper  bool     // change a byte of the signed content before encrypting
		algs    []string // what the receiver must find, in its description of the message's security
	}{
		{"aes256-cbc, sha256", nil, []string{"-aes256"}, false,
			[]string{"encrypted aes256-cbc (rsa-pkcs1-v1_5)", "signed sha256 rsassa-pkcs1-v1_5"}},
		{"oaep-sha256", nil, []string{"-aes128", "-keyopt", "rsa_padding_mode:oaep", "-keyopt", "rsa_oaep_md:sha256", "-keyopt", "rsa_mgf1_md:sha256"}, false,
			[]string{"encrypted aes128-cbc (rsaes-oaep-sha256)", "signed sha256 rsassa-pkcs1-v1_5"}},
		{"pss", []string{"-keyopt", "rsa_padding_mode:pss", "-keyopt", "rsa_pss_saltlen:32"}, []string{"-des3"}, false,
			[]string{"encrypted 3des (rsa-pkcs1-v1_5)", "signed sha256 rsassa-pss"}},
		{"tampered", nil, []string{"-aes256"}, true, nil},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			name := fmt.Sprintf("order-%d.x12", i)
			sum := writeRandom(t, filepath.Join(dir, "payload"), 20_011, uint64(100+i))
			payload := readFile(t, filepath.Join(dir, "payload"))
			entity := append([]byte("Content-Type: application/edi-x12\r\nContent-Transfer-Encoding: binary\r\n"+
				"Content-Disposition: attachment; filename=\""+name+"\"\r\n\r\n"), payload...)
			writeFile(t, filepath.Join(dir, "payload.mime"), entity)
			testpeer.Run(t, dir, openssl, append([]string{"cms", "-sign", "-binary", "-crlfeol", "-md", "sha256", "-in", "payload.mime",
				"-signer", partnerCrt, "-inkey", partnerKey, "-out", "signed.mime"}, tc.sign...)...)
			signedMIME := readFile(t, filepath.Join(dir, "signed.mime"))
			signed, _, err := splitSigned(signedMIME)
			if err != nil {
				t.Fatalf("OpenSSL's signed message: %v", err)
			}
			if !bytes.Equal(signed, entity) {
				t.Fatalf("the signed part is not the entity OpenSSL signed (the splitter is wrong)")
			}
			if tc.tamper {
				at := bytes.Index(signedMIME, payload[:64]) + len(payload)/2
				signedMIME[at] ^= 0x01
				writeFile(t, filepath.Join(dir, "signed.mime"), signedMIME)
			}
			// The cipher comes first; the -keyopt options after it apply to the -recip before them.
			testpeer.Run(t, dir, openssl, append(append([]string{"cms", "-encrypt", "-binary", "-in", "signed.mime", "-outform", "DER",
				tc.encrypt[0], "-recip", stationCrt}, tc.encrypt[1:]...), "-out", "body.der")...)

			msgID := fmt.Sprintf("<openssl-%d-%d@e2e.test>", i, time.Now().UnixNano())
			post := func() (http.Header, []byte) {
				t.Helper()
				return postAS2(t, s.URL(), filepath.Join(dir, "body.der"), map[string]string{
					"AS2-Version": "1.2", "AS2-From": "OSSL", "AS2-To": "GW", "Message-ID": msgID, "Subject": "OpenSSL " + tc.name,
					"Disposition-Notification-To": "ossl@e2e.test",
					"Disposition-Notification-Options": "signed-receipt-protocol=optional, pkcs7-signature; " +
						"signed-receipt-micalg=optional, sha-256",
					"Content-Type":              `application/pkcs7-mime; smime-type=enveloped-data; name="smime.p7m"`,
					"Content-Disposition":       `attachment; filename="smime.p7m"`,
					"Content-Transfer-Encoding": "binary",
				})
			}
			h, body := post()
			mdn := append([]byte("Content-Type: "+h.Get("Content-Type")+"\r\n\r\n"), body...)
			report, sig, err := splitSigned(mdn)
			if err != nil {
				t.Fatalf("the MDN: %v\n%s", err, mdn)
			}
			if err := opensslVerify(t, dir, report, sig, stationCrt); err != nil {
				t.Fatalf("the MDN's signature: %v\n%s", err, mdn)
			}
			f := readMDNFields(report)
			if f.OriginalMessageID != msgID {
				t.Errorf("MDN for %q, want %q", f.OriginalMessageID, msgID)
			}
			list := messages(t, s, "--direction", "in", "--message-id", msgID)
			if len(list) != 1 {
				t.Fatalf("%d messages recorded with Message-ID %s, want 1", len(list), msgID)
			}
			in := list[0]

			if tc.tamper {
				if !strings.Contains(f.Disposition, "processed/error") ||
					!(strings.Contains(f.Disposition, "authentication-failed") || strings.Contains(f.Disposition, "integrity-check-failed")) {
					t.Errorf("tampered message: disposition %q, want processed/error: authentication-failed or integrity-check-failed", f.Disposition)
				}
				if in.Status != "rejected" || len(in.Files) != 0 || in.Reason == "" {
					t.Errorf("tampered message recorded as %+v, want rejected with a reason and no file", in)
				}
				return
			}
			if !strings.HasSuffix(f.Disposition, "; processed") {
				t.Errorf("disposition %q, want processed", f.Disposition)
			}
			if want := opensslMIC(t, dir, "sha256", signed); f.MIC != want || f.MICAlg != "sha-256" {
				t.Errorf("Received-Content-MIC %q, %q; OpenSSL's digest of the signed part is %q, sha-256", f.MIC, f.MICAlg, want)
			}
			if in.Status != "received" || len(in.Files) != 1 || in.Files[0].Name != name || in.Files[0].SHA256 != sum {
				t.Fatalf("received %+v, want file %s with sha256 %s", in, name, sum)
			}
			for _, want := range tc.algs {
				if !strings.Contains(in.Algorithms, want) {
					t.Errorf("the receiver's security %q does not say %q", in.Algorithms, want)
				}
			}
			got := filepath.Join(dir, "downloaded")
			s.OK("message", "download", in.ID, "--out", got)
			if !bytes.Equal(readFile(t, got), payload) {
				t.Errorf("the file stored differs from the payload sent")
			}
			if i == 0 {
				// A resend of the same message: the same MDN, nothing stored
				// again, not even an empty folder.
				before := listTree(t, filepath.Join(s.Data, "AS2"))
				_, again := post()
				if !bytes.Equal(again, body) {
					t.Errorf("the MDN of the duplicate differs from the first")
				}
				if n := len(messages(t, s, "--direction", "in", "--message-id", msgID)); n != 1 {
					t.Errorf("%d messages recorded after a duplicate, want 1", n)
				}
				for p := range listTree(t, filepath.Join(s.Data, "AS2")) {
					if !before[p] {
						t.Errorf("the duplicate left %s behind", p)
					}
				}
			}
		})
	}
}

// postAS2 posts the file body with the headers given and returns the
// response's headers and body, failing unless it is 200 OK.
func postAS2(t *testing.T, url, body string, headers map[string]string) (http.Header, []byte) {
	t.Helper()
	f, err := os.Open(body)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, url, f)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = fi.Size()
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: %s: %s", url, resp.Status, data)
	}
	return resp.Header, data
}

// sink is an AS2 partner that only stores what it is sent and answers 200.
type sink struct {
	dir      string
	mu       sync.Mutex
	requests []sunk
}

// sunk is a request the sink stored.
type sunk struct {
	header  http.Header
	chunked bool
	body    string // the file holding it
}

func (k *sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f, err := os.CreateTemp(k.dir, "body-*")
	if err == nil {
		_, err = io.Copy(f, r.Body)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	k.mu.Lock()
	k.requests = append(k.requests, sunk{header: r.Header.Clone(), chunked: len(r.TransferEncoding) > 0, body: f.Name()})
	k.mu.Unlock()
}

func (k *sink) last(t *testing.T) sunk {
	t.Helper()
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.requests) == 0 {
		t.Fatal("the sink received nothing")
	}
	return k.requests[len(k.requests)-1]
}

// TestSendToSink has as2gate send to a partner that is a plain HTTP sink
// (no MDN), and opens what the sink stored with OpenSSL: decrypt with the
// sink's key, verify with the station's certificate, compare the payload
// and the MIC the sender recorded.
func TestSendToSink(t *testing.T) {
	openssl := testpeer.Command(t, "openssl")
	k := &sink{dir: t.TempDir()}
	srv := httptest.NewServer(k)
	defer srv.Close()
	a := NewServer(t, bin, "A", fastFlags...)
	aCrt := stationCert(t, a, "A")
	keys := t.TempDir()
	sinkKey, sinkCrt := testpeer.NewIdentity(t, "sink").WritePEM(t, keys, "sink")
	a.OK("partner", "create", "--as2-id", "SINK", "--url", srv.URL+"/as2", "--cert", sinkCrt, "--mdn", "none", "--retry-delay", "1s")

	tests := []struct {
		name     string
		security []string
		digest   string // OpenSSL's name of the signing digest
		size     int64
		chunked  bool
	}{
		{"aes256-cbc, sha256, Content-Length", []string{"--sign", "sha256", "--encrypt", "aes256-cbc"}, "sha256", 1<<20 + 3, false},
		{"aes128-gcm, oaep-sha256, pss sha512, chunked",
			[]string{"--sign", "sha512", "--mic-alg", "sha-512", "--pss", "--encrypt", "aes128-gcm", "--oaep", "sha256", "--chunked"}, "sha512", 77_777, true},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			a.OK(append([]string{"partner", "update", "SINK"}, tc.security...)...)
			file := filepath.Join(dir, fmt.Sprintf("invoice-%d.xml", i))
			writeRandom(t, file, tc.size, uint64(200+i))
			var out client.Message
			a.JSON(&out, "send", "--station", "A", "--partner", "SINK", "--wait", "--wait-timeout", "60s", file)
			if out.Status != "sent" {
				t.Fatalf("sent message %+v", out)
			}
			req := k.last(t)
			for name, want := range map[string]string{"AS2-From": "A", "AS2-To": "SINK", "Message-ID": out.MessageID} {
				if got := req.header.Get(name); got != want {
					t.Errorf("header %s: %q, want %q", name, got, want)
				}
			}
			if req.chunked != tc.chunked {
				t.Errorf("chunked body: %v, want %v", req.chunked, tc.chunked)
			}
			body := req.body
			if strings.EqualFold(req.header.Get("Content-Transfer-Encoding"), "base64") {
				der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(readFile(t, body))), ""))
				if err != nil {
					t.Fatal(err)
				}
				body = filepath.Join(dir, "body.der")
				writeFile(t, body, der)
			}
			testpeer.Run(t, dir, openssl, "cms", "-decrypt", "-binary", "-inform", "DER", "-in", body,
				"-recip", sinkCrt, "-inkey", sinkKey, "-out", "decrypted.mime")
			content, sig, err := splitSigned(readFile(t, filepath.Join(dir, "decrypted.mime")))
			if err != nil {
				t.Fatalf("the decrypted message: %v", err)
			}
			if err := opensslVerify(t, dir, content, sig, aCrt); err != nil {
				t.Fatalf("the signature: %v", err)
			}
			mic, _, _ := strings.Cut(out.MIC, ",")
			if want := opensslMIC(t, dir, tc.digest, content); mic != want {
				t.Errorf("the sender recorded the MIC %q; OpenSSL's %s digest of the signed part is %q", out.MIC, tc.digest, want)
			}
			h, payload, err := splitHeader(content)
			if err != nil {
				t.Fatal(err)
			}
			if strings.EqualFold(h["content-transfer-encoding"], "base64") {
				if payload, err = base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(payload)), "")); err != nil {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(payload, readFile(t, file)) {
				t.Errorf("the payload OpenSSL recovered (%d bytes) differs from the file sent (%d bytes)", len(payload), tc.size)
			}
			if !strings.Contains(h["content-disposition"], filepath.Base(file)) {
				t.Errorf("Content-Disposition %q does not name %s", h["content-disposition"], filepath.Base(file))
			}
		})
	}
}

// listTree lists the files and folders under root, as relative paths.
func listTree(t *testing.T, root string) map[string]bool {
	t.Helper()
	paths := map[string]bool{}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		paths[rel] = true
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return paths
}
