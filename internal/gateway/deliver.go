package gateway

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/as2gate/as2gate"
	"github.com/as2gate/as2gate/internal/as2"
	"github.com/as2gate/as2gate/internal/cms"
	"github.com/as2gate/as2gate/internal/mime"
	"github.com/as2gate/as2gate/internal/redact"
)

var timeZero time.Time

// outcome is what an attempt to send came to.
type outcome struct {
	status    as2gate.Status
	reason    string
	retryable bool // a transport failure: try again if attempts remain
	mic       string
	mdn       *as2.ReceivedMDN
	mdnRaw    []byte // the MDN as received (capture form)
	algs      string
	signed    bool
	encrypted bool
	compress  bool
}

func permanent(format string, args ...any) outcome {
	return outcome{status: as2gate.StatusFailed, reason: fmt.Sprintf(format, args...)}
}

func transient(format string, args ...any) outcome {
	return outcome{status: as2gate.StatusFailed, retryable: true, reason: fmt.Sprintf(format, args...)}
}

// runSend performs one attempt to send a message.
func (g *Gateway) runSend(ctx context.Context, job *as2gate.Job) {
	m, err := g.retryUpdate(ctx, job.MessageID, func(m *as2gate.Message) (bool, as2gate.JobChange, error) {
		if m.Status != as2gate.StatusQueued && m.Status != as2gate.StatusSending {
			return false, as2gate.JobChange{}, errNothingToDo
		}
		m.Status, m.Attempts, m.Reason = as2gate.StatusSending, m.Attempts+1, ""
		return true, as2gate.JobChange{}, nil
	})
	if errors.Is(err, errNothingToDo) {
		g.store.UpdateMessage(ctx, m, finished(job))
		return
	}
	if err != nil {
		g.log.Error("starting to send", "message", job.MessageID, "error", err)
		return // the lease runs out and the job is taken up again
	}
	leased, stopLease := g.keepLeased(ctx, job)
	defer stopLease()
	var out outcome
	var p *as2gate.Partner
	st, err := g.store.GetStation(leased, m.StationID)
	if err == nil {
		p, err = g.store.GetPartner(leased, m.PartnerID)
	}
	switch {
	case as2gate.ErrorCode(err) == as2gate.ENotFound:
		out = permanent("%s", as2gate.ErrorMessage(err))
	case err != nil:
		out = transient("%v", err)
	default:
		out = g.deliver(leased, m, st, p)
	}
	if leased.Err() != nil && (out.retryable || out.status == as2gate.StatusFailed) {
		// Shutting down, or another worker took the job over: hand the
		// job back rather than record a failure the interruption caused.
		out = transient("interrupted: %v", context.Cause(leased))
	}
	g.finishSend(context.WithoutCancel(ctx), job, m.ID, p, out)
}

var errNothingToDo = errors.New("nothing to do")

// errLeaseLost ends an attempt whose job another worker has taken over.
var errLeaseLost = errors.New("the job's lease was lost to another worker")

// keepLeased extends the job's lease while a long transfer runs. The
// context it returns ends with ctx, or when the lease is lost.
func (g *Gateway) keepLeased(ctx context.Context, job *as2gate.Job) (context.Context, func()) {
	leased, cancel := context.WithCancelCause(ctx)
	go func() {
		t := time.NewTicker(g.opt.Lease / 3)
		defer t.Stop()
		for {
			select {
			case <-leased.Done():
				return
			case <-t.C:
				err := g.store.ExtendLease(leased, job.ID, job.LeaseOwner, g.now().Add(g.opt.Lease))
				switch as2gate.ErrorCode(err) {
				case "":
				case as2gate.EConflict, as2gate.ENotFound:
					g.log.Warn("a job's lease was lost: the attempt stops", "job", job.ID, "error", err)
					cancel(errLeaseLost)
					return
				default:
					g.log.Warn("extending a job lease", "job", job.ID, "error", err)
				}
			}
		}
	}()
	return leased, func() { cancel(context.Canceled) }
}

