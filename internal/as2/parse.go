package as2

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	stdmime "mime"
	"mime/quotedprintable"
	"os"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/as2gate/as2gate/internal/cms"
	"github.com/as2gate/as2gate/internal/mime"
)

// maxDepth bounds how deeply layers may nest (encrypted, signed,
// compressed, multipart): real messages use three or four.
const maxDepth = 12

// maxMessageParts bounds the MIME parts of a message, at every nesting
// level together (each part of a multipart, each layer's content):
// mime.Limits.MaxParts bounds one multipart entity alone, and nesting
// would multiply it, and with it the payload files.
const maxMessageParts = 1000

// maxHeaderText bounds a decoded header text, as RFC 5322 bounds a line.
const maxHeaderText = 998

// ParseOptions say how to open and check a received message.
type ParseOptions struct {
	// Decrypt are our key pairs (a station's current and next).
	Decrypt []cms.Recipient
	// Verify are the certificates the partner signs with. When empty, a
	// signature is checked against the certificate it embeds, and the
	// result is marked untrusted (for inspecting captures).
	Verify []*x509.Certificate
	// RequireEncrypted and RequireSigned refuse messages without that
	// layer with insufficient-message-security.
	RequireEncrypted, RequireSigned bool
	// TempDir receives the payload files (os.TempDir() when empty). On
	// the same file system as their destination they can be renamed there.
	TempDir string
	// MaxDecompressed bounds the uncompressed size (0: unlimited).
	MaxDecompressed int64
	Limits          mime.Limits
}

// Layer describes one layer of a message, outermost first, for people
// debugging a partner.
type Layer struct {
	Kind   string `json:"kind"` // encrypted, signed, compressed, multipart, payload
	Detail string `json:"detail"`
}

// Message is a received AS2 message whose payload files were written to
// temporary files. Close removes the files that were not taken away.
type Message struct {
	Header    mime.Header
	From, To  string
	MessageID string
	Subject   string
	MDN       MDNRequest

	Encryption  *cms.EnvelopeInfo // nil: not encrypted
	Signature   *cms.Verified     // nil: not signed
	Compression CompressMode      // CompressBeforeSigning also for unsigned compressed messages
	Layers      []Layer
	// MIC is what the MDN states as Received-Content-MIC.
	MIC   MIC
	Parts []*Part
}

// Part is one payload file of a message.
type Part struct {
	Header      mime.Header
	ContentType string
	// Filename is the sender's file name made safe as a single path
	// element, or "" when none was sent.
	Filename string
	Size     int64
	SHA256   string // of the content, hex: computed while it is written
	Path     string // the temporary file holding the content

	// signedIn and encryptedIn identify the outermost signed and encrypted
	// layers holding the part (see parser); 0: none.
	signedIn, encryptedIn int
}

// Close removes the payload files still in their temporary place.
func (m *Message) Close() error {
	var first error
	for _, p := range m.Parts {
		if p.Path == "" {
			continue
		}
		if err := os.Remove(p.Path); err != nil && !os.IsNotExist(err) && first == nil {
			first = err
		}
		p.Path = ""
	}
	return first
}

// Parse reads a received message: header holds the HTTP headers, body the
// HTTP body. Errors are *Error or map to a failure with FailureOf. When body
// is an io.Seeker and the signer used a digest other than the one announced
// in micalg, the body is read a second time.
func Parse(header mime.Header, body io.Reader, opts ParseOptions) (*Message, error) {
	m, err := parseOnce(header, body, opts, false)
	if errors.Is(err, cms.ErrDigestNotComputed) {
		if s, ok := body.(io.Seeker); ok {
			if _, serr := s.Seek(0, io.SeekStart); serr == nil {
				m, err = parseOnce(header, body, opts, true)
			}
		}
		if errors.Is(err, cms.ErrDigestNotComputed) {
			err = fail(AuthenticationFailed, "the signature uses a digest other than the micalg parameter announced: %v", err)
		}
	}
	return m, err
}

