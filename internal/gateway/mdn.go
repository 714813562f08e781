package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/as2gate/as2gate"
	"github.com/as2gate/as2gate/internal/as2"
	"github.com/as2gate/as2gate/internal/mime"
	"github.com/as2gate/as2gate/internal/redact"
)

// ReceiveMDN handles an asynchronous MDN POSTed by a partner for a message
// we sent.
func (g *Gateway) ReceiveMDN(ctx context.Context, h mime.Header, body io.Reader) *Reply {
	from, err := as2.ParseID(h.Get("AS2-From"))
	if err != nil {
		return textReply(http.StatusBadRequest, "AS2-From: %v", err)
	}
	p, err := g.store.GetPartnerByAS2ID(ctx, from)
	if err != nil {
		if as2gate.ErrorCode(err) == as2gate.ENotFound {
			g.log.Warn("MDN from an unknown partner refused", "as2_from", from)
			return textReply(http.StatusForbidden, "%q is not a partner (AS2-From)", from)
		}
		return g.internalError(err, "looking up the partner")
	}
	data, err := io.ReadAll(io.LimitReader(body, as2.MaxMDNSize+1))
	if err != nil {
		return g.internalError(err, "reading the MDN")
	}
	if len(data) > as2.MaxMDNSize {
		return textReply(http.StatusRequestEntityTooLarge, "an MDN may not exceed %d bytes", as2.MaxMDNSize)
	}
	verify, err := g.certificates(ctx, p.VerifyCertIDs()...)
	if err != nil {
		return g.internalError(err, "loading the partner's certificates")
	}
	mdn, err := as2.ParseMDN(h, bytes.NewReader(data), as2.MDNParseOptions{Verify: verify})
	if err != nil {
		g.log.Warn("invalid MDN refused", "partner", p.AS2ID, "error", err)
		return textReply(http.StatusBadRequest, "MDN refused: %v", err)
	}
	// Anybody can post an MDN naming a partner: one that the partner's
	// certificates do not authenticate (when the partner signs its MDNs)
	// settles nothing and replaces no receipt kept as evidence.
	if why := mdnUntrusted(mdn, p); why != "" {
		g.log.Warn("MDN refused", "partner", p.AS2ID, "original_message_id", mdn.OriginalMessageID, "reason", why)
		return textReply(http.StatusForbidden, "MDN refused: it %s", why)
	}
	m, err := g.store.FindMessage(ctx, p.ID, as2gate.Outbound, mdn.OriginalMessageID)
	if err != nil {
		if as2gate.ErrorCode(err) == as2gate.ENotFound {
			g.log.Warn("MDN for an unknown message", "partner", p.AS2ID, "original_message_id", mdn.OriginalMessageID)
			return textReply(http.StatusNotFound, "no message %s was sent to %q", mdn.OriginalMessageID, p.AS2ID)
		}
		return g.internalError(err, "looking up the message")
	}
	switch m.Status {
	case as2gate.StatusSending, as2gate.StatusAwaitingMDN, as2gate.StatusIncomplete:
	default: // settled: a repeated MDN, acknowledged and not kept
		g.log.Info("repeated MDN ignored", "id", m.ID, "message_id", m.MessageID, "partner", p.AS2ID, "status", m.Status)
		return &Reply{Status: http.StatusOK, Header: http.Header{}}
	}
	if _, err := g.blobs.Put(ctx, m.MDNKey, bytes.NewReader(captureBytes(h, data))); err != nil {
		return g.internalError(err, "storing the MDN")
	}
	if m, err = g.settleAsyncMDN(ctx, m.ID, p, mdn); err != nil {
		return g.internalError(err, "recording the MDN")
	}
	g.log.Info("asynchronous MDN received", "id", m.ID, "message_id", m.MessageID, "partner", p.AS2ID, "status", m.Status)
	return &Reply{Status: http.StatusOK, Header: http.Header{}}
}

// settleAsyncMDN applies an asynchronous MDN to the message it answers.
// An MDN can come back before the worker that sent the message recorded
// it (and its MIC): then the message is left alone, and the worker settles
// it from the stored MDN (settleStoredMDN) once it has.
func (g *Gateway) settleAsyncMDN(ctx context.Context, id string, p *as2gate.Partner, mdn *as2.ReceivedMDN) (*as2gate.Message, error) {
	return g.retryUpdate(ctx, id, func(m *as2gate.Message) (bool, as2gate.JobChange, error) {
		switch m.Status {
		case as2gate.StatusAwaitingMDN, as2gate.StatusIncomplete:
		default:
			return false, as2gate.JobChange{}, nil // still sending, or settled already (a repeated MDN)
		}
		sent, err := as2.ParseMIC(m.MIC)
		if err != nil {
			sent = as2.MIC{}
		}
		m.Status, m.Reason = mdnOutcome(mdn, p, sent)
		applyMDNFields(m, mdn)
		m.CompletedAt = g.now()
		return true, as2gate.JobChange{CancelKinds: []as2gate.JobKind{as2gate.JobMDNTimeout}}, nil
	})
}

