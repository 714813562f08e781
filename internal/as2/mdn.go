package as2

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/as2gate/as2gate/internal/cms"
	"github.com/as2gate/as2gate/internal/mime"
)

// MaxMDNSize bounds an MDN read into memory (they are a few KiB).
const MaxMDNSize = 1 << 20

// Disposition is the Disposition field of an MDN (RFC 8098 §3.2.6, RFC 4130 §7.5.3).
type Disposition struct {
	ActionMode  string // automatic-action
	SendingMode string // MDN-sent-automatically
	Type        string // processed
	Modifier    string // "", error, warning, failure
	Description string // e.g. decryption-failed, or a warning's text
}

// Processed is the disposition of a message that was received and stored.
func Processed() Disposition {
	return Disposition{ActionMode: "automatic-action", SendingMode: "MDN-sent-automatically", Type: "processed"}
}

// ProcessedError is the disposition of a message that could not be processed.
func ProcessedError(f Failure) Disposition {
	d := Processed()
	d.Modifier, d.Description = "error", string(f)
	return d
}

// ProcessedWarning is a processed message with a remark.
func ProcessedWarning(text string) Disposition {
	d := Processed()
	d.Modifier, d.Description = "warning", text
	return d
}

func (d Disposition) String() string {
	s := d.ActionMode + "/" + d.SendingMode + "; " + d.Type
	if d.Modifier != "" {
		s += "/" + d.Modifier
		if d.Description != "" {
			s += ": " + d.Description
		}
	}
	return s
}

// OK reports a successful disposition: processed, possibly with a warning.
func (d Disposition) OK() bool {
	m := strings.ToLower(d.Modifier)
	return strings.EqualFold(d.Type, "processed") && (m == "" || m == "warning")
}

// ParseDisposition reads a Disposition value, leniently about case and spaces.
func ParseDisposition(s string) (Disposition, error) {
	modes, rest, ok := strings.Cut(s, ";")
	if !ok {
		return Disposition{}, fmt.Errorf("as2: disposition %q has no type", s)
	}
	var d Disposition
	d.ActionMode, d.SendingMode, _ = strings.Cut(strings.TrimSpace(modes), "/")
	d.ActionMode, d.SendingMode = strings.TrimSpace(d.ActionMode), strings.TrimSpace(d.SendingMode)
	typ, desc, _ := strings.Cut(strings.TrimSpace(rest), ":")
	d.Type, d.Modifier, _ = strings.Cut(strings.TrimSpace(typ), "/")
	d.Type, d.Modifier = strings.ToLower(strings.TrimSpace(d.Type)), strings.ToLower(strings.TrimSpace(d.Modifier))
	d.Description = strings.TrimSpace(desc)
	if d.Type == "" {
		return Disposition{}, fmt.Errorf("as2: disposition %q has no type", s)
	}
	return d, nil
}

// MDNOptions describe a receipt to send.
type MDNOptions struct {
	From, To          string // our AS2 identifier (the original AS2-To) and the partner's
	MessageID         string // generated when empty
	OriginalMessageID string
	Disposition       Disposition
	MIC               *MIC   // Received-Content-MIC; nil when none could be computed
	Text              string // the human-readable part; a default explains the disposition
	ReportingUA       string // "as2gate" when empty
	// Sign signs the receipt; nil sends it unsigned. Its Digest should be
	// the MIC algorithm the sender asked for.
	Sign *cms.Signer
	Now  func() time.Time
}

// MDN is a built receipt: HTTP headers and a small body.
type MDN struct {
	Header    mime.Header
	Body      []byte
	MessageID string
}