func parseOnce(header mime.Header, body io.Reader, opts ParseOptions, hashAll bool) (*Message, error) {
	m := &Message{
		Header:    header,
		MessageID: strings.TrimSpace(header.Get("Message-ID")),
		Subject:   DecodeHeaderText(header.Get("Subject")),
		MDN:       ParseMDNRequest(header),
	}
	var err error
	if m.From, err = ParseID(header.Get("AS2-From")); err != nil {
		return nil, fail(UnexpectedProcessingError, "AS2-From: %v", err)
	}
	if m.To, err = ParseID(header.Get("AS2-To")); err != nil {
		return nil, fail(UnexpectedProcessingError, "AS2-To: %v", err)
	}
	p := &parser{opts: opts, m: m, hashAll: hashAll}
	if h, name, ok := m.MDN.MICAlg(); ok {
		p.micAlg, p.micName = h, name
	}
	if err := p.entity(header, topRawHeader(header), body, 0); err != nil {
		m.Close()
		return nil, err
	}
	if len(m.Parts) == 0 {
		return nil, fail(UnexpectedProcessingError, "the message holds no payload")
	}
	// A message is signed (encrypted) only as a whole: a part next to a
	// signed (encrypted) entity is one that anybody on the way could have
	// added, and it must not be delivered as the partner's. Such a part
	// means that the payload as a whole is not authenticated; one outside
	// the envelope arrived without the protection the message claims.
	if m.Signature != nil && !inOneLayer(m.Parts, func(pt *Part) int { return pt.signedIn }) {
		m.Close()
		return nil, fail(AuthenticationFailed, "the signature does not cover every payload part")
	}
	if m.Encryption != nil && !inOneLayer(m.Parts, func(pt *Part) int { return pt.encryptedIn }) {
		m.Close()
		return nil, fail(InsufficientSecurity, "the encryption does not cover every payload part")
	}
	if opts.RequireEncrypted && m.Encryption == nil {
		m.Close()
		return nil, fail(InsufficientSecurity, "the message is not encrypted, and the partner agreement requires it")
	}
	if opts.RequireSigned && m.Signature == nil {
		m.Close()
		return nil, fail(InsufficientSecurity, "the message is not signed, and the partner agreement requires it")
	}
	return m, nil
}

// inOneLayer reports whether every part is inside the same layer, which
// layer gives for a part (0: none).
func inOneLayer(parts []*Part, layer func(*Part) int) bool {
	for _, pt := range parts {
		if l := layer(pt); l == 0 || l != layer(parts[0]) {
			return false
		}
	}
	return true
}

// topRawHeader stands for the MIME headers of a message body that arrived
// as HTTP headers, for the MIC of an unsigned, unencrypted message.
func topRawHeader(h mime.Header) []byte {
	var b strings.Builder
	for _, name := range []string{"Content-Type", "Content-Transfer-Encoding", "Content-Disposition"} {
		if v := h.Get(name); v != "" {
			b.WriteString(name + ": " + v + "\r\n")
		}
	}
	b.WriteString("\r\n")
	return []byte(b.String())
}

type parser struct {
	opts    ParseOptions
	m       *Message
	hashAll bool

	micAlg     crypto.Hash // requested by the sender; zero: decided later
	micName    string
	micStarted bool // the entity the MIC covers has been found
	// signedIn and encryptedIn identify the outermost signed and encrypted
	// layers being read, by their position in Layers plus one (0: none),
	// for the parts to record.
	signedIn, encryptedIn int
	parts                 int // MIME parts met so far, for maxMessageParts
}

// enterOutermost sets *cur, the outermost layer of a kind being read, to
// layer unless one is already open; leave closes it again.
func enterOutermost(cur *int, layer int) (leave func()) {
	if *cur != 0 {
		return func() {}
	}
	*cur = layer
	return func() { *cur = 0 }
}

func (p *parser) layer(kind, format string, args ...any) {
	p.m.Layers = append(p.m.Layers, Layer{Kind: kind, Detail: fmt.Sprintf(format, args...)})
}

// entity processes one MIME entity whose header was read; body is its raw body.
func (p *parser) entity(h mime.Header, raw []byte, body io.Reader, depth int) error {
	if depth > maxDepth {
		return fail(UnexpectedProcessingError, "layers nested more than %d deep", maxDepth)
	}
	ct := h.Get("Content-Type")
	mt, params := "text/plain", map[string]string{}
	if ct != "" {
		var err error
		if mt, params, err = mime.ParseMediaType(ct); err != nil {
			return fail(UnexpectedProcessingError, "Content-Type %q: %v", ct, err)
		}
	}
	switch {
	case mt == "multipart/signed":
		return p.signed(params, body, depth)
	case mt == "application/pkcs7-mime" || mt == "application/x-pkcs7-mime":
		return p.pkcs7(h, params, body, depth)
	case strings.HasPrefix(mt, "multipart/"):
		return p.multipart(mt, params, raw, body, depth)
	case mt == "application/pkcs7-signature" || mt == "application/x-pkcs7-signature":
		return fail(UnexpectedProcessingError, "a signature without the content it signs")
	}
	return p.leaf(h, mt, raw, body)
}

