package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"

	"github.com/as2gate/as2gate"
	"github.com/as2gate/as2gate/internal/as2"
	"github.com/as2gate/as2gate/internal/cms"
	"github.com/as2gate/as2gate/internal/mime"
	"github.com/as2gate/as2gate/internal/redact"
)

// Reply is the HTTP answer to a partner.
type Reply struct {
	Status int
	Header http.Header
	Body   []byte
}

func textReply(status int, format string, args ...any) *Reply {
	h := http.Header{}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	return &Reply{Status: status, Header: h, Body: []byte(fmt.Sprintf(format, args...) + "\n")}
}

// Receive handles a message POSTed by a partner (header: the HTTP headers;
// body: the HTTP body) and returns the answer: the MDN for a synchronous
// one, an empty 200 otherwise. A processed MDN is only returned once the
// payload and its record are durable.
func (g *Gateway) Receive(ctx context.Context, h mime.Header, body io.Reader) *Reply {
	if isMDN(h) {
		return g.ReceiveMDN(ctx, h, body)
	}
	from, err := as2.ParseID(h.Get("AS2-From"))
	if err != nil {
		return textReply(http.StatusBadRequest, "AS2-From: %v", err)
	}
	to, err := as2.ParseID(h.Get("AS2-To"))
	if err != nil {
		return textReply(http.StatusBadRequest, "AS2-To: %v", err)
	}
	msgID := strings.TrimSpace(h.Get("Message-ID"))
	if msgID == "" || len(msgID) > 998 || !printableASCII(msgID) {
		return textReply(http.StatusBadRequest, "a message needs a Message-ID of printable ASCII characters (RFC 5322)")
	}
	req := as2.ParseMDNRequest(h)
	if req.AsyncURL != "" && !isHTTPURL(req.AsyncURL) {
		return textReply(http.StatusBadRequest, "Receipt-Delivery-Option: not an http or https URL")
	}
	st, err := g.store.GetStationByAS2ID(ctx, to)
	if err != nil {
		if as2gate.ErrorCode(err) == as2gate.ENotFound {
			g.log.Warn("message for an unknown station refused", "as2_to", to, "as2_from", from, "message_id", msgID)
			return textReply(http.StatusNotFound, "no station %q here (AS2-To)", to)
		}
		return g.internalError(err, "looking up the station")
	}
	p, err := g.store.GetPartnerByAS2ID(ctx, from)
	if err != nil {
		if as2gate.ErrorCode(err) == as2gate.ENotFound {
			g.recordUnknownPartner(ctx, st, from, msgID, h)
			return textReply(http.StatusForbidden, "%q is not a partner of station %q (AS2-From)", from, to)
		}
		return g.internalError(err, "looking up the partner")
	}
	// A duplicate (a message received before with this Message-ID) is
	// processed like any other and found out when its record conflicts
	// with the first one: the common case pays no lookup.
	return g.receive(ctx, st, p, h, msgID, req, body)
}

func (g *Gateway) internalError(err error, doing string) *Reply {
	g.log.Error("receiving failed: "+doing, "error", err)
	return textReply(http.StatusInternalServerError, "the message could not be stored (%s); please send it again", doing)
}

// isMDN tells an asynchronous MDN posted to the message URL.
func isMDN(h mime.Header) bool {
	mt, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		return false
	}
	return mt == "multipart/report" || (mt == "multipart/signed" && h.Get("Disposition-Notification-To") == "" &&
		strings.HasPrefix(strings.ToLower(h.Get("Subject")), "message disposition notification") && params["protocol"] != "")
}