// settleStoredMDN settles a message now awaiting its MDN with one that
// came while it was still being sent.
func (g *Gateway) settleStoredMDN(ctx context.Context, m *as2gate.Message, p *as2gate.Partner) {
	h, data, err := g.loadMDN(ctx, m)
	if err != nil {
		return // none came yet: the normal case
	}
	verify, err := g.certificates(ctx, p.VerifyCertIDs()...)
	if err != nil {
		g.log.Error("loading the partner's certificates", "partner", p.AS2ID, "error", err)
		return
	}
	mdn, err := as2.ParseMDN(h, bytes.NewReader(data), as2.MDNParseOptions{Verify: verify})
	if err != nil || mdn.OriginalMessageID != m.MessageID {
		return
	}
	if _, err := g.settleAsyncMDN(ctx, m.ID, p, mdn); err != nil {
		g.log.Error("settling an early MDN", "message", m.ID, "error", err)
	}
}

// runMDNTimeout marks a message incomplete when its MDN did not come.
func (g *Gateway) runMDNTimeout(ctx context.Context, job *as2gate.Job) {
	_, err := g.retryUpdate(ctx, job.MessageID, func(m *as2gate.Message) (bool, as2gate.JobChange, error) {
		if m.Status == as2gate.StatusAwaitingMDN {
			m.Status, m.Reason, m.CompletedAt = as2gate.StatusIncomplete, "sent, but no MDN came in time", g.now()
		}
		return true, finished(job), nil
	})
	if err != nil {
		g.log.Error("MDN timeout", "message", job.MessageID, "error", err)
	}
}

// mdnDeliveryAttempts bounds the tries to deliver an asynchronous MDN.
const mdnDeliveryAttempts = 10

// runSendMDN delivers the asynchronous MDN of a received message.
func (g *Gateway) runSendMDN(ctx context.Context, job *as2gate.Job) {
	m, err := g.store.GetMessage(ctx, job.MessageID)
	if err != nil {
		g.log.Error("async MDN", "message", job.MessageID, "error", err)
		return
	}
	err = g.postMDN(ctx, m)
	_, uerr := g.retryUpdate(context.WithoutCancel(ctx), m.ID, func(m *as2gate.Message) (bool, as2gate.JobChange, error) {
		switch {
		case err == nil:
			m.MDNStatus = "sent"
			return true, finished(job), nil
		case job.Attempts >= mdnDeliveryAttempts:
			m.MDNStatus = "failed"
			m.Reason = fmt.Sprintf("the MDN could not be delivered to %s: %v", redact.URL(m.MDNURL), err)
			return true, finished(job), nil
		default:
			m.MDNStatus = "retrying"
			return true, retryAt(job, g.now().Add(backoff(30*time.Second, job.Attempts)), err.Error()), nil
		}
	})
	if uerr != nil {
		g.log.Error("recording an async MDN delivery", "message", m.ID, "error", uerr)
	}
	if err != nil {
		g.log.Warn("async MDN delivery failed", "message_id", m.MessageID, "url", redact.URL(m.MDNURL), "attempt", job.Attempts, "error", err)
	}
}

func (g *Gateway) postMDN(ctx context.Context, m *as2gate.Message) error {
	if m.MDNURL == "" || m.MDNKey == "" {
		return errors.New("no MDN to deliver")
	}
	h, body, err := g.loadMDN(ctx, m)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.MDNURL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	for _, f := range h.Fields {
		req.Header.Add(f.Name, f.Value)
	}
	// The partner's client: its timeouts, its TLS trust, no redirects.
	p, err := g.store.GetPartner(ctx, m.PartnerID)
	if err != nil {
		return fmt.Errorf("the partner: %w", err)
	}
	client, err := g.client(ctx, p)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return errors.New(describeTransportError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
		return fmt.Errorf("HTTP %d %s", resp.StatusCode, strings.TrimSpace(string(snippet)))
	}
	return nil
}