// entityReaders recycles the buffered readers of nested entities: every
// message needs a few, and 64 KiB each is much for a 1 KiB message.
var entityReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 64<<10) }}

// innerEntity processes content that should start with a MIME header. The
// content some products encrypt has none (Mendelson, encrypt-only): then
// the whole content is the payload.
func (p *parser) innerEntity(r io.Reader, depth int) error {
	if p.parts++; p.parts > maxMessageParts {
		return fail(UnexpectedProcessingError, "%w: more than %d in the message", mime.ErrTooManyParts, maxMessageParts)
	}
	br := entityReaders.Get().(*bufio.Reader)
	br.Reset(r)
	defer func() {
		br.Reset(nil)
		entityReaders.Put(br)
	}()
	peek, err := br.Peek(4096)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return err
	}
	if !mime.LooksLikeHeader(peek) {
		var h mime.Header
		h.Add("Content-Type", "application/octet-stream")
		return p.leaf(h, "application/octet-stream", nil, br)
	}
	h, raw, err := mime.ReadHeader(br, p.opts.Limits)
	if err != nil {
		return fail(UnexpectedProcessingError, "reading a MIME header: %v", err)
	}
	return p.entity(h, raw, br, depth)
}

// beginMIC makes the MIC cover this entity if no outer signature does.
// The returned finish must be called once the entity was processed.
func (p *parser) beginMIC(raw []byte, body io.Reader) (io.Reader, func() error) {
	if p.micStarted {
		return body, func() error { return nil }
	}
	p.micStarted = true
	alg := p.micAlg
	if alg == 0 {
		alg = crypto.SHA1 // RFC 4130 §7.3.1 for unsigned messages
	}
	hh := alg.New()
	hh.Write(raw)
	tee := io.TeeReader(body, hh)
	return tee, func() error {
		if _, err := io.Copy(io.Discard, tee); err != nil {
			return err
		}
		p.m.MIC = MIC{Digest: hh.Sum(nil), Alg: alg, AlgName: p.micName}
		return nil
	}
}

func decodeCTE(h mime.Header, body io.Reader) (io.Reader, error) {
	switch cte := strings.ToLower(strings.TrimSpace(h.Get("Content-Transfer-Encoding"))); cte {
	case "", "binary", "7bit", "8bit":
		return body, nil
	case "base64":
		return base64.NewDecoder(base64.StdEncoding, &base64Filter{r: body}), nil
	case "quoted-printable":
		return quotedprintable.NewReader(body), nil
	default:
		return nil, fail(UnexpectedProcessingError, "unknown Content-Transfer-Encoding %q", cte)
	}
}

// base64Filter drops spaces and tabs, which some senders leave in base64
// bodies and the decoder refuses (it already skips CR and LF).
type base64Filter struct{ r io.Reader }

func (f *base64Filter) Read(p []byte) (int, error) {
	for {
		n, err := f.r.Read(p)
		j := 0
		for _, c := range p[:n] {
			if c != ' ' && c != '\t' {
				p[j] = c
				j++
			}
		}
		if j > 0 || err != nil {
			return j, err
		}
	}
}

// failingReader labels the errors of a layer's stream with its failure.
type failingReader struct {
	r io.Reader
	f Failure
}

func (fr failingReader) Read(p []byte) (int, error) {
	n, err := fr.r.Read(p)
	if err != nil && err != io.EOF {
		err = wrapLayer(fr.f, err)
	}
	return n, err
}

// drain reads what is left of a decrypted or decompressed layer. Its
// integrity checks (CBC padding, GCM tag, zlib checksum, the end of the
// DER) run when its end is read, and the entity inside may stop well
// before: multipart/signed ends at its close delimiter.
func drain(layer io.Reader) error {
	_, err := io.Copy(io.Discard, layer)
	return err
}

// decryptedContentError is the outcome of an envelope whose content was
// read: inner is the error of the entity inside, tail that of reading the
// rest. Whatever is wrong with the content is the same decryption-failed
// for the partner (the cause is kept for our logs; the MDN states the
// failure alone), for whoever alters a CBC ciphertext must not learn which
// alteration decrypted to a valid padding, MIME structure or signature
// encoding. A signature that does not verify is reported as such only
// once the whole content was decrypted and its padding or tag checked.
func decryptedContentError(inner, tail error) error {
	switch {
	case isLocal(tail):
		return tail
	case tail != nil:
		inner = tail
	case inner == nil || signatureRefused(inner):
		return inner
	}
	return &Error{Failure: DecryptionFailed, Err: fmt.Errorf("the decrypted content is not a valid message: %w", inner)}
}