func (g *Gateway) receive(ctx context.Context, st *as2gate.Station, p *as2gate.Partner, h mime.Header, msgID string, req as2.MDNRequest, body io.Reader) *Reply {
	now := g.now()
	keys := as2gate.KeysFor(st.AS2ID, p.AS2ID, as2gate.Inbound, as2gate.NewFolderName(now))
	m := &as2gate.Message{
		ID: as2gate.NewID(), Direction: as2gate.Inbound, StationID: st.ID, PartnerID: p.ID,
		StationAS2ID: st.AS2ID, PartnerAS2ID: p.AS2ID, MessageID: msgID, Subject: as2.DecodeHeaderText(h.Get("Subject")),
		Folder: keys.Folder, RawKey: keys.Raw, MDNMode: as2gate.MDNNone,
		CreatedAt: now, UpdatedAt: now,
	}
	staged := &stagedBlobs{g: g}

	raw, offset, err := g.spool(h, body)
	if raw != "" {
		defer os.Remove(raw) // gone already when imported
	}
	if err != nil {
		if as2gate.ErrorCode(err) == as2gate.ETooLarge {
			return textReply(http.StatusRequestEntityTooLarge, "%s", as2gate.ErrorMessage(err))
		}
		return g.internalError(err, "reading the request body")
	}
	msg, perr := g.parse(ctx, st, p, h, raw, offset)
	if perr != nil && !as2.IsMessageError(perr) {
		return g.internalError(perr, "processing the message")
	}
	disposition := as2.Processed()
	var mic *as2.MIC
	if perr == nil {
		defer msg.Close()
		m.Status = as2gate.StatusReceived
		m.MIC = msg.MIC.String()
		m.Signed, m.Encrypted = msg.Signature != nil, msg.Encryption != nil
		m.Compressed = msg.Compression != as2.CompressNone
		m.Algorithms = describeSecurity(msg)
		mic = &msg.MIC
	} else {
		m.Status, m.Reason = as2gate.StatusRejected, perr.Error()
		disposition = as2.ProcessedError(as2.FailureOf(perr))
		g.log.Warn("message refused", "message_id", msgID, "partner", p.AS2ID, "station", st.AS2ID, "reason", perr)
	}
	m.CompletedAt = now

	// The MDN is signed, and the payload and the raw message are synced to
	// disk, at the same time: each takes a while, and none needs another.
	var mdn *as2.MDN
	var mdnErr error
	var signing sync.WaitGroup
	if req.Requested() {
		signing.Add(1)
		go func() {
			defer signing.Done()
			if mdn, mdnErr = g.buildMDN(ctx, st, p, msgID, req, disposition, mic); mdnErr == nil {
				_, mdnErr = g.blobs.Put(ctx, stagedMDN(m.ID), bytes.NewReader(captureBytes(mdn.Header, mdn.Body)))
			}
		}()
	}
	var rawErr error
	signing.Add(1)
	go func() {
		defer signing.Done()
		if _, rawErr = g.blobs.Import(ctx, stagedRaw(m.ID), raw); rawErr == nil {
			staged.add(stagedRaw(m.ID))
		}
	}()
	if perr == nil {
		err = g.storeParts(ctx, m, msg, staged)
	}
	signing.Wait()
	err = errors.Join(err, rawErr)
	if mdnErr == nil && mdn != nil {
		staged.add(stagedMDN(m.ID))
	}
	if err != nil || mdnErr != nil {
		staged.discard(ctx)
		return g.internalError(errors.Join(err, mdnErr), "storing the message")
	}

	var jobs []as2gate.Job
	if mdn != nil {
		m.MDNKey, m.MDNMessageID, m.MDNDisposition, m.MDNSigned = keys.MDN, mdn.MessageID, disposition.String(), req.Signed
		switch {
		case req.AsyncURL != "" && !g.mayPostMDN(req.AsyncURL, m.Signed, p, msgID):
			m.MDNMode, m.MDNURL, m.MDNStatus = as2gate.MDNAsync, req.AsyncURL, "withheld"
		case req.AsyncURL != "":
			m.MDNMode, m.MDNURL, m.MDNStatus = as2gate.MDNAsync, req.AsyncURL, "queued"
			jobs = append(jobs, as2gate.Job{ID: as2gate.NewID(), Kind: as2gate.JobSendMDN, MessageID: m.ID, RunAt: now})
		default:
			m.MDNMode, m.MDNStatus = as2gate.MDNSync, "sent"
		}
	}
	// Recording must not stop halfway because the partner hung up.
	if err := g.store.CreateMessage(context.WithoutCancel(ctx), m, jobs...); err != nil {
		staged.recordFailed(ctx, err)
		if as2gate.ErrorCode(err) == as2gate.EConflict {
			// A duplicate: the first copy stays, and its MDN is repeated.
			if prev, ferr := g.store.FindMessage(ctx, p.ID, as2gate.Inbound, msgID); ferr == nil && prev.Status == as2gate.StatusReceived {
				g.log.Info("duplicate message: not stored again, MDN repeated", "message_id", msgID, "partner", p.AS2ID)
				return g.replayMDN(ctx, prev, p, req, m.Signed)
			}
		}
		return g.internalError(err, "recording the message")
	}
	staged.promote(ctx, m)
	if len(jobs) > 0 {
		g.notify()
	}
	if m.Status == as2gate.StatusReceived {
		g.log.Info("message received", "message_id", msgID, "partner", p.AS2ID, "station", st.AS2ID, "files", len(m.Files), "bytes", m.Size)
	}
	if mdn != nil && req.AsyncURL == "" {
		return mdnReply(mdn.Header, mdn.Body)
	}
	return &Reply{Status: http.StatusOK, Header: http.Header{}}
}