// finishSend records an attempt's outcome, retrying later when allowed.
func (g *Gateway) finishSend(ctx context.Context, job *as2gate.Job, id string, p *as2gate.Partner, out outcome) {
	m, err := g.retryUpdate(ctx, id, func(m *as2gate.Message) (bool, as2gate.JobChange, error) {
		if m.Status != as2gate.StatusSending {
			// Something else settled it meanwhile (an async MDN came
			// before we recorded the send, or a user canceled it).
			return true, finished(job), nil
		}
		if out.mic != "" {
			m.MIC = out.mic
			m.Signed, m.Encrypted, m.Compressed, m.Algorithms = out.signed, out.encrypted, out.compress, out.algs
		}
		now := g.now()
		// Without the partner (it could not be read) a transient failure
		// is tried again a minute later, whatever the attempts so far.
		if out.retryable && (p == nil || m.Attempts <= p.Retries) {
			delay := time.Minute
			if p != nil {
				delay = backoff(p.RetryDelay, m.Attempts)
			}
			m.Status, m.Reason = as2gate.StatusQueued, fmt.Sprintf("attempt %d failed: %s; next attempt at %s", m.Attempts, out.reason, now.Add(delay).Format(time.RFC3339))
			return true, retryAt(job, now.Add(delay), out.reason), nil
		}
		m.Status, m.Reason = out.status, out.reason
		if out.retryable && p != nil {
			m.Reason = fmt.Sprintf("%s (after %d attempts)", out.reason, m.Attempts)
		}
		if out.mdn != nil {
			applyMDNFields(m, out.mdn)
		}
		changes := finished(job)
		if m.Status == as2gate.StatusAwaitingMDN {
			changes.Enqueue = []as2gate.Job{{ID: as2gate.NewID(), Kind: as2gate.JobMDNTimeout, MessageID: m.ID, RunAt: now.Add(p.MDNTimeout)}}
		}
		if m.Status.Final() {
			m.CompletedAt = now
		}
		return true, changes, nil
	})
	if err != nil {
		g.log.Error("recording the outcome of a send", "message", id, "error", err)
		return
	}
	if m.Status == as2gate.StatusAwaitingMDN {
		g.settleStoredMDN(ctx, m, p)
	}
	g.log.Info("send attempt", "id", m.ID, "message_id", m.MessageID, "partner", m.PartnerAS2ID, "status", m.Status, "attempt", m.Attempts, "reason", m.Reason)
}

// backoff doubles the delay with every attempt, up to an hour.
func backoff(first time.Duration, attempt int) time.Duration {
	d := first
	for i := 1; i < attempt && d < time.Hour; i++ {
		d *= 2
	}
	return min(d, time.Hour)
}

