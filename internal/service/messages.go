package service

import (
	"context"
	"io"
	"iter"
	"slices"

	"github.com/as2gate/as2gate"
	"github.com/as2gate/as2gate/client"
	"github.com/as2gate/as2gate/internal/as2"
	"github.com/as2gate/as2gate/internal/gateway"
)

// Pages of messages.
const (
	defaultLimit = 50
	maxLimit     = 1000
)

// maxStoredMDN bounds an MDN read into memory: the MDN itself, with its
// captured headers.
const maxStoredMDN = as2.MaxMDNSize + 64<<10

var statuses = []as2gate.Status{
	as2gate.StatusQueued, as2gate.StatusSending, as2gate.StatusAwaitingMDN, as2gate.StatusSent,
	as2gate.StatusIncomplete, as2gate.StatusFailed, as2gate.StatusMICMismatch, as2gate.StatusCanceled,
	as2gate.StatusReceived, as2gate.StatusRejected,
}

// Send stores the files and queues the message: when Send returns, the
// message will be delivered or visibly fail. The files are streamed.
func (s *Service) Send(ctx context.Context, r client.SendRequest) (*client.Message, error) {
	if len(r.Files) == 0 {
		return s.SendStream(ctx, r, nil)
	}
	return s.SendStream(ctx, r, func(yield func(client.SendFile, error) bool) {
		for _, f := range r.Files {
			if !yield(f, nil) {
				return
			}
		}
	})
}

// SendStream is Send with the files yielded one after the other, each
// read to its end before the next is asked for: the parts of an upload,
// streamed as they arrive. r.Files is not read.
func (s *Service) SendStream(ctx context.Context, r client.SendRequest, files iter.Seq2[client.SendFile, error]) (_ *client.Message, err error) {
	target := r.Station + " -> " + r.Partner
	defer s.record(ctx, "message.send", &target, &err)
	req := gateway.SendRequest{Station: r.Station, Partner: r.Partner, Subject: r.Subject}
	if files != nil {
		req.Files = func(yield func(gateway.Upload, error) bool) {
			for f, err := range files {
				if !yield(gateway.Upload{Name: f.Name, ContentType: f.ContentType, Content: f.Content}, err) {
					return
				}
			}
		}
	}
	m, err := s.gw.Send(ctx, req)
	if err != nil {
		return nil, err
	}
	target = m.ID
	out := toMessage(m)
	return &out, nil
}

// ListMessages returns a page of messages, newest first. NextCursor is set
// when the page is full: the next one may be empty.
func (s *Service) ListMessages(ctx context.Context, f client.MessageFilter) (*client.List[client.Message], error) {
	df, err := s.filter(ctx, f)
	if err != nil {
		return nil, err
	}
	list, err := s.gw.Store().ListMessages(ctx, df)
	if err != nil {
		return nil, err
	}
	out := &client.List[client.Message]{Items: make([]client.Message, len(list))}
	for i, m := range list {
		out.Items[i] = toMessage(m)
	}
	if len(list) == df.Limit {
		out.NextCursor = list[len(list)-1].ID
	}
	return out, nil
}

// filter checks a filter and turns it into the store's.
func (s *Service) filter(ctx context.Context, f client.MessageFilter) (as2gate.MessageFilter, error) {
	df := as2gate.MessageFilter{
		Direction: as2gate.Direction(f.Direction), MessageID: f.MessageID, Subject: f.Subject,
		Since: f.Since, Until: f.Until, Read: f.Read, After: f.Cursor, Limit: f.Limit,
	}
	switch df.Direction {
	case "", as2gate.Inbound, as2gate.Outbound:
	default:
		return df, as2gate.Invalid("direction", "%q: want in or out", f.Direction)
	}
	// Each status is worth asking for once: more values only make the
	// query bigger (40,000 would pass the database's limit of parameters).
	if len(f.Status) > len(statuses) {
		return df, as2gate.Invalid("status", "at most %d statuses", len(statuses))
	}
	for _, st := range f.Status {
		if !isStatus(st) {
			return df, as2gate.Invalid("status", "unknown status %q", st)
		}
		if !slices.Contains(df.Status, as2gate.Status(st)) {
			df.Status = append(df.Status, as2gate.Status(st))
		}
	}
	if f.Cursor != "" && !as2gate.IsID(f.Cursor) {
		return df, as2gate.Invalid("cursor", "not a cursor of this list")
	}
	if len(f.MessageID) > maxFilterLen {
		return df, as2gate.Invalid("message_id", "too long")
	}
	if len(f.Subject) > maxFilterLen {
		return df, as2gate.Invalid("subject", "too long")
	}
	var err error
	if df.Limit, err = pageLimit(f.Limit); err != nil {
		return df, err
	}
	if f.Station != "" {
		st, err := s.gw.Station(ctx, f.Station)
		if as2gate.ErrorCode(err) == as2gate.ENotFound {
			return df, as2gate.Invalid("station", "no station %q", f.Station)
		}
		if err != nil {
			return df, err
		}
		df.StationID = st.ID
	}
	if f.Partner != "" {
		p, err := s.gw.Partner(ctx, f.Partner)
		if as2gate.ErrorCode(err) == as2gate.ENotFound {
			return df, as2gate.Invalid("partner", "no partner %q", f.Partner)
		}
		if err != nil {
			return df, err
		}
		df.PartnerID = p.ID
	}
	return df, nil
}