// signatureRefused reports whether err is a well-formed signature that
// does not verify, or whose digest must be computed again (Parse retries).
func signatureRefused(err error) bool {
	return errors.Is(err, cms.ErrSignature) || errors.Is(err, cms.ErrUnknownSigner) ||
		errors.Is(err, cms.ErrDigestMismatch) || errors.Is(err, cms.ErrDigestNotComputed)
}

// isLocal reports whether err is a failure of our own files (the spooled
// body, the payload files) rather than something the content caused.
func isLocal(err error) bool {
	var pe *fs.PathError
	return errors.As(err, &pe)
}

func (p *parser) pkcs7(h mime.Header, params map[string]string, body io.Reader, depth int) error {
	smimeType := strings.ToLower(params["smime-type"])
	failure := UnexpectedProcessingError
	switch smimeType {
	case "enveloped-data", "authenveloped-data":
		failure = DecryptionFailed
	case "compressed-data":
		failure = DecompressionFailed
	}
	decoded, err := decodeCTE(h, body)
	if err != nil {
		return err
	}
	c, err := cms.ReadContentInfo(decoded)
	if err != nil {
		return wrapLayer(failure, err)
	}
	switch c.Kind() {
	case cms.KindEnvelopedData, cms.KindAuthEnvelopedData:
		plain, info, err := c.Decrypt(p.opts.Decrypt)
		if err != nil {
			return wrapLayer(DecryptionFailed, err)
		}
		if p.m.Encryption == nil {
			p.m.Encryption = info
		}
		subject := ""
		if info.Recipient != nil {
			subject = info.Recipient.Subject.String()
		}
		leave := enterOutermost(&p.encryptedIn, len(p.m.Layers)+1)
		p.layer("encrypted", "%v with %v, key transport %v, for %q", c.Kind(), info.Cipher, info.KeyTransport, subject)
		r := failingReader{plain, DecryptionFailed}
		err = p.innerEntity(r, depth+1)
		leave()
		if isLocal(err) {
			return err
		}
		return decryptedContentError(err, drain(r))
	case cms.KindCompressedData:
		plain, err := c.Decompress(p.opts.MaxDecompressed)
		if err != nil {
			return wrapLayer(DecompressionFailed, err)
		}
		idx := len(p.m.Layers)
		signedBefore := p.m.Signature != nil
		switch {
		case p.signedIn != 0:
			p.m.Compression = CompressBeforeSigning
			p.layer("compressed", "zlib compressed-data (before signing)")
		default:
			p.m.Compression = CompressBeforeSigning
			p.layer("compressed", "zlib compressed-data (not signed)")
		}
		r := failingReader{plain, DecompressionFailed}
		err = p.innerEntity(r, depth+1)
		if err == nil {
			err = drain(r)
		}
		if err == nil && p.signedIn == 0 && !signedBefore && p.m.Signature != nil {
			p.m.Compression = CompressAfterSigning
			p.m.Layers[idx].Detail = "zlib compressed-data (after signing)"
		}
		return err
	case cms.KindSignedData:
		return fail(UnexpectedProcessingError, "opaque signed-data (smime-type=signed-data) is not supported; AS2 uses multipart/signed")
	}
	return fail(failure, "unexpected CMS content type %v", c.Type)
}

