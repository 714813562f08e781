package main

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/as2gate/as2gate/internal/as2"
	"github.com/as2gate/as2gate/internal/cms"
	"github.com/as2gate/as2gate/internal/mime"
)

const inspectAbout = `Reads a captured AS2 request or MDN (HTTP headers, an empty line, the body; or
the headers and the body as two files) and prints every layer: encryption and
key transport, signature and signer, compression and its order, content types
and file names, and the MIC the MDN should state. For an MDN: its disposition,
original Message-ID and MIC, checked against --expect-mic. Exits with status 1
when decryption or verification fails, saying why.`

type inspectReport struct {
	Kind        string         `json:"kind"` // message or mdn
	From        string         `json:"as2_from"`
	To          string         `json:"as2_to"`
	MessageID   string         `json:"message_id"`
	Subject     string         `json:"subject,omitempty"`
	ContentType string         `json:"content_type"`
	Encryption  *encryptionOut `json:"encryption,omitempty"`
	Signature   *signatureOut  `json:"signature,omitempty"`
	Compression string         `json:"compression,omitempty"`
	Layers      []as2.Layer    `json:"layers,omitempty"`
	MIC         string         `json:"mic,omitempty"`
	MICMatches  *bool          `json:"mic_matches,omitempty"`
	MDNRequest  *mdnRequestOut `json:"mdn_request,omitempty"`
	Parts       []partOut      `json:"parts,omitempty"`

	Disposition       string `json:"disposition,omitempty"`
	OriginalMessageID string `json:"original_message_id,omitempty"`
	ReportingUA       string `json:"reporting_ua,omitempty"`
	Text              string `json:"text,omitempty"`

	Error   string `json:"error,omitempty"`
	Failure string `json:"failure,omitempty"`
}

type encryptionOut struct {
	Algorithm    string `json:"algorithm"`
	KeyTransport string `json:"key_transport"`
	Recipient    string `json:"recipient,omitempty"`
}

type signatureOut struct {
	Digest       string `json:"digest"`
	Scheme       string `json:"scheme"`
	Signer       string `json:"signer"`
	SignerSerial string `json:"signer_serial"`
	Trusted      bool   `json:"trusted"`
	SigningTime  string `json:"signing_time,omitempty"`
}

type mdnRequestOut struct {
	To       string   `json:"to"`
	Async    string   `json:"async_url,omitempty"`
	Signed   bool     `json:"signed"`
	MICAlgs  []string `json:"mic_algorithms,omitempty"`
	Required bool     `json:"signed_required"`
}

