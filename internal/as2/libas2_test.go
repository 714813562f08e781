package as2

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/as2gate/as2gate/internal/cms"
	"github.com/as2gate/as2gate/internal/mime"
	"github.com/as2gate/as2gate/internal/testpeer"
)

// Interop with libas2 0.8.2 (npm), an independent AS2 implementation in
// JavaScript, driven through the scripts in interop/libas2. Messages and
// MDNs travel between us and them as capture files (headers, empty line,
// body), which ReadCapture reads.

type libas2 struct {
	node, dir string
	// PEM files of the test identities.
	senderKey, senderCert, receiverKey, receiverCert string
}

func newLibas2(t *testing.T, ids pair) *libas2 {
	t.Helper()
	node := testpeer.Command(t, "node")
	dir := filepath.Join(testpeer.RepoRoot(), "interop", "libas2")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "libas2")); err != nil {
		testpeer.Missing(t, "libas2 is not installed: run npm ci in interop/libas2")
	}
	l := &libas2{node: node, dir: dir}
	keys := t.TempDir()
	l.senderKey, l.senderCert = ids.sender.WritePEM(t, keys, "sender")
	l.receiverKey, l.receiverCert = ids.receiver.WritePEM(t, keys, "receiver")
	return l
}

// run runs a script and decodes the JSON it prints into result. The
// security revert lets Node decrypt PKCS#1 v1.5 key transport again (it
// refuses since the Marvin attack fix); Node announces the revert on
// stdout, so the JSON is the last line.
func (l *libas2) run(result any, script string, args ...string) error {
	cmd := exec.Command(l.node, append([]string{"--security-revert=CVE-2023-46809", script}, args...)...)
	cmd.Dir = l.dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %v: %s", script, err, stderr.Bytes())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), result); err != nil {
		return fmt.Errorf("%s printed %q: %v", script, stdout.Bytes(), err)
	}
	return nil
}

// compose has libas2 compose a message from payload into dir/message.http
// and returns its path and Message-ID.
func (l *libas2) compose(t *testing.T, dir, sign, encrypt string, payload []byte) (string, string) {
	t.Helper()
	in, out := filepath.Join(dir, "payload"), filepath.Join(dir, "message.http")
	if err := os.WriteFile(in, payload, 0o600); err != nil {
		t.Fatal(err)
	}
	var got struct {
		MessageID string `json:"messageId"`
	}
	if err := l.run(&got, "compose.js", "--payload", in, "--content-type", "application/edi-x12", "--filename", "order.x12",
		"--sign", sign, "--encrypt", encrypt, "--sender-key", l.senderKey, "--sender-cert", l.senderCert,
		"--receiver-cert", l.receiverCert, "--out", out); err != nil {
		t.Fatal(err)
	}
	return out, got.MessageID
}

type libas2Received struct {
	Encrypted   bool               `json:"encrypted"`
	Signed      bool               `json:"signed"`
	ContentType string             `json:"contentType"`
	Filename    string             `json:"filename"`
	MDN         libas2Notification `json:"mdn"`
	Payload     []byte             `json:"-"`
	MDNFile     string             `json:"-"` // libas2's signed MDN, a capture file
}

// receive has libas2 decrypt and verify the message in file, and sign an
// MDN for it with SHA-256.
func (l *libas2) receive(file string) (*libas2Received, error) {
	dir := filepath.Dir(file)
	got := &libas2Received{MDNFile: filepath.Join(dir, "libas2-mdn.http")}
	payload := filepath.Join(dir, "libas2-payload")
	if err := l.run(got, "receive.js", "--in", file, "--receiver-key", l.receiverKey, "--receiver-cert", l.receiverCert,
		"--sender-cert", l.senderCert, "--payload-out", payload, "--mdn-out", got.MDNFile, "--mdn-sign", "sha-256"); err != nil {
		return nil, err
	}
	var err error
	got.Payload, err = os.ReadFile(payload)
	return got, err
}