// spool writes the request to a temporary file, headers first (the file
// becomes the raw message kept for non-repudiation), and returns where the
// body starts. The body is bounded by MaxBodySize.
func (g *Gateway) spool(h mime.Header, body io.Reader) (string, int64, error) {
	f, err := os.CreateTemp(g.opt.TempDir, "in-*")
	if err != nil {
		return "", 0, err
	}
	head := headerBytes(h)
	if _, err := f.Write(head); err != nil {
		f.Close()
		return f.Name(), 0, err
	}
	src := body
	if g.opt.MaxBodySize > 0 {
		src = io.LimitReader(body, g.opt.MaxBodySize+1)
	}
	n, err := io.Copy(f, src)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && g.opt.MaxBodySize > 0 && n > g.opt.MaxBodySize {
		err = as2gate.Errorf(as2gate.ETooLarge, "the message is larger than the %d bytes this gateway accepts", g.opt.MaxBodySize)
	}
	return f.Name(), int64(len(head)), err
}

// parse opens a spooled message with the station's keys and checks it
// against the partner's certificates and requirements.
func (g *Gateway) parse(ctx context.Context, st *as2gate.Station, p *as2gate.Partner, h mime.Header, raw string, offset int64) (*as2.Message, error) {
	recipients, err := g.recipients(ctx, st)
	if err != nil {
		return nil, err
	}
	verify, err := g.certificates(ctx, p.VerifyCertIDs()...)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(raw)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	msg, err := as2.Parse(h, io.NewSectionReader(f, offset, fi.Size()-offset), as2.ParseOptions{
		Decrypt: recipients, Verify: verify, TempDir: g.opt.TempDir, MaxDecompressed: g.opt.MaxDecompressed,
		RequireSigned: p.RequireSigned, RequireEncrypted: p.RequireEncrypted,
	})
	if err != nil {
		return nil, err
	}
	if msg.Signature != nil && !msg.Signature.Trusted {
		msg.Close()
		return nil, &as2.Error{Failure: as2.AuthenticationFailed,
			Err: fmt.Errorf("partner %q has no certificate configured to check its signature", p.AS2ID)}
	}
	return msg, nil
}

// storeParts stages the payload files; their keys in m are where they go
// once the message is recorded.
func (g *Gateway) storeParts(ctx context.Context, m *as2gate.Message, msg *as2.Message, staged *stagedBlobs) error {
	used := map[string]bool{}
	for i, part := range msg.Parts {
		name := part.Filename
		if name == "" {
			name = fmt.Sprintf("attachment-%d%s", i+1, as2.ExtensionFor(part.ContentType))
		}
		name = storedName(name, used)
		key := m.Folder + "/" + as2gate.KeyElement(name)
		n, err := g.blobs.Import(ctx, stagedFile(m.ID, i), part.Path)
		if err != nil {
			return err
		}
		part.Path = ""
		staged.add(stagedFile(m.ID, i))
		m.Files = append(m.Files, as2gate.File{Name: name, ContentType: part.ContentType, Size: n, Key: key, SHA256: part.SHA256})
		m.Size += n
	}
	return nil
}

func describeSecurity(msg *as2.Message) string {
	var parts []string
	if e := msg.Encryption; e != nil {
		parts = append(parts, fmt.Sprintf("encrypted %v (%v)", e.Cipher, e.KeyTransport))
	}
	if s := msg.Signature; s != nil {
		parts = append(parts, fmt.Sprintf("signed %s %v", cms.DigestName(s.Digest), s.Scheme))
	}
	switch msg.Compression {
	case as2.CompressBeforeSigning:
		parts = append(parts, "compressed")
	case as2.CompressAfterSigning:
		parts = append(parts, "compressed after signing")
	}
	if len(parts) == 0 {
		return "plain"
	}
	return strings.Join(parts, ", ")
}

// recordUnknownPartner keeps a trace, visible to the station's owner, of a
// message from an AS2 identifier that is not a partner.
// Only so many are recorded each minute (see strangerRecordsPerMinute).
func (g *Gateway) recordUnknownPartner(ctx context.Context, st *as2gate.Station, from, msgID string, h mime.Header) {
	now := g.now()
	ok, dropped := g.strangers.admit(now)
	if dropped > 0 {
		g.log.Warn("messages from unknown partners refused without a record (too many in a minute)", "count", dropped)
	}
	if !ok {
		return
	}
	m := &as2gate.Message{
		ID: as2gate.NewID(), Direction: as2gate.Inbound, StationID: st.ID, StationAS2ID: st.AS2ID, PartnerAS2ID: from,
		MessageID: msgID, Subject: as2.DecodeHeaderText(h.Get("Subject")), Status: as2gate.StatusRejected,
		Reason: fmt.Sprintf("%q is not a partner: message refused with HTTP 403", from), MDNMode: as2gate.MDNNone,
		CreatedAt: now, UpdatedAt: now, CompletedAt: now,
	}
	if err := g.store.CreateMessage(ctx, m); err != nil {
		g.log.Error("recording a message from an unknown partner", "error", err)
	}
	g.log.Warn("message from an unknown partner refused", "as2_from", from, "station", st.AS2ID, "message_id", msgID)
}