type partOut struct {
	Filename    string `json:"filename,omitempty"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
	SavedAs     string `json:"saved_as,omitempty"`
}

func runInspect(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("inspect", "FILE [BODY-FILE]", inspectAbout, stderr)
	keyFiles := addKeyPairFlags(fs, "decrypt")
	var partnerCerts stringList
	fs.Var(&partnerCerts, "partner-cert", "the partner's certificate, to verify signatures (repeatable)")
	expectMIC := fs.String("expect-mic", "", `the MIC the MDN should state, as "base64, sha-256"`)
	outDir := fs.String("out", "", "write the payload files into this directory")
	asJSON := fs.Bool("json", false, "print JSON")
	forceMDN := fs.Bool("mdn", false, "read the capture as an MDN even if it does not look like one")
	files, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(files) < 1 || len(files) > 2 {
		fs.Usage()
		return errUsage
	}
	key, cert, err := keyFiles.load()
	if err != nil {
		return err
	}
	partners, err := loadCerts(partnerCerts)
	if err != nil {
		return err
	}
	header, body, closeFn, err := openCapture(files)
	if err != nil {
		return err
	}
	defer closeFn()

	rep := inspectReport{
		MessageID:   header.Get("Message-ID"),
		ContentType: header.Get("Content-Type"),
	}
	rep.From, _ = as2.ParseID(header.Get("AS2-From"))
	rep.To, _ = as2.ParseID(header.Get("AS2-To"))
	var inspectErr error
	if *forceMDN || looksLikeMDN(header, body) {
		inspectErr = inspectMDN(&rep, header, body, partners, *expectMIC)
	} else {
		var recipients []cms.Recipient
		if key != nil {
			dec, ok := key.(crypto.Decrypter)
			if !ok {
				return fmt.Errorf("the key cannot decrypt")
			}
			recipients = []cms.Recipient{{Cert: cert, Key: dec}}
		}
		inspectErr = inspectMessage(&rep, header, body, recipients, partners, *outDir)
	}
	if inspectErr != nil {
		rep.Error = inspectErr.Error()
		if rep.Kind == "message" {
			rep.Failure = string(as2.FailureOf(inspectErr))
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		printReport(stdout, &rep)
	}
	if inspectErr != nil {
		return &exitError{status: 1, err: inspectErr}
	}
	return nil
}

// captureBody is the body of a capture: read once to parse, and read at
// random to look at its start.
type captureBody interface {
	io.ReadSeeker
	io.ReaderAt
}

// openCapture reads the headers and gives the body of a capture in one
// file, or in two (headers, body).
func openCapture(files []string) (mime.Header, captureBody, func(), error) {
	f, err := os.Open(files[0])
	if err != nil {
		return mime.Header{}, nil, nil, err
	}
	if len(files) == 2 {
		// A headers-only file may lack the empty line that ends them.
		raw, err := io.ReadAll(io.LimitReader(f, 1<<20))
		f.Close()
		if err != nil {
			return mime.Header{}, nil, nil, err
		}
		raw = append(bytes.TrimRight(raw, "\r\n"), "\r\n\r\n"...)
		h, _, err := as2.ReadCapture(bytes.NewReader(raw))
		if err != nil {
			return h, nil, nil, err
		}
		body, err := os.Open(files[1])
		if err != nil {
			return h, nil, nil, err
		}
		return h, body, func() { body.Close() }, nil
	}
	h, body, err := as2.ReadCaptureFile(f)
	if err != nil {
		f.Close()
		return h, nil, nil, err
	}
	return h, body, func() { f.Close() }, nil
}

// looksLikeMDN tells a receipt from a message: a multipart/report, or a
// multipart/signed whose first part is one.
func looksLikeMDN(h mime.Header, body io.ReaderAt) bool {
	mt, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
	if mt == "multipart/report" {
		return true
	}
	if mt != "multipart/signed" {
		return false
	}
	head := make([]byte, 8192)
	n, _ := body.ReadAt(head, 0)
	return bytes.Contains(bytes.ToLower(head[:n]), []byte("multipart/report"))
}

func inspectMessage(rep *inspectReport, h mime.Header, body io.Reader, recipients []cms.Recipient, partners []*x509.Certificate, outDir string) error {
	rep.Kind = "message"
	// With --out, parse into a directory beside the destination, so that
	// the payloads are renamed into place rather than copied.
	tmp, err := os.MkdirTemp(outDir, ".as2gate-inspect-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	mdnReq := as2.ParseMDNRequest(h)
	if mdnReq.Requested() {
		rep.MDNRequest = &mdnRequestOut{To: mdnReq.To, Async: mdnReq.AsyncURL, Signed: mdnReq.Signed, MICAlgs: mdnReq.MICAlgs, Required: mdnReq.SignedRequired}
	}
	msg, err := as2.Parse(h, body, as2.ParseOptions{Decrypt: recipients, Verify: partners, TempDir: tmp})
	if err != nil {
		return err
	}
	defer msg.Close()
	rep.Subject = msg.Subject
	rep.Layers = msg.Layers
	rep.MIC = msg.MIC.String()
	if e := msg.Encryption; e != nil {
		rep.Encryption = &encryptionOut{Algorithm: e.Cipher.String(), KeyTransport: e.KeyTransport.String()}
		if e.Recipient != nil {
			rep.Encryption.Recipient = e.Recipient.Subject.String()
		}
	}
	if s := msg.Signature; s != nil {
		rep.Signature = describeSignature(s)
	}
	if msg.Compression != as2.CompressNone {
		rep.Compression = msg.Compression.String()
	}
	for i, p := range msg.Parts {
		out := partOut{Filename: p.Filename, ContentType: p.ContentType, Size: p.Size, SHA256: p.SHA256}
		if outDir != "" {
			name := p.Filename
			if name == "" {
				name = fmt.Sprintf("part-%d.bin", i+1)
			}
			dst := filepath.Join(outDir, name)
			if err := os.Rename(p.Path, dst); err != nil {
				return err
			}
			p.Path = ""
			out.SavedAs = dst
		}
		rep.Parts = append(rep.Parts, out)
	}
	return nil
}

func describeSignature(s *cms.Verified) *signatureOut {
	out := &signatureOut{Digest: cms.DigestName(s.Digest), Scheme: s.Scheme.String(), Trusted: s.Trusted,
		Signer: s.Signer.Subject.String(), SignerSerial: s.Signer.SerialNumber.Text(16)}
	if !s.SigningTime.IsZero() {
		out.SigningTime = s.SigningTime.UTC().Format("2006-01-02T15:04:05Z")
	}
	return out
}

func inspectMDN(rep *inspectReport, h mime.Header, body io.Reader, partners []*x509.Certificate, expectMIC string) error {
	rep.Kind = "mdn"
	m, err := as2.ParseMDN(h, body, as2.MDNParseOptions{Verify: partners})
	if err != nil {
		return err
	}
	rep.Disposition = m.Disposition.String()
	rep.OriginalMessageID = m.OriginalMessageID
	rep.ReportingUA = m.ReportingUA
	rep.Text = m.Text
	if m.MIC != nil {
		rep.MIC = m.MIC.String()
	}
	if m.Signature != nil {
		rep.Signature = describeSignature(m.Signature)
	}
	if expectMIC != "" {
		want, err := as2.ParseMIC(expectMIC)
		if err != nil {
			return fmt.Errorf("--expect-mic: %w", err)
		}
		err = m.CheckMIC(want)
		ok := err == nil
		rep.MICMatches = &ok
		if err != nil {
			return err
		}
	}
	if !m.Disposition.OK() {
		return fmt.Errorf("the partner reports %s", m.Disposition)
	}
	return nil
}

func printReport(w io.Writer, r *inspectReport) {
	line := func(k, v string) {
		if v != "" {
			fmt.Fprintf(w, "%-20s %s\n", k+":", v)
		}
	}
	line("Kind", r.Kind)
	line("AS2-From", r.From)
	line("AS2-To", r.To)
	line("Message-ID", r.MessageID)
	line("Subject", r.Subject)
	line("Content-Type", r.ContentType)
	if e := r.Encryption; e != nil {
		line("Encryption", e.Algorithm+", key transport "+e.KeyTransport)
		line("Encrypted for", e.Recipient)
	}
	if s := r.Signature; s != nil {
		trust := "verified against the partner certificate"
		if !s.Trusted {
			trust = "verified against its embedded certificate only (give --partner-cert)"
		}
		line("Signature", s.Digest+" "+s.Scheme+", "+trust)
		line("Signer", s.Signer+" (serial "+s.SignerSerial+")")
		line("Signing time", s.SigningTime)
	}
	line("Compression", r.Compression)
	if q := r.MDNRequest; q != nil {
		mode := "sync"
		if q.Async != "" {
			mode = "async to " + q.Async
		}
		signed := "unsigned"
		if q.Signed {
			signed = "signed, MIC " + strings.Join(q.MICAlgs, "/")
		}
		line("MDN requested", mode+", "+signed)
	}
	line("Disposition", r.Disposition)
	line("Original Message-ID", r.OriginalMessageID)
	line("Reporting-UA", r.ReportingUA)
	if r.Kind == "message" {
		line("MIC (for the MDN)", r.MIC)
	} else {
		line("MIC", r.MIC)
	}
	if r.MICMatches != nil {
		line("MIC matches", fmt.Sprint(*r.MICMatches))
	}
	if len(r.Layers) > 0 {
		fmt.Fprintln(w, "Layers:")
		for i, l := range r.Layers {
			fmt.Fprintf(w, "  %d. %s: %s\n", i+1, l.Kind, l.Detail)
		}
	}
	for i, p := range r.Parts {
		name := p.Filename
		if name == "" {
			name = "(no file name)"
		}
		fmt.Fprintf(w, "Part %d: %s, %s, %d bytes, sha256 %s\n", i+1, name, p.ContentType, p.Size, p.SHA256)
		if p.SavedAs != "" {
			fmt.Fprintf(w, "  saved as %s\n", p.SavedAs)
		}
	}
	if r.Text != "" {
		fmt.Fprintf(w, "Text:\n  %s\n", strings.ReplaceAll(r.Text, "\n", "\n  "))
	}
	if r.Error != "" {
		fmt.Fprintf(w, "FAILED: %s\n", r.Error)
	}
}