// deliver builds the message, posts it and reads the answer.
func (g *Gateway) deliver(ctx context.Context, m *as2gate.Message, st *as2gate.Station, p *as2gate.Partner) outcome {
	if err := g.ensureInPlace(ctx, m); err != nil {
		return permanent("%s", as2gate.ErrorMessage(err))
	}
	req, err := g.buildRequest(ctx, m, st, p)
	if err != nil {
		if as2gate.ErrorCode(err) == as2gate.EInternal {
			return transient("preparing the message: %v", err)
		}
		return permanent("%s", as2gate.ErrorMessage(err))
	}
	defer req.Close()
	client, err := g.client(ctx, p)
	if err != nil {
		return permanent("HTTP client: %s", as2gate.ErrorMessage(err))
	}

	// The raw message is kept as sent, headers first, for non-repudiation.
	raw, err := os.CreateTemp(g.opt.TempDir, "out-*")
	if err != nil {
		return transient("%v", err)
	}
	defer os.Remove(raw.Name())
	defer raw.Close()
	if _, err := raw.Write(headerBytes(req.Header)); err != nil {
		return transient("%v", err)
	}
	body, err := req.Body.Open()
	if err != nil {
		return transient("reading the payload: %v", err)
	}
	defer body.Close()
	sent := &sentBody{Reader: io.TeeReader(body, raw), closed: make(chan struct{})}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, p.URL, sent)
	if err != nil {
		return permanent("partner URL: %v", err)
	}
	for _, f := range req.Header.Fields {
		hreq.Header.Add(f.Name, f.Value)
	}
	hreq.Header.Set("User-Agent", "as2gate")
	if p.Chunked {
		hreq.ContentLength = -1
		hreq.TransferEncoding = []string{"chunked"}
	} else {
		hreq.ContentLength = req.Body.Size()
	}
	resp, err := client.Do(hreq)
	if err != nil {
		return transient("%s", describeTransportError(err))
	}
	defer func() {
		resp.Body.Close()
		// The transport may still be sending when the answer comes (a
		// partner refusing early): the copy is whole once it closed the body.
		select {
		case <-sent.closed:
		case <-ctx.Done():
			// Canceled (shutdown): the transport aborts the request and
			// closes the body soon; a copy still growing is not kept.
			select {
			case <-sent.closed:
			case <-time.After(5 * time.Second):
				g.log.Error("the raw message sent is not kept: the HTTP transport still holds it", "message", m.ID)
				return
			}
		}
		if err := g.keepRaw(ctx, m, raw); err != nil {
			g.log.Error("storing the raw message sent", "message", m.ID, "error", err)
		}
	}()
	mic, err := req.MIC()
	if err != nil {
		return transient("MIC: %v", err)
	}
	out := outcome{mic: mic.String(), algs: describeOutbound(p), signed: p.Sign != "", encrypted: p.Encrypt != "", compress: p.Compress != "none"}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		o := transient("partner answered HTTP %d %s", resp.StatusCode, strings.TrimSpace(string(snippet)))
		o.mic, o.algs, o.signed, o.encrypted, o.compress = out.mic, out.algs, out.signed, out.encrypted, out.compress
		return o
	}
	switch p.MDN {
	case as2gate.MDNNone:
		out.status = as2gate.StatusSent
		return out
	case as2gate.MDNAsync:
		out.status, out.reason = as2gate.StatusAwaitingMDN, ""
		return out
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, as2.MaxMDNSize+1))
	if err != nil {
		out.status, out.reason = as2gate.StatusIncomplete, fmt.Sprintf("sent, but reading the MDN failed: %v", err)
		return out
	}
	h := HeaderFromHTTP(resp.Header)
	out.mdnRaw = captureBytes(h, data)
	if len(data) == 0 {
		out.status, out.reason = as2gate.StatusIncomplete, "sent, but the partner returned no MDN"
		return out
	}
	g.settleMDN(ctx, &out, p, h, data, mic)
	g.keepMDN(ctx, m, out.mdnRaw)
	return out
}

// settleMDN reads a receipt and decides the message's status from it.
func (g *Gateway) settleMDN(ctx context.Context, out *outcome, p *as2gate.Partner, h mime.Header, data []byte, sent as2.MIC) {
	verify, err := g.certificates(ctx, p.VerifyCertIDs()...)
	if err != nil {
		out.status, out.reason = as2gate.StatusIncomplete, fmt.Sprintf("sent, but the partner's certificate cannot be loaded: %s", as2gate.ErrorMessage(err))
		return
	}
	mdn, err := as2.ParseMDN(h, strings.NewReader(string(data)), as2.MDNParseOptions{Verify: verify})
	if err != nil {
		out.status, out.reason = as2gate.StatusIncomplete, fmt.Sprintf("sent, but the MDN is not valid: %v", err)
		return
	}
	out.mdn = mdn
	out.status, out.reason = mdnOutcome(mdn, p, sent)
}

// mdnUntrusted says why an MDN cannot be taken as the partner's word, ""
// when it can.
func mdnUntrusted(mdn *as2.ReceivedMDN, p *as2gate.Partner) string {
	switch {
	case p.MDNSigned && mdn.Signature == nil:
		return "is not signed although a signed MDN was asked for"
	case mdn.Signature != nil && !mdn.Signature.Trusted:
		return "has a signature that the partner's certificates do not verify"
	}
	return ""
}

