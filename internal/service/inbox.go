package service

import (
	"bytes"
	"context"
	"crypto/x509"
	"net/textproto"
	"time"

	"github.com/as2gate/as2gate"
	"github.com/as2gate/as2gate/client"
	"github.com/as2gate/as2gate/internal/as2"
)

// maxBulkDelete bounds the messages one DeleteMessages call removes.
const maxBulkDelete = 100

// box names a message's direction in audit actions: inbox or outbox.
func box(m *as2gate.Message) string {
	if m.Direction == as2gate.Inbound {
		return "inbox"
	}
	return "outbox"
}

// SetMessageRead marks a received message read or unread: a business
// system's way to keep track of what it has fetched.
func (s *Service) SetMessageRead(ctx context.Context, id string, read bool) (err error) {
	action := "inbox.unread"
	if read {
		action = "inbox.read"
	}
	defer s.record(ctx, action, &id, &err)
	m, err := s.gw.Store().GetMessage(ctx, id)
	if err != nil {
		return err
	}
	if m.Direction != as2gate.Inbound {
		return as2gate.Errorf(as2gate.EInvalid, "only received messages are marked read or unread")
	}
	var at time.Time // unread
	if read {
		at = s.now()
	}
	return s.gw.Store().SetMessageRead(ctx, id, at)
}

// DeleteMessage removes a message with its files, raw message and MDN. A
// queued message is so canceled; one being sent is refused (EConflict).
func (s *Service) DeleteMessage(ctx context.Context, id string) (err error) {
	action := "message.delete"
	defer func() { s.Audit(ctx, action, id, err) }()
	m, err := s.gw.DeleteMessage(ctx, id)
	if m != nil {
		action = box(m) + ".delete"
	}
	return err
}

// DeleteMessages removes at most 100 messages, each as DeleteMessage does,
// and tells which were and which were not. With direction "in" or "out",
// messages of the other direction are not found.
func (s *Service) DeleteMessages(ctx context.Context, direction string, ids []string) (*client.DeleteResult, error) {
	switch {
	case len(ids) == 0:
		return nil, as2gate.Invalid("ids", "no message to delete")
	case len(ids) > maxBulkDelete:
		return nil, as2gate.Invalid("ids", "at most %d messages at once", maxBulkDelete)
	}
	out := &client.DeleteResult{Deleted: []string{}}
	fail := func(id string, err error) {
		if out.Failed == nil {
			out.Failed = map[string]string{}
		}
		out.Failed[id] = as2gate.ErrorMessage(err)
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		if !as2gate.IsID(id) {
			fail(id, as2gate.Errorf(as2gate.ENotFound, "message %s not found", id))
			continue
		}
		if direction != "" {
			m, err := s.gw.Store().GetMessage(ctx, id)
			if err == nil && string(m.Direction) != direction {
				err = as2gate.Errorf(as2gate.ENotFound, "message %s not found", id)
			}
			if err != nil {
				fail(id, err)
				continue
			}
		}
		if err := s.DeleteMessage(ctx, id); err != nil {
			fail(id, err)
			continue
		}
		out.Deleted = append(out.Deleted, id)
	}
	return out, nil
}

// GetMessageDetail returns a message with the transport headers stored
// with its raw message (none while it is queued), but credentials, and
// its read state.
func (s *Service) GetMessageDetail(ctx context.Context, id string) (*client.MessageDetail, error) {
	m, err := s.gw.Store().GetMessage(ctx, id)
	if err != nil {
		return nil, err
	}
	out := &client.MessageDetail{Message: toMessage(m), Read: !m.ReadAt.IsZero()}
	if m.RawKey == "" {
		return out, nil
	}
	rc, _, err := s.gw.OpenStored(ctx, m, m.RawKey)
	if as2gate.ErrorCode(err) == as2gate.ENotFound {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	// Only the header block is read, within the MIME parser's bounds.
	h, _, err := as2.ReadCapture(rc)
	if err != nil {
		return nil, as2gate.Wrap(as2gate.EInternal, err, "cannot read the headers stored with message %s", id)
	}
	out.Headers = map[string][]string{}
	for _, f := range h.Fields {
		name := textproto.CanonicalMIMEHeaderKey(f.Name)
		// Records stored before credentials were left out may hold some.
		if as2gate.IsCredentialHeader(name) {
			continue
		}
		out.Headers[name] = append(out.Headers[name], f.Value)
	}
	return out, nil
}

// GetMessageMDN returns the MDN of a message parsed: the one received for
// a message sent, checked against the partner's certificates, or the one
// returned for a message received, checked against the station's.
func (s *Service) GetMessageMDN(ctx context.Context, id string) (*client.MDN, error) {
	raw, err := s.MessageMDN(ctx, id)
	if err != nil {
		return nil, err
	}
	m, err := s.gw.Store().GetMessage(ctx, id)
	if err != nil {
		return nil, err
	}
	var certIDs []string
	if m.Direction == as2gate.Outbound {
		if p, err := s.gw.Store().GetPartner(ctx, m.PartnerID); err == nil {
			certIDs = p.VerifyCertIDs()
		}
	} else if st, err := s.gw.Store().GetStation(ctx, m.StationID); err == nil {
		certIDs = []string{st.CertID, st.NextCertID}
	}
	// Without certificates (the partner or station was deleted), the
	// signature is checked against the certificate it carries and shown
	// as such.
	var verify []*x509.Certificate
	for _, cid := range certIDs {
		if c, err := s.gw.Store().GetCertificate(ctx, cid); err == nil {
			if x, err := c.Parse(); err == nil {
				verify = append(verify, x)
			}
		}
	}
	h, body, err := as2.ReadCapture(bytes.NewReader(raw))
	if err != nil {
		return nil, as2gate.Wrap(as2gate.EInternal, err, "cannot read the MDN stored with message %s", id)
	}
	mdn, err := as2.ParseMDN(h, body, as2.MDNParseOptions{Verify: verify})
	if err != nil {
		return nil, as2gate.Wrap(as2gate.EInternal, err, "cannot parse the MDN stored with message %s", id)
	}
	out := &client.MDN{
		MessageID: mdn.MessageID, OriginalMessageID: mdn.OriginalMessageID, Disposition: mdn.Disposition.String(),
		Processed: mdn.Disposition.OK(), Signed: mdn.Signature != nil, ReportingUA: mdn.ReportingUA, Text: mdn.Text,
		Direction: "in",
	}
	if mdn.MIC != nil {
		out.MIC = mdn.MIC.String()
	}
	if mdn.Signature != nil && mdn.Signature.Signer != nil {
		out.Signer = mdn.Signature.Signer.Subject.String()
	}
	if m.Direction == as2gate.Outbound {
		out.MICMatched = m.MICMatched
	} else {
		out.Direction = "out"
	}
	return out, nil
}