func (p *parser) signed(params map[string]string, body io.Reader, depth int) error {
	boundary := params["boundary"]
	if boundary == "" {
		return fail(AuthenticationFailed, "multipart/signed without a boundary")
	}
	pr := mime.NewPartReader(body, boundary, p.opts.Limits)
	defer pr.Close()
	content, err := pr.NextPart()
	if err != nil {
		return fail(AuthenticationFailed, "multipart/signed: %v", err)
	}

	// Hash the signed part as it streams, with every algorithm that may
	// be needed: the one announced, the MIC's, or all when unsure.
	declared, derr := cms.ParseDigest(params["micalg"])
	algs := []crypto.Hash{p.micAlg}
	if derr == nil {
		algs = append(algs, declared)
	}
	if p.hashAll || derr != nil {
		algs = append(algs, cms.SigningDigests...)
		algs = append(algs, crypto.MD5)
	}
	hashes := newHashSet(algs)
	// Some captures and proxies strip the CRs of a message; the sender
	// signed CRLF header lines. canon hashes the part with its header
	// block's line ends restored, should the exact bytes not verify.
	canon := &headerCanonicalizer{hashes: newHashSet(algs)}
	tee := io.TeeReader(content, io.MultiWriter(hashes.writer(), canon))
	micOwner := !p.micStarted
	p.micStarted = true
	layerIndex := len(p.m.Layers)
	p.layer("signed", "multipart/signed, micalg=%s", params["micalg"])
	leave := enterOutermost(&p.signedIn, layerIndex+1)
	err = p.innerEntity(tee, depth+1)
	leave()
	if err != nil {
		return err
	}
	if _, err := io.Copy(io.Discard, tee); err != nil {
		return err
	}

	sigPart, err := pr.NextPart()
	if err != nil {
		return fail(AuthenticationFailed, "multipart/signed without a signature part: %v", err)
	}
	sigHeader, sigBytes, err := p.readSignaturePart(sigPart)
	if err != nil {
		return err
	}
	sd, err := cms.ParseSignedData(sigBytes)
	if err != nil {
		return wrapLayer(AuthenticationFailed, err)
	}
	digests := hashes.sums()
	v, err := sd.Verify(cms.VerifyOptions{Trusted: p.opts.Verify, Digests: digests})
	if errors.Is(err, cms.ErrDigestMismatch) && canon.active {
		if cv, cerr := sd.Verify(cms.VerifyOptions{Trusted: p.opts.Verify, Digests: canon.hashes.sums()}); cerr == nil {
			v, err, digests = cv, nil, canon.hashes.sums()
			p.layer("warning", "the signed part's MIME headers arrived with bare LF line ends; the signature verifies over them with CRLF restored")
		}
	}
	if err != nil {
		if errors.Is(err, cms.ErrDigestNotComputed) {
			return err
		}
		return wrapLayer(AuthenticationFailed, err)
	}
	// Drain the epilogue so that a truncated body is not taken for whole.
	for {
		if _, err := pr.NextPart(); err == io.EOF {
			break
		} else if err != nil {
			return fail(AuthenticationFailed, "multipart/signed: %v", err)
		}
	}
	if p.m.Signature == nil {
		p.m.Signature = v
	}
	trust := "trusted partner certificate"
	if !v.Trusted {
		trust = "embedded certificate, not checked against a partner certificate"
	}
	p.m.Layers[layerIndex].Detail += fmt.Sprintf("; signature %s %v by %q (%s); signature part %s",
		cms.DigestName(v.Digest), v.Scheme, v.Signer.Subject.String(), trust, sigHeader.Get("Content-Type"))
	if micOwner {
		alg := p.micAlg
		if alg == 0 {
			alg = v.Digest
		}
		d, ok := digests[alg]
		if !ok {
			return fmt.Errorf("%w (%s)", cms.ErrDigestNotComputed, cms.DigestName(alg))
		}
		p.m.MIC = MIC{Digest: d, Alg: alg, AlgName: p.micName}
	}
	return nil
}

func (p *parser) readSignaturePart(part io.Reader) (mime.Header, []byte, error) {
	br := bufio.NewReader(part)
	h, _, err := mime.ReadHeader(br, p.opts.Limits)
	if err != nil {
		return h, nil, fail(AuthenticationFailed, "signature part header: %v", err)
	}
	decoded, err := decodeCTE(h, br)
	if err != nil {
		return h, nil, err
	}
	sig, err := io.ReadAll(io.LimitReader(decoded, cms.MaxSignatureSize+1))
	if err != nil {
		return h, nil, fail(AuthenticationFailed, "signature part: %v", err)
	}
	if len(sig) > cms.MaxSignatureSize {
		return h, nil, fail(AuthenticationFailed, "signature part larger than %d bytes", cms.MaxSignatureSize)
	}
	return h, sig, nil
}

func (p *parser) multipart(mt string, params map[string]string, raw []byte, body io.Reader, depth int) error {
	boundary := params["boundary"]
	if boundary == "" {
		return fail(UnexpectedProcessingError, "%s without a boundary", mt)
	}
	r, finish := p.beginMIC(raw, body)
	p.layer("multipart", "%s with several attachments", mt)
	pr := mime.NewPartReader(r, boundary, p.opts.Limits)
	defer pr.Close()
	for {
		part, err := pr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fail(UnexpectedProcessingError, "%s: %v", mt, err)
		}
		if err := p.innerEntity(part, depth+1); err != nil {
			return err
		}
	}
	return finish()
}