// BuildMDN makes a receipt (RFC 4130 §7.4.2): a multipart/report, signed
// in multipart/signed when a signer is given.
func BuildMDN(opts MDNOptions) (*MDN, error) {
	if err := CheckID(opts.From); err != nil {
		return nil, fmt.Errorf("as2: MDN AS2-From: %w", err)
	}
	if err := CheckID(opts.To); err != nil {
		return nil, fmt.Errorf("as2: MDN AS2-To: %w", err)
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	ua := opts.ReportingUA
	if ua == "" {
		ua = "as2gate"
	}
	text := opts.Text
	if text == "" {
		text = defaultMDNText(opts)
	}
	var fields bytes.Buffer
	fmt.Fprintf(&fields, "Reporting-UA: %s\r\n", oneLine(ua))
	fmt.Fprintf(&fields, "Original-Recipient: rfc822; %s\r\n", FormatID(opts.From))
	fmt.Fprintf(&fields, "Final-Recipient: rfc822; %s\r\n", FormatID(opts.From))
	fmt.Fprintf(&fields, "Original-Message-ID: %s\r\n", oneLine(opts.OriginalMessageID))
	if opts.MIC != nil && opts.MIC.Alg != 0 {
		fmt.Fprintf(&fields, "Received-Content-MIC: %s\r\n", opts.MIC)
	}
	fmt.Fprintf(&fields, "Disposition: %s\r\n", oneLine(opts.Disposition.String()))

	boundary := mime.NewBoundary()
	var body bytes.Buffer
	body.WriteString("--" + boundary + "\r\n")
	body.WriteString("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	body.WriteString(strings.ReplaceAll(strings.ReplaceAll(text, "\r\n", "\n"), "\n", "\r\n") + "\r\n")
	body.WriteString("\r\n--" + boundary + "\r\n")
	body.WriteString("Content-Type: message/disposition-notification\r\nContent-Transfer-Encoding: 7bit\r\n\r\n")
	body.Write(fields.Bytes())
	body.WriteString("\r\n--" + boundary + "--\r\n")
	var rh mime.Header
	rh.Add("Content-Type", fmt.Sprintf(`multipart/report; report-type=disposition-notification; boundary="%s"`, boundary))
	report := entity{header: rh, body: BytesSource(body.Bytes())}

	e := report
	if opts.Sign != nil {
		var err error
		if e, err = signedEntity(newDigestTap(report.source(), opts.Sign.Digest), opts.Sign); err != nil {
			return nil, err
		}
	}
	rc, err := e.body.Open()
	if err != nil {
		return nil, err
	}
	out, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		return nil, err
	}
	id := opts.MessageID
	if id == "" {
		id = NewMessageID(opts.From)
	}
	h := mime.Header{}
	h.Add("AS2-Version", Version)
	h.Add("EDIINT-Features", "multiple-attachments")
	h.Add("MIME-Version", "1.0")
	h.Add("Message-ID", id)
	h.Add("Date", now().UTC().Format(time.RFC1123Z))
	h.Add("AS2-From", FormatID(opts.From))
	h.Add("AS2-To", FormatID(opts.To))
	h.Add("Subject", "Message Disposition Notification")
	h.Add("Content-Type", e.header.Get("Content-Type"))
	return &MDN{Header: h, Body: out, MessageID: id}, nil
}

func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, s)
}

func defaultMDNText(opts MDNOptions) string {
	d := opts.Disposition
	msg := fmt.Sprintf("The AS2 message %s sent to %s was received", opts.OriginalMessageID, opts.From)
	switch {
	case d.OK() && d.Modifier == "":
		return msg + " and stored. No errors occurred."
	case d.OK():
		return msg + " and stored, with a warning: " + d.Description + "."
	default:
		return msg + ", but could not be processed: " + d.Description + "."
	}
}

// ReceivedMDN is a parsed receipt.
type ReceivedMDN struct {
	Header    mime.Header
	MessageID string
	From, To  string
	// Signature is nil for an unsigned MDN.
	Signature         *cms.Verified
	ReportingUA       string
	OriginalRecipient string
	FinalRecipient    string
	OriginalMessageID string
	Disposition       Disposition
	MIC               *MIC // nil when the MDN states none
	Text              string
	// Fields are all the fields of the disposition notification.
	Fields mime.Header
}

// MDNParseOptions say how to check a receipt.
type MDNParseOptions struct {
	// Verify are the partner's certificates; when empty a signature is
	// checked against its embedded certificate and marked untrusted.
	Verify []*x509.Certificate
	Limits mime.Limits
}

// Errors of receipts.
var (
	ErrMDNMalformed = errors.New("as2: malformed MDN")
	ErrMDNSignature = errors.New("as2: MDN signature does not verify")
	ErrMICMismatch  = errors.New("as2: the MIC in the MDN does not match the message sent")
)