// mdnOutcome is the status a receipt gives a sent message.
func mdnOutcome(mdn *as2.ReceivedMDN, p *as2gate.Partner, sent as2.MIC) (as2gate.Status, string) {
	if why := mdnUntrusted(mdn, p); why != "" {
		return as2gate.StatusIncomplete, "sent, but the MDN " + why
	}
	switch {
	case !mdn.Disposition.OK():
		reason := "the partner reports " + mdn.Disposition.String()
		if mdn.Text != "" {
			reason += ": " + firstLine(mdn.Text)
		}
		return as2gate.StatusFailed, reason
	}
	if err := mdn.CheckMIC(sent); err != nil {
		return as2gate.StatusMICMismatch, err.Error()
	}
	if mdn.Disposition.Modifier == "warning" {
		return as2gate.StatusSent, "the partner reports a warning: " + mdn.Disposition.Description
	}
	return as2gate.StatusSent, ""
}

func applyMDNFields(m *as2gate.Message, mdn *as2.ReceivedMDN) {
	m.MDNMessageID = mdn.MessageID
	m.MDNDisposition = mdn.Disposition.String()
	m.MDNStatus = "unsigned"
	if mdn.Signature != nil {
		m.MDNStatus = "signature verified"
	}
	ok := m.Status == as2gate.StatusSent
	if m.Status == as2gate.StatusMICMismatch || ok {
		m.MICMatched = &ok
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	if len(line) > 300 {
		line = line[:300]
	}
	return strings.TrimSpace(line)
}

// describeTransportError says why a request to a partner failed, with
// the URL it quotes redacted: a token in a partner's URL stays out of
// reasons, job errors and logs.
func describeTransportError(err error) string {
	if ue, ok := err.(*url.Error); ok {
		err = &url.Error{Op: ue.Op, URL: redact.URL(ue.URL), Err: ue.Err}
	}
	var te interface{ Timeout() bool }
	if errors.As(err, &te) && te.Timeout() {
		return "the partner did not answer in time: " + err.Error()
	}
	return err.Error()
}

func describeOutbound(p *as2gate.Partner) string {
	var parts []string
	if p.Encrypt != "" {
		kt := p.KeyTransport
		if kt == "" {
			kt = "rsa-pkcs1-v1_5"
		}
		parts = append(parts, fmt.Sprintf("encrypted %s (%s)", p.Encrypt, kt))
	}
	if p.Sign != "" {
		scheme := "rsassa-pkcs1-v1_5"
		if p.SignPSS {
			scheme = "rsassa-pss"
		}
		parts = append(parts, fmt.Sprintf("signed %s %s", p.Sign, scheme))
	}
	if p.Compress != "" && p.Compress != "none" {
		parts = append(parts, "compressed "+p.Compress+" signing")
	}
	if len(parts) == 0 {
		return "plain"
	}
	return strings.Join(parts, ", ")
}

// buildRequest builds the AS2 request of a message from its stored files.
func (g *Gateway) buildRequest(ctx context.Context, m *as2gate.Message, st *as2gate.Station, p *as2gate.Partner) (*as2.Request, error) {
	opts := as2.BuildOptions{
		From: st.AS2ID, To: p.AS2ID, MessageID: m.MessageID, Subject: m.Subject, Base64: p.Base64,
		TempDir: g.opt.TempDir, Now: g.opt.Now,
	}
	for _, f := range m.Files {
		opts.Attachments = append(opts.Attachments, as2.Attachment{Content: &blobSource{g.blobs, f.Key, f.Size}, ContentType: f.ContentType, Filename: f.Name})
	}
	var err error
	if opts.Compress, err = as2.ParseCompressMode(p.Compress); err != nil {
		return nil, as2gate.Invalid("compress", "%v", err)
	}
	now := g.now()
	if p.Sign != "" {
		kp, err := g.keyPair(ctx, st.CertID)
		if err != nil {
			return nil, err
		}
		rec, _ := g.store.GetCertificate(ctx, st.CertID)
		if rec != nil {
			if err := rec.CheckValid(now); err != nil {
				return nil, err
			}
		}
		digest, err := cms.ParseDigest(p.Sign)
		if err != nil {
			return nil, as2gate.Invalid("sign", "%v", err)
		}
		scheme := cms.PKCS1v15
		if p.SignPSS {
			scheme = cms.PSS
		}
		opts.Sign = &cms.Signer{Key: kp.key, Cert: kp.cert, Digest: digest, Scheme: scheme}
	}
	if p.Encrypt != "" {
		rec, err := g.store.GetCertificate(ctx, p.EncryptCertID)
		if err != nil {
			return nil, err
		}
		if err := rec.CheckValid(now); err != nil {
			return nil, err
		}
		cert, err := rec.Parse()
		if err != nil {
			return nil, err
		}
		c, err := cms.ParseCipher(p.Encrypt)
		if err != nil {
			return nil, as2gate.Invalid("encrypt", "%v", err)
		}
		kt, err := cms.ParseKeyTransport(p.KeyTransport)
		if err != nil {
			return nil, as2gate.Invalid("key_transport", "%v", err)
		}
		opts.Encrypt = &cms.EncryptOptions{Cipher: c, KeyTransport: kt, Recipients: []*x509.Certificate{cert}}
	}
	if p.MDN != as2gate.MDNNone {
		opts.MDN = as2.MDNRequest{To: mdnAddress(st), Signed: p.MDNSigned}
		if p.MDNSigned {
			opts.MDN.SignedRequired = false
			opts.MDN.MICAlgs = []string{p.MICAlg}
		}
		if p.MDN == as2gate.MDNAsync {
			opts.MDN.AsyncURL = strings.TrimRight(g.opt.PublicURL, "/") + "/mdn"
		}
	}
	if !p.MDNSigned {
		opts.MDN.MICAlgs = nil
	}
	for _, h := range p.Headers {
		opts.Header.Add(h.Name, h.Value)
	}
	req, err := as2.Build(opts)
	if err != nil {
		return nil, as2gate.Wrap(as2gate.EInvalid, err, "building the message")
	}
	return req, nil
}

// mdnAddress is the Disposition-Notification-To we give: any value asks
// for an MDN; an address naming the station helps the partner's logs.
func mdnAddress(st *as2gate.Station) string {
	if st.Email != "" {
		addr, _, _ := strings.Cut(st.Email, ",")
		return strings.TrimSpace(addr)
	}
	return "as2@" + as2gate.KeyElement(st.AS2ID)
}

// sentBody is a request body that tells when the HTTP transport is done
// with it: the transport closes it, maybe after the response came back.
type sentBody struct {
	io.Reader
	once   sync.Once
	closed chan struct{}
}

func (b *sentBody) Close() error {
	b.once.Do(func() { close(b.closed) })
	return nil
}

// keepRaw stores the message as sent: its headers and body.
func (g *Gateway) keepRaw(ctx context.Context, m *as2gate.Message, raw *os.File) error {
	if err := raw.Close(); err != nil {
		return err
	}
	_, err := g.blobs.Import(ctx, m.RawKey, raw.Name())
	return err
}

func (g *Gateway) keepMDN(ctx context.Context, m *as2gate.Message, raw []byte) {
	if _, err := g.blobs.Put(ctx, m.MDNKey, strings.NewReader(string(raw))); err != nil {
		g.log.Error("storing a received MDN", "message", m.ID, "error", err)
	}
}

// blobSource is a stored file as an as2.Source.
type blobSource struct {
	blobs as2gate.BlobStore
	key   string
	size  int64
}

func (b *blobSource) Size() int64 { return b.size }

func (b *blobSource) Open() (io.ReadCloser, error) {
	rc, size, err := b.blobs.Open(context.Background(), b.key)
	if err != nil {
		return nil, err
	}
	if size != b.size {
		rc.Close()
		return nil, fmt.Errorf("stored file %s is %d bytes, %d recorded", b.key, size, b.size)
	}
	return rc, nil
}

// HeaderFromHTTP is the header of a partner's request or answer as kept
// with the message, without the credentials it may carry (cookies,
// Authorization): they belong to one HTTP exchange, not to the message.
func HeaderFromHTTP(h http.Header) mime.Header {
	var out mime.Header
	for name, values := range h {
		if as2gate.IsCredentialHeader(name) {
			continue
		}
		for _, v := range values {
			out.Add(name, v)
		}
	}
	return out
}