func (p *parser) leaf(h mime.Header, mt string, raw []byte, body io.Reader) error {
	r, finish := p.beginMIC(raw, body)
	decoded, err := decodeCTE(h, r)
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(p.opts.TempDir, "as2gate-part-*")
	if err != nil {
		return err
	}
	part := &Part{Header: h, ContentType: mt, Filename: mime.Filename(h), Path: f.Name(),
		signedIn: p.signedIn, encryptedIn: p.encryptedIn}
	p.m.Parts = append(p.m.Parts, part) // registered first, so that Close removes it on error
	sum := sha256.New()
	part.Size, err = io.Copy(io.MultiWriter(f, sum), decoded)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	part.SHA256 = hex.EncodeToString(sum.Sum(nil))
	name := part.Filename
	if name == "" {
		name = "(no file name)"
	}
	p.layer("payload", "%s, %s, %d bytes", mt, name, part.Size)
	return finish()
}

// DecodeHeaderText decodes the RFC 2047 encoded words of a header value
// (keeping the value as it is when they do not decode) into text fit to
// store and show, whatever a sender encoded: valid UTF-8, with invalid
// bytes and control characters (NUL, the rest of C0, DEL, C1) replaced by
// U+FFFD, and at most maxHeaderText bytes, cut on a rune boundary.
func DecodeHeaderText(s string) string {
	var d stdmime.WordDecoder
	if out, err := d.DecodeHeader(s); err == nil {
		s = out
	}
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return utf8.RuneError
		}
		return r
	}, strings.ToValidUTF8(s, string(utf8.RuneError)))
	if len(s) > maxHeaderText {
		// The text is valid: its only invalid bytes after the cut are
		// those of a rune cut in two.
		s = strings.ToValidUTF8(s[:maxHeaderText], "")
	}
	return s
}

// hashSet is several running digests of the same bytes.
type hashSet map[crypto.Hash]hash.Hash

func newHashSet(algs []crypto.Hash) hashSet {
	hs := hashSet{}
	for _, a := range algs {
		if a != 0 && hs[a] == nil {
			hs[a] = a.New()
		}
	}
	return hs
}

func (hs hashSet) Write(p []byte) (int, error) {
	for _, h := range hs {
		h.Write(p)
	}
	return len(p), nil
}

func (hs hashSet) writer() io.Writer { return hs }

func (hs hashSet) sums() map[crypto.Hash][]byte {
	out := map[crypto.Hash][]byte{}
	for a, h := range hs {
		out[a] = h.Sum(nil)
	}
	return out
}

// maxCanonHeader bounds the header block kept to restore its line ends.
const maxCanonHeader = 64 << 10

// headerCanonicalizer receives the bytes of a MIME entity. When its header
// block has bare LF line ends it feeds its hashes the header block with
// CRLF line ends, then the body unchanged; otherwise it stays inactive.
type headerCanonicalizer struct {
	hashes   hashSet
	header   []byte
	decided  bool
	active   bool
	overflow bool
}

func (c *headerCanonicalizer) Write(p []byte) (int, error) {
	if c.decided {
		if c.active {
			c.hashes.Write(p)
		}
		return len(p), nil
	}
	if c.overflow {
		return len(p), nil
	}
	c.header = append(c.header, p...)
	end := headerEnd(c.header)
	if end < 0 {
		if len(c.header) > maxCanonHeader {
			c.overflow, c.header = true, nil
		}
		return len(p), nil
	}
	c.decided = true
	head := c.header[:end]
	fixed := crlfLines(head)
	if len(fixed) != len(head) {
		c.active = true
		c.hashes.Write(fixed)
		c.hashes.Write(c.header[end:])
	}
	c.header = nil
	return len(p), nil
}

// headerEnd is the offset just past the empty line that ends a header
// block, or -1 when it has not been seen yet.
func headerEnd(b []byte) int {
	for i := 0; i < len(b); {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return -1
		}
		line := b[i : i+j]
		if len(line) == 0 || (len(line) == 1 && line[0] == '\r') {
			return i + j + 1
		}
		i += j + 1
	}
	return -1
}

// crlfLines turns bare LF line ends into CRLF.
func crlfLines(b []byte) []byte {
	out := make([]byte, 0, len(b)+16)
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			out = append(out, '\r')
		}
		out = append(out, c)
	}
	return out
}