// ParseMDN reads a receipt from its HTTP headers and body.
func ParseMDN(header mime.Header, body io.Reader, opts MDNParseOptions) (*ReceivedMDN, error) {
	data, err := io.ReadAll(io.LimitReader(body, MaxMDNSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxMDNSize {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrMDNMalformed, MaxMDNSize)
	}
	m := &ReceivedMDN{Header: header, MessageID: strings.TrimSpace(header.Get("Message-ID"))}
	m.From, _ = ParseID(header.Get("AS2-From"))
	m.To, _ = ParseID(header.Get("AS2-To"))
	if err := m.entity(header.Get("Content-Type"), data, opts, 0); err != nil {
		return nil, err
	}
	if m.Disposition.Type == "" {
		return nil, fmt.Errorf("%w: no disposition notification found", ErrMDNMalformed)
	}
	return m, nil
}

func (m *ReceivedMDN) entity(contentType string, body []byte, opts MDNParseOptions, depth int) error {
	if depth > 4 {
		return fmt.Errorf("%w: nested too deeply", ErrMDNMalformed)
	}
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return fmt.Errorf("%w: Content-Type %q: %v", ErrMDNMalformed, contentType, err)
	}
	switch mt {
	case "multipart/signed":
		return m.signed(params, body, opts, depth)
	case "multipart/report":
		return m.report(params, body, opts)
	}
	return fmt.Errorf("%w: unexpected content type %s", ErrMDNMalformed, mt)
}

func splitParts(body []byte, boundary string, limits mime.Limits) ([][]byte, error) {
	if boundary == "" {
		return nil, fmt.Errorf("%w: multipart without boundary", ErrMDNMalformed)
	}
	pr := mime.NewPartReader(bytes.NewReader(body), boundary, limits)
	defer pr.Close()
	var parts [][]byte
	for {
		part, err := pr.NextPart()
		if err == io.EOF {
			return parts, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrMDNMalformed, err)
		}
		b, err := io.ReadAll(part)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrMDNMalformed, err)
		}
		parts = append(parts, b)
	}
}

// readPart splits a raw part into its header and decoded body.
func readPart(raw []byte, limits mime.Limits) (mime.Header, []byte, error) {
	br := bufio.NewReader(bytes.NewReader(raw))
	h, _, err := mime.ReadHeader(br, limits)
	if err != nil {
		return h, nil, fmt.Errorf("%w: %v", ErrMDNMalformed, err)
	}
	dec, err := decodeCTE(h, br)
	if err != nil {
		return h, nil, fmt.Errorf("%w: %v", ErrMDNMalformed, err)
	}
	b, err := io.ReadAll(dec)
	if err != nil {
		return h, nil, fmt.Errorf("%w: %v", ErrMDNMalformed, err)
	}
	return h, b, nil
}

func (m *ReceivedMDN) signed(params map[string]string, body []byte, opts MDNParseOptions, depth int) error {
	parts, err := splitParts(body, params["boundary"], opts.Limits)
	if err != nil {
		return err
	}
	if len(parts) < 2 {
		return fmt.Errorf("%w: multipart/signed with %d parts", ErrMDNMalformed, len(parts))
	}
	_, sig, err := readPart(parts[1], opts.Limits)
	if err != nil {
		return err
	}
	sd, err := cms.ParseSignedData(sig)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrMDNSignature, err)
	}
	v, err := sd.Verify(cms.VerifyOptions{Trusted: opts.Verify, Digests: mdnDigests(sd, parts[0])})
	// libas2 (through nodemailer) signs its multipart/report without the
	// CRLF that ends the report's close-delimiter line, yet sends that CRLF
	// in the signed part. It changes nothing the MDN says, so a signature
	// over the part without its last line end is accepted too.
	if errors.Is(err, cms.ErrDigestMismatch) && bytes.HasSuffix(parts[0], []byte("\r\n")) {
		trimmed := parts[0][:len(parts[0])-2]
		if tv, terr := sd.Verify(cms.VerifyOptions{Trusted: opts.Verify, Digests: mdnDigests(sd, trimmed)}); terr == nil {
			v, err = tv, nil
		}
	}
	if err != nil {
		return fmt.Errorf("%w: %v", ErrMDNSignature, err)
	}
	m.Signature = v
	inner, innerBody, err := splitHeader(parts[0], opts.Limits)
	if err != nil {
		return err
	}
	return m.entity(inner.Get("Content-Type"), innerBody, opts, depth+1)
}