func isStatus(s string) bool {
	for _, st := range statuses {
		if string(st) == s {
			return true
		}
	}
	return false
}

// GetMessage returns a message by record ID.
func (s *Service) GetMessage(ctx context.Context, id string) (*client.Message, error) {
	m, err := s.gw.Store().GetMessage(ctx, id)
	if err != nil {
		return nil, err
	}
	out := toMessage(m)
	return &out, nil
}

// OpenMessageFile opens a payload file of a message by its index (from
// 0, in the order of Message.Files), to be streamed.
func (s *Service) OpenMessageFile(ctx context.Context, id string, index int) (io.ReadCloser, *client.File, error) {
	m, err := s.gw.Store().GetMessage(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if index < 0 || index >= len(m.Files) {
		return nil, nil, as2gate.Errorf(as2gate.ENotFound, "message %s has no file %d (it has %d)", id, index, len(m.Files))
	}
	f := m.Files[index]
	rc, _, err := s.gw.OpenStored(ctx, m, f.Key)
	if as2gate.ErrorCode(err) == as2gate.ENotFound {
		return nil, nil, as2gate.Errorf(as2gate.ENotFound, "file %q of message %s is no longer stored", f.Name, id)
	}
	if err != nil {
		return nil, nil, err
	}
	out := toFile(index, f)
	return rc, &out, nil
}

// MessageMDN returns the MDN of a message as stored (headers, an empty
// line, the body: the form `as2gate inspect` reads): the one received for
// a message sent, the one returned for a message received.
func (s *Service) MessageMDN(ctx context.Context, id string) ([]byte, error) {
	m, err := s.gw.Store().GetMessage(ctx, id)
	if err != nil {
		return nil, err
	}
	noMDN := as2gate.Errorf(as2gate.ENotFound, "message %s has no MDN", id)
	if m.MDNKey == "" {
		return nil, noMDN
	}
	rc, _, err := s.gw.OpenStored(ctx, m, m.MDNKey)
	if as2gate.ErrorCode(err) == as2gate.ENotFound {
		return nil, noMDN
	}
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxStoredMDN+1))
	if err != nil {
		return nil, as2gate.Wrap(as2gate.EInternal, err, "cannot read the MDN of message %s", id)
	}
	if len(b) > maxStoredMDN {
		return nil, as2gate.Errorf(as2gate.ETooLarge, "the MDN of message %s is over %d bytes", id, maxStoredMDN)
	}
	return b, nil
}

// ResendMessage queues a message sent before again, with the same
// Message-ID.
func (s *Service) ResendMessage(ctx context.Context, id string) (_ *client.Message, err error) {
	defer s.record(ctx, "outbox.resend", &id, &err)
	m, err := s.gw.Resend(ctx, id)
	if err != nil {
		return nil, err
	}
	out := toMessage(m)
	return &out, nil
}

// CancelMessage stops a message still queued.
func (s *Service) CancelMessage(ctx context.Context, id string) (_ *client.Message, err error) {
	defer s.record(ctx, "outbox.cancel", &id, &err)
	m, err := s.gw.Cancel(ctx, id)
	if err != nil {
		return nil, err
	}
	out := toMessage(m)
	return &out, nil
}