// libas2Notification is a disposition notification as libas2 writes or reads it.
type libas2Notification struct {
	OriginalMessageID string `json:"originalMessageId"`
	Disposition       struct {
		Type        string `json:"type"`
		Processed   bool   `json:"processed"`
		Description *struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"description"`
	} `json:"disposition"`
	ReceivedContentMIC *struct {
		MIC       string `json:"mic"`
		Algorithm string `json:"algorithm"`
	} `json:"receivedContentMic"`
}

// mic is the Received-Content-MIC libas2 states, as we read it.
func (n libas2Notification) mic(t *testing.T) MIC {
	t.Helper()
	if n.ReceivedContentMIC == nil {
		t.Fatal("libas2 states no MIC")
	}
	m, err := ParseMIC(n.ReceivedContentMIC.MIC + ", " + n.ReceivedContentMIC.Algorithm)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func writeCaptureFile(t *testing.T, file string, h mime.Header, body []byte) {
	t.Helper()
	var b bytes.Buffer
	if err := mime.WriteHeader(&b, h); err != nil {
		t.Fatal(err)
	}
	b.Write(body)
	if err := os.WriteFile(file, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

func readCaptureFile(t *testing.T, file string) (mime.Header, []byte) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h, body, err := ReadCapture(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		t.Fatal(err)
	}
	return h, b
}

// parseLibas2MDN reads the MDN libas2 signed with the receiver's key.
func parseLibas2MDN(t *testing.T, ids pair, file string) (*ReceivedMDN, error) {
	t.Helper()
	h, body := readCaptureFile(t, file)
	return ParseMDN(h, bytes.NewReader(body), MDNParseOptions{Verify: []*x509.Certificate{ids.receiver.Cert}})
}

var libas2Payloads = map[string][]byte{
	"x12": []byte("ISA*00*          *00*          *ZZ*SENDER*ZZ*RECEIVER~\r\nGS*PO*SENDER*RECEIVER~\r\n" +
		"ST*850*0001~\r\nSE*2*0001~\r\nGE*1*1~\r\nIEA*1*000000001~"),
	"binary": func() []byte {
		b := make([]byte, 1000)
		for i := range b {
			b[i] = byte(i * 7) // every byte value, CR and LF included
		}
		return b
	}(),
}

// TestLibas2Sends: libas2 composes (OAEP-SHA512 key transport, BER
// indefinite lengths, base64 bodies); we decrypt, verify and deliver the
// payload byte for byte. libas2 then receives its own message and signs an
// MDN, whose MIC must be the one we compute, and which we must verify.
func TestLibas2Sends(t *testing.T) {
	ids := identities(t)
	l := newLibas2(t, ids)
	tests := []struct {
		sign, encrypt, payload string
		digest                 crypto.Hash
		cipher                 cms.Cipher
	}{
		{"sha-256", "aes128-CBC", "x12", crypto.SHA256, cms.AES128CBC},
		{"sha-256", "aes192-CBC", "x12", crypto.SHA256, cms.AES192CBC},
		{"sha-256", "aes256-CBC", "x12", crypto.SHA256, cms.AES256CBC},
		{"sha-256", "des-EDE3-CBC", "x12", crypto.SHA256, cms.TripleDESCBC},
		{"sha-256", "aes256-CBC", "binary", crypto.SHA256, cms.AES256CBC},
		{"sha-1", "aes256-CBC", "x12", crypto.SHA1, cms.AES256CBC},
		{"sha-384", "aes256-CBC", "x12", crypto.SHA384, cms.AES256CBC},
		{"sha-512", "aes256-CBC", "binary", crypto.SHA512, cms.AES256CBC},
		{"sha-256", "none", "x12", crypto.SHA256, 0},
		{"none", "aes256-CBC", "x12", 0, cms.AES256CBC},
		{"none", "none", "binary", 0, 0},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("sign=%s/encrypt=%s/%s", tt.sign, tt.encrypt, tt.payload), func(t *testing.T) {
			t.Parallel()
			payload := libas2Payloads[tt.payload]
			file, messageID := l.compose(t, t.TempDir(), tt.sign, tt.encrypt, payload)
			h, body := readCaptureFile(t, file)
			opts := ParseOptions{
				Decrypt: []cms.Recipient{{Cert: ids.receiver.Cert, Key: ids.receiver.Key}},
				Verify:  []*x509.Certificate{ids.sender.Cert},
				TempDir: t.TempDir(),
			}
			msg, err := Parse(h, bytes.NewReader(body), opts)
			if err != nil {
				t.Fatal(err)
			}
			defer msg.Close()
			if len(msg.Parts) != 1 {
				t.Fatalf("%d parts", len(msg.Parts))
			}
			got, err := os.ReadFile(msg.Parts[0].Path)
			if err != nil {
				t.Fatal(err)
			}
			// libas2 sends the payload exactly: no line end is added.
			if !bytes.Equal(got, payload) {
				t.Fatalf("payload differs:\n got %q\nwant %q", got, payload)
			}
			if p := msg.Parts[0]; p.ContentType != "application/edi-x12" || p.Filename != "order.x12" {
				t.Errorf("part %q %q", p.ContentType, p.Filename)
			}
			if msg.From != "libas2-sender" || msg.To != "as2gate" || msg.MessageID != messageID {
				t.Errorf("from %q to %q id %q, want id %q", msg.From, msg.To, msg.MessageID, messageID)
			}
			if (tt.cipher != 0) != (msg.Encryption != nil) || (tt.digest != 0) != (msg.Signature != nil) {
				t.Fatalf("layers %+v", msg.Layers)
			}
			if tt.cipher != 0 {
				want := cms.KeyTransport{OAEP: true, Hash: crypto.SHA512}
				if msg.Encryption.Cipher != tt.cipher || msg.Encryption.KeyTransport != want {
					t.Errorf("encryption %v with %v, want %v with %v", msg.Encryption.Cipher, msg.Encryption.KeyTransport, tt.cipher, want)
				}
			}
			if tt.digest != 0 && (msg.Signature.Digest != tt.digest || !msg.Signature.Trusted) {
				t.Errorf("signature %+v", msg.Signature)
			}

			rec, err := l.receive(file)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(rec.Payload, payload) {
				t.Fatalf("libas2's own payload differs: %q", rec.Payload)
			}
			if tt.digest == 0 {
				// libas2 computes a MIC only from a signature it verified.
				if rec.MDN.ReceivedContentMIC != nil {
					t.Errorf("libas2 states a MIC for an unsigned message: %+v", rec.MDN.ReceivedContentMIC)
				}
			} else {
				libMIC := rec.MDN.mic(t)
				// libas2 hashes with the signature's digest, whatever
				// signed-receipt-micalg asked for (it asks for sha-256
				// itself); ask us for that digest to compare.
				if libMIC.Alg != tt.digest {
					t.Fatalf("libas2's MIC is %v, want the signature's digest %v", libMIC, tt.digest)
				}
				ours := msg.MIC
				if ours.Alg != libMIC.Alg {
					h.Set("Disposition-Notification-Options", "signed-receipt-protocol=required,pkcs7-signature; signed-receipt-micalg=required,"+tt.sign)
					again, err := Parse(h, bytes.NewReader(body), opts)
					if err != nil {
						t.Fatal(err)
					}
					again.Close()
					ours = again.MIC
				}
				if !ours.Equal(libMIC) {
					t.Errorf("MIC: libas2 %v, as2gate %v", libMIC, ours)
				}
			}

			mdn, err := parseLibas2MDN(t, ids, rec.MDNFile)
			if err != nil {
				t.Fatal(err)
			}
			if !mdn.Signature.Trusted || mdn.Disposition != Processed() || mdn.OriginalMessageID != messageID {
				t.Errorf("libas2's MDN: %+v", mdn)
			}
			if tt.digest != 0 {
				if err := mdn.CheckMIC(rec.MDN.mic(t)); err != nil {
					t.Error(err)
				}
			} else if mdn.MIC != nil {
				t.Errorf("MDN MIC %v for an unsigned message", mdn.MIC)
			}
		})
	}
	// libas2 puts AES-GCM in EnvelopedData (not AuthEnvelopedData, RFC
	// 5083/5084) with a bare IV as parameters and the tag appended to the
	// ciphertext; OpenSSL refuses it too ("cipher parameter error").
	t.Run("sign=sha-256/encrypt=aes128-GCM/refused", func(t *testing.T) {
		t.Parallel()
		file, _ := l.compose(t, t.TempDir(), "sha-256", "aes128-GCM", libas2Payloads["x12"])
		h, body := readCaptureFile(t, file)
		dir := t.TempDir()
		_, err := Parse(h, bytes.NewReader(body), ParseOptions{
			Decrypt: []cms.Recipient{{Cert: ids.receiver.Cert, Key: ids.receiver.Key}}, TempDir: dir})
		if FailureOf(err) != DecryptionFailed || !errors.Is(err, cms.ErrUnsupportedAlgorithm) {
			t.Fatalf("error %v, want decryption-failed for an unsupported algorithm", err)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Fatalf("%d files left behind", len(entries))
		}
	})
}

// TestLibas2Receives: we build messages with Base64 (libas2 mangles
// binary bodies); libas2 decrypts, verifies and yields the payload, and
// signs an MDN that we verify and whose MIC matches Request.MIC.
func TestLibas2Receives(t *testing.T) {
	ids := identities(t)
	l := newLibas2(t, ids)
	pkcs1 := cms.KeyTransport{}
	oaep := func(h crypto.Hash) cms.KeyTransport { return cms.KeyTransport{OAEP: true, Hash: h} }
	tests := []struct {
		name     string
		digest   crypto.Hash
		pss      bool
		cipher   cms.Cipher
		kt       cms.KeyTransport
		compress CompressMode
		payload  string
		// binaryCTE sends without Base64; appended is what libas2 adds to
		// the payload then.
		binaryCTE bool
		appended  string
		wantErr   string // libas2's error for what it cannot take
	}{
		{name: "aes128-pkcs1", digest: crypto.SHA256, cipher: cms.AES128CBC, kt: pkcs1, payload: "x12"},
		{name: "aes256-pkcs1", digest: crypto.SHA256, cipher: cms.AES256CBC, kt: pkcs1, payload: "x12"},
		{name: "3des-pkcs1", digest: crypto.SHA256, cipher: cms.TripleDESCBC, kt: pkcs1, payload: "x12"},
		{name: "aes192-oaep-sha1", digest: crypto.SHA256, cipher: cms.AES192CBC, kt: oaep(crypto.SHA1), payload: "x12"},
		{name: "aes128-oaep-sha256", digest: crypto.SHA256, cipher: cms.AES128CBC, kt: oaep(crypto.SHA256), payload: "x12"},
		{name: "aes256-oaep-sha256", digest: crypto.SHA256, cipher: cms.AES256CBC, kt: oaep(crypto.SHA256), payload: "binary"},
		{name: "3des-oaep-sha512", digest: crypto.SHA256, cipher: cms.TripleDESCBC, kt: oaep(crypto.SHA512), payload: "x12"},
		{name: "sha1", digest: crypto.SHA1, cipher: cms.AES256CBC, kt: pkcs1, payload: "x12"},
		{name: "sha384", digest: crypto.SHA384, cipher: cms.AES256CBC, kt: oaep(crypto.SHA1), payload: "x12"},
		{name: "sha512", digest: crypto.SHA512, cipher: cms.AES128CBC, kt: pkcs1, payload: "binary"},
		{name: "signed only", digest: crypto.SHA256, payload: "x12"},
		{name: "encrypted only", cipher: cms.AES256CBC, kt: pkcs1, payload: "binary"},
		// What libas2 0.8.2 cannot take, for its own reasons. pkijs 2.1.90
		// checks a signature with the algorithm of the signer's certificate
		// (sha256WithRSAEncryption), not the SignerInfo's RSASSA-PSS.
		{name: "pss", digest: crypto.SHA256, pss: true, cipher: cms.AES256CBC, kt: pkcs1, payload: "x12", wantErr: "the signature does not verify"},
		// libas2 knows smime-type=enveloped-data only (and pkijs 2.1.90 has
		// no AuthEnvelopedData): it would pass the ciphertext on as the payload.
		{name: "aes128-gcm", digest: crypto.SHA256, cipher: cms.AES128GCM, kt: pkcs1, payload: "x12", wantErr: "smime-type=authEnveloped-data; name=\"smime.p7m\" undecoded"},
		// libas2 cannot decompress (AS2Crypto.decompress is a stub); with
		// Base64 the compressed part inside the signature is base64 too, so
		// the signature verifies and decompression is what fails.
		{name: "compressed after signing", digest: crypto.SHA256, cipher: cms.AES256CBC, kt: pkcs1, compress: CompressAfterSigning, payload: "x12", wantErr: "NOT YET IMPLEMENTED"},
		{name: "compressed before signing", digest: crypto.SHA256, cipher: cms.AES256CBC, kt: pkcs1, compress: CompressBeforeSigning, payload: "x12", wantErr: "NOT YET IMPLEMENTED"},
		// Why libas2 needs Base64: a binary text part gains a CRLF, and
		// binary bytes break the signature (libas2 reads MIME as UTF-8).
		{name: "binary CTE text", digest: crypto.SHA256, payload: "x12", binaryCTE: true, appended: "\r\n"},
		{name: "binary CTE bytes", digest: crypto.SHA256, payload: "binary", binaryCTE: true, wantErr: "the signature does not verify"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			payload := libas2Payloads[tt.payload]
			dir := t.TempDir()
			opts := BuildOptions{From: "as2gate", To: "libas2", Subject: "Order", Base64: !tt.binaryCTE, Compress: tt.compress, TempDir: dir,
				Attachments: []Attachment{{Content: BytesSource(payload), ContentType: "application/edi-x12", Filename: "order.x12"}},
				MDN:         MDNRequest{To: "as2@as2gate.example", Signed: true, SignedRequired: true}}
			if tt.digest != 0 {
				scheme := cms.PKCS1v15
				if tt.pss {
					scheme = cms.PSS
				}
				opts.Sign = &cms.Signer{Key: ids.sender.Key, Cert: ids.sender.Cert, Digest: tt.digest, Scheme: scheme}
				// libas2 states its MIC with the signature's digest
				// whatever was asked: ask for that one.
				opts.MDN.MICAlgs = []string{MICAlgName(tt.digest)}
			}
			if tt.cipher != 0 {
				opts.Encrypt = &cms.EncryptOptions{Cipher: tt.cipher, KeyTransport: tt.kt, Recipients: []*x509.Certificate{ids.receiver.Cert}}
			}
			req, err := Build(opts)
			if err != nil {
				t.Fatal(err)
			}
			defer req.Close()
			file := filepath.Join(dir, "message.http")
			writeCaptureFile(t, file, req.Header, readAll(t, req.Body))

			rec, err := l.receive(file)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("libas2: %v, want an error with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := append(bytes.Clone(payload), tt.appended...); !bytes.Equal(rec.Payload, want) {
				t.Fatalf("libas2's payload differs:\n got %q\nwant %q", rec.Payload, want)
			}
			if rec.Encrypted != (tt.cipher != 0) || rec.Signed != (tt.digest != 0) || rec.Filename != "order.x12" ||
				!strings.HasPrefix(rec.ContentType, "application/edi-x12") {
				t.Errorf("libas2 received %+v", rec)
			}
			mdn, err := parseLibas2MDN(t, ids, rec.MDNFile)
			if err != nil {
				t.Fatal(err)
			}
			if !mdn.Signature.Trusted || mdn.Disposition != Processed() || mdn.OriginalMessageID != req.MessageID {
				t.Errorf("libas2's MDN: %+v", mdn)
			}
			if tt.digest == 0 {
				if mdn.MIC != nil {
					t.Errorf("MDN MIC %v for an unsigned message", mdn.MIC)
				}
				return
			}
			sent, err := req.MIC()
			if err != nil {
				t.Fatal(err)
			}
			if err := mdn.CheckMIC(sent); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestLibas2ReadsMDN: libas2 reads and verifies our MDNs and notices
// tampering and the wrong certificate.
func TestLibas2ReadsMDN(t *testing.T) {
	ids := identities(t)
	l := newLibas2(t, ids)
	mic := MIC{Digest: sha256.New().Sum(nil), Alg: crypto.SHA256}
	tests := []struct {
		name    string
		disp    Disposition
		digest  crypto.Hash // 0: unsigned
		tamper  bool
		cert    string // the certificate libas2 verifies against
		wantErr string
		// libas2 reads "processed/error: x" (RFC 8098) as a description
		// type "error: x"; it writes "failed/failure=x" itself.
		wantDescription string
	}{
		{name: "processed sha256", disp: Processed(), digest: crypto.SHA256, cert: l.receiverCert},
		{name: "processed sha1", disp: Processed(), digest: crypto.SHA1, cert: l.receiverCert},
		{name: "error", disp: ProcessedError(DecryptionFailed), digest: crypto.SHA256, cert: l.receiverCert, wantDescription: "error: decryption-failed"},
		{name: "unsigned", disp: Processed()},
		{name: "tampered", disp: Processed(), digest: crypto.SHA256, cert: l.receiverCert, tamper: true, wantErr: "Could not verify signature"},
		{name: "other certificate", disp: Processed(), digest: crypto.SHA256, cert: l.senderCert, wantErr: "Could not verify signature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts := MDNOptions{From: "as2gate", To: "libas2", OriginalMessageID: "<order-1@libas2>", Disposition: tt.disp, MIC: &mic}
			if tt.digest != 0 {
				opts.Sign = &cms.Signer{Key: ids.receiver.Key, Cert: ids.receiver.Cert, Digest: tt.digest}
			}
			mdn, err := BuildMDN(opts)
			if err != nil {
				t.Fatal(err)
			}
			body := mdn.Body
			if tt.tamper {
				body = bytes.Replace(body, []byte("<order-1@libas2>"), []byte("<order-2@libas2>"), 1)
			}
			file := filepath.Join(t.TempDir(), "mdn.http")
			writeCaptureFile(t, file, mdn.Header, body)
			args := []string{"--in", file}
			if tt.cert != "" {
				args = append(args, "--cert", tt.cert)
			}
			var got struct {
				MessageID    string             `json:"messageId"`
				Notification libas2Notification `json:"notification"`
			}
			err = l.run(&got, "mdn.js", args...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("libas2: %v, want an error with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			n := got.Notification
			if got.MessageID != mdn.MessageID || n.OriginalMessageID != "<order-1@libas2>" || !n.Disposition.Processed ||
				n.Disposition.Type != "automatic-action" {
				t.Errorf("libas2 read %+v", got)
			}
			desc := ""
			if n.Disposition.Description != nil {
				desc = n.Disposition.Description.Type
			}
			if desc != tt.wantDescription {
				t.Errorf("description %q, want %q", desc, tt.wantDescription)
			}
			if m := n.mic(t); !m.Equal(mic) {
				t.Errorf("libas2 read the MIC %v, want %v", m, mic)
			}
		})
	}
}

// TestLibas2MDNTampered: accepting libas2's signature over its report
// without the final CRLF must not let anything else change.
func TestLibas2MDNTampered(t *testing.T) {
	ids := identities(t)
	l := newLibas2(t, ids)
	file, _ := l.compose(t, t.TempDir(), "sha-256", "aes256-CBC", libas2Payloads["x12"])
	rec, err := l.receive(file)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(rec.MDNFile)
	if err != nil {
		t.Fatal(err)
	}
	for name, tamper := range map[string]func([]byte) []byte{
		"disposition": func(b []byte) []byte {
			return bytes.Replace(b, []byte("; processed\r\n"), []byte("; failed\r\n"), 1)
		},
		"MIC": func(b []byte) []byte {
			i := bytes.Index(b, []byte("Received-Content-MIC: ")) + len("Received-Content-MIC: ")
			c := bytes.Clone(b)
			c[i] ^= 1
			return c
		},
		"two line ends more": func(b []byte) []byte {
			return bytes.Replace(b, []byte("--\r\n\r\n--"), []byte("--\r\n\r\n\r\n--"), 1)
		},
	} {
		t.Run(name, func(t *testing.T) {
			tampered := tamper(raw)
			if bytes.Equal(tampered, raw) {
				t.Fatal("nothing was changed")
			}
			h, body, err := ReadCapture(bytes.NewReader(tampered))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := ParseMDN(h, body, MDNParseOptions{Verify: []*x509.Certificate{ids.receiver.Cert}}); !errors.Is(err, ErrMDNSignature) {
				t.Fatalf("error %v, want ErrMDNSignature", err)
			}
		})
	}
}

// TestMDNSignedWithoutFinalCRLF reproduces libas2's MDN signature without
// Node: the signature covers the multipart/report without the CRLF that
// ends its close-delimiter line, which is sent all the same.
func TestMDNSignedWithoutFinalCRLF(t *testing.T) {
	ids := identities(t)
	report := "Content-Type: multipart/report; report-type=disposition-notification; boundary=\"r\"\r\n\r\n" +
		"--r\r\nContent-Type: message/disposition-notification\r\n\r\n" +
		"Original-Message-ID: <a@b>\r\nDisposition: automatic-action/MDN-sent-automatically; processed\r\n\r\n--r--\r\n"
	tests := []struct {
		name, signed, sent string
		ok                 bool
	}{
		{"exact", report, report, true},
		{"signed without the final CRLF", strings.TrimSuffix(report, "\r\n"), report, true},
		{"sent with a CRLF more", strings.TrimSuffix(report, "\r\n"), report + "\r\n", false},
		{"changed", strings.TrimSuffix(report, "\r\n"), strings.Replace(report, "<a@b>", "<c@d>", 1), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &cms.Signer{Key: ids.receiver.Key, Cert: ids.receiver.Cert, Digest: crypto.SHA256}
			d := sha256.Sum256([]byte(tt.signed))
			sig, err := s.Sign(d[:])
			if err != nil {
				t.Fatal(err)
			}
			body := "--s\r\n" + tt.sent + "\r\n--s\r\nContent-Type: application/pkcs7-signature\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
				base64.StdEncoding.EncodeToString(sig) + "\r\n--s--\r\n"
			var h mime.Header
			h.Add("AS2-From", "libas2")
			h.Add("AS2-To", "as2gate")
			h.Add("Content-Type", `multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256; boundary="s"`)
			m, err := ParseMDN(h, strings.NewReader(body), MDNParseOptions{Verify: []*x509.Certificate{ids.receiver.Cert}})
			if tt.ok && (err != nil || m.OriginalMessageID != "<a@b>" || !m.Signature.Trusted) {
				t.Fatalf("refused: %v", err)
			}
			if !tt.ok && !errors.Is(err, ErrMDNSignature) {
				t.Fatalf("error %v, want ErrMDNSignature", err)
			}
		})
	}
}