// buildMDN makes the receipt for a message, signed with the station's key
// when the partner asked for a signed one.
func (g *Gateway) buildMDN(ctx context.Context, st *as2gate.Station, p *as2gate.Partner, msgID string, req as2.MDNRequest, d as2.Disposition, mic *as2.MIC) (*as2.MDN, error) {
	opts := as2.MDNOptions{From: st.AS2ID, To: p.AS2ID, OriginalMessageID: msgID, Disposition: d, MIC: mic, Now: g.opt.Now}
	if req.Signed {
		kp, err := g.keyPair(ctx, st.CertID)
		if err != nil {
			return nil, err
		}
		digest, _, ok := req.MICAlg()
		if !ok || !isSigningDigest(digest) {
			digest = defaultDigest
		}
		opts.Sign = &cms.Signer{Key: kp.key, Cert: kp.cert, Digest: digest}
	}
	return as2.BuildMDN(opts)
}

// replayMDN answers a duplicate with the receipt given the first time.
func (g *Gateway) replayMDN(ctx context.Context, prev *as2gate.Message, p *as2gate.Partner, req as2.MDNRequest, signed bool) *Reply {
	if prev.MDNKey == "" || !req.Requested() {
		return &Reply{Status: http.StatusOK, Header: http.Header{}}
	}
	if req.AsyncURL != "" && !g.mayPostMDN(req.AsyncURL, signed, p, prev.MessageID) {
		return &Reply{Status: http.StatusOK, Header: http.Header{}}
	}
	if req.AsyncURL != "" {
		_, err := g.retryUpdate(ctx, prev.ID, func(m *as2gate.Message) (bool, as2gate.JobChange, error) {
			m.MDNMode, m.MDNURL, m.MDNStatus = as2gate.MDNAsync, req.AsyncURL, "queued"
			return true, as2gate.JobChange{Enqueue: []as2gate.Job{{ID: as2gate.NewID(), Kind: as2gate.JobSendMDN, MessageID: m.ID, RunAt: g.now()}}}, nil
		})
		if err != nil {
			return g.internalError(err, "queueing the MDN again")
		}
		g.notify()
		return &Reply{Status: http.StatusOK, Header: http.Header{}}
	}
	h, body, err := g.loadMDN(ctx, prev)
	if err != nil {
		return g.internalError(err, "reading the MDN sent before")
	}
	return mdnReply(h, body)
}

// mayPostMDN tells whether our asynchronous MDN may go to url, which a
// request named, and logs why not. Without the partner's signature the
// request may come from anyone (AS2-From is a claim): no request of ours
// leaves for an address it names, other than the partner's own host.
func (g *Gateway) mayPostMDN(url string, signed bool, p *as2gate.Partner, msgID string) bool {
	if signed || sameHost(url, p.URL) {
		return true
	}
	g.log.Warn("async MDN withheld: the message is not signed by the partner and the MDN URL is not on the partner's host",
		"message_id", msgID, "partner", p.AS2ID, "url", redact.URL(url))
	return false
}

func mdnReply(h mime.Header, body []byte) *Reply {
	out := http.Header{}
	for _, f := range h.Fields {
		out.Add(f.Name, f.Value)
	}
	return &Reply{Status: http.StatusOK, Header: out, Body: body}
}

// loadMDN reads the stored MDN of a message (a capture: headers, empty
// line, body), bounded.
func (g *Gateway) loadMDN(ctx context.Context, m *as2gate.Message) (mime.Header, []byte, error) {
	rc, _, err := g.OpenStored(ctx, m, m.MDNKey)
	if err != nil {
		return mime.Header{}, nil, err
	}
	defer rc.Close()
	h, body, err := as2.ReadCapture(io.LimitReader(rc, as2.MaxMDNSize+64<<10))
	if err != nil {
		return h, nil, err
	}
	b, err := io.ReadAll(body)
	return h, b, err
}

// captureBytes writes headers and body as a capture, the form inspect reads.
func captureBytes(h mime.Header, body []byte) []byte {
	return append(headerBytes(h), body...)
}

func headerBytes(h mime.Header) []byte {
	var b bytes.Buffer
	for _, f := range h.Fields {
		b.WriteString(f.Name + ": " + strings.NewReplacer("\r", " ", "\n", " ").Replace(f.Value) + "\r\n")
	}
	b.WriteString("\r\n")
	return b.Bytes()
}