// mdnDigests hashes the signed part of an MDN with the signature's digests.
func mdnDigests(sd *cms.SignedData, content []byte) map[crypto.Hash][]byte {
	digests := map[crypto.Hash][]byte{}
	for _, h := range append(sd.Digests(), crypto.SHA256) {
		if h.Available() {
			d := h.New()
			d.Write(content)
			digests[h] = d.Sum(nil)
		}
	}
	return digests
}

// splitHeader separates a raw entity's header from its raw body.
func splitHeader(raw []byte, limits mime.Limits) (mime.Header, []byte, error) {
	br := bufio.NewReader(bytes.NewReader(raw))
	h, hdr, err := mime.ReadHeader(br, limits)
	if err != nil {
		return h, nil, fmt.Errorf("%w: %v", ErrMDNMalformed, err)
	}
	return h, raw[len(hdr):], nil
}

func (m *ReceivedMDN) report(params map[string]string, body []byte, opts MDNParseOptions) error {
	parts, err := splitParts(body, params["boundary"], opts.Limits)
	if err != nil {
		return err
	}
	for _, raw := range parts {
		h, content, err := readPart(raw, opts.Limits)
		if err != nil {
			return err
		}
		mt := "text/plain"
		if ct := h.Get("Content-Type"); ct != "" {
			if mt, _, err = mime.ParseMediaType(ct); err != nil {
				return fmt.Errorf("%w: %v", ErrMDNMalformed, err)
			}
		}
		switch mt {
		case "message/disposition-notification":
			if err := m.readFields(content, opts.Limits); err != nil {
				return err
			}
		case "text/plain":
			if m.Text == "" {
				m.Text = strings.TrimSpace(string(content))
			}
		}
	}
	return nil
}

func (m *ReceivedMDN) readFields(content []byte, limits mime.Limits) error {
	// The fields form a header block; make sure one ends it.
	if !bytes.HasSuffix(content, []byte("\n\n")) && !bytes.HasSuffix(content, []byte("\r\n\r\n")) {
		content = append(append([]byte{}, content...), "\r\n\r\n"...)
	}
	h, _, err := mime.ReadHeader(bufio.NewReader(bytes.NewReader(content)), limits)
	if err != nil {
		return fmt.Errorf("%w: disposition fields: %v", ErrMDNMalformed, err)
	}
	m.Fields = h
	m.ReportingUA = h.Get("Reporting-UA")
	m.OriginalRecipient = h.Get("Original-Recipient")
	m.FinalRecipient = h.Get("Final-Recipient")
	m.OriginalMessageID = strings.TrimSpace(h.Get("Original-Message-ID"))
	if m.Disposition, err = ParseDisposition(h.Get("Disposition")); err != nil {
		return fmt.Errorf("%w: %v", ErrMDNMalformed, err)
	}
	if mic := h.Get("Received-Content-MIC"); mic != "" {
		parsed, err := ParseMIC(mic)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrMDNMalformed, err)
		}
		m.MIC = &parsed
	}
	return nil
}

// CheckMIC compares the MIC the receiver states with the one sent.
func (m *ReceivedMDN) CheckMIC(sent MIC) error {
	if m.MIC == nil {
		return fmt.Errorf("%w: the MDN states no MIC", ErrMICMismatch)
	}
	if m.MIC.Alg != sent.Alg {
		return fmt.Errorf("%w: the MDN's MIC uses %s, the message was hashed with %s", ErrMICMismatch,
			MICAlgName(m.MIC.Alg), MICAlgName(sent.Alg))
	}
	if !m.MIC.Equal(sent) {
		return fmt.Errorf("%w: received %s, expected %s", ErrMICMismatch, m.MIC, sent)
	}
	return nil
}
