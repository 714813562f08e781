package gateway

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"iter"

	"github.com/as2gate/as2gate"
	"github.com/as2gate/as2gate/internal/as2"
	"github.com/as2gate/as2gate/internal/mime"
)

// Upload is a file to send.
type Upload struct {
	Name        string
	ContentType string // detected from the name and content when empty
	Content     io.Reader
}

// SendRequest asks for a message to be sent.
type SendRequest struct {
	Station string // AS2 identifier or record ID
	Partner string
	Subject string // the partner's default when empty
	// Files yields the files one after the other; each is read to its
	// end before the next is asked for, so that they can be the parts
	// of an upload streamed as it arrives.
	Files iter.Seq2[Upload, error]
}

// Uploads yields files at hand.
func Uploads(files ...Upload) iter.Seq2[Upload, error] {
	return func(yield func(Upload, error) bool) {
		for _, f := range files {
			if !yield(f, nil) {
				return
			}
		}
	}
}

// MaxFiles bounds the files of one message.
const MaxFiles = 1000

// Send stores the files durably, records the message and queues it; the
// workers send it. When Send returns, the message is accepted: it will be
// delivered or visibly fail, whatever happens to this process.
func (g *Gateway) Send(ctx context.Context, r SendRequest) (_ *as2gate.Message, err error) {
	if r.Files == nil {
		return nil, as2gate.Invalid("files", "a message needs at least one file")
	}
	// An unknown station or partner is a bad request, not a missing
	// resource: the request names them, the URL does not.
	st, err := g.Station(ctx, r.Station)
	if as2gate.ErrorCode(err) == as2gate.ENotFound {
		return nil, as2gate.Invalid("station", "no station %q", r.Station)
	} else if err != nil {
		return nil, err
	}
	p, err := g.Partner(ctx, r.Partner)
	if as2gate.ErrorCode(err) == as2gate.ENotFound {
		return nil, as2gate.Invalid("partner", "no partner %q", r.Partner)
	} else if err != nil {
		return nil, err
	}
	if len(r.Subject) > 998 {
		return nil, as2gate.Invalid("subject", "longer than 998 characters")
	}
	m := g.newOutbound(st, p, r.Subject)
	staged := &stagedBlobs{g: g}
	defer func() {
		if err != nil { // a message refused leaves no file behind
			staged.discard(ctx)
		}
	}()
	used := map[string]bool{}
	i := 0
	for u, err := range r.Files {
		if err != nil {
			return nil, err
		}
		if i == MaxFiles {
			return nil, as2gate.Invalid("files", "a message has at most %d files", MaxFiles)
		}
		if u.Content == nil {
			return nil, as2gate.Invalid("files", "file %d has no content", i+1)
		}
		i++
		name := mime.SafeFilename(u.Name)
		if name == "" {
			name = fmt.Sprintf("attachment-%d", i)
		}
		name = storedName(name, used)
		br := bufio.NewReaderSize(u.Content, 64<<10)
		head, _ := br.Peek(512)
		ct := u.ContentType
		if ct == "" {
			ct = p.ContentType
		}
		if ct == "" {
			ct = as2.DetectContentType(name, head)
		}
		if _, _, err := mime.ParseMediaType(ct); err != nil || len(ct) > 200 {
			return nil, as2gate.Invalid("content_type", "%q is not a content type", ct)
		}
		h := sha256.New()
		n, err := g.blobs.Put(ctx, stagedFile(m.ID, len(m.Files)), io.TeeReader(br, h))
		if err != nil {
			return nil, err
		}
		staged.add(stagedFile(m.ID, len(m.Files)))
		key := m.Folder + "/" + as2gate.KeyElement(name)
		m.Files = append(m.Files, as2gate.File{Name: name, ContentType: ct, Size: n, Key: key, SHA256: hex.EncodeToString(h.Sum(nil))})
		m.Size += n
	}
	if i == 0 {
		return nil, as2gate.Invalid("files", "a message needs at least one file")
	}
	job := as2gate.Job{ID: as2gate.NewID(), Kind: as2gate.JobSend, MessageID: m.ID, RunAt: m.CreatedAt}
	if err := g.store.CreateMessage(context.WithoutCancel(ctx), m, job); err != nil {
		staged.recordFailed(ctx, err)
		return nil, err
	}
	staged.promote(ctx, m)
	g.notify()
	g.log.Info("message queued", "id", m.ID, "message_id", m.MessageID, "station", st.AS2ID, "partner", p.AS2ID, "files", len(m.Files), "bytes", m.Size)
	return m, nil
}

// newOutbound prepares the record of a message to send.
func (g *Gateway) newOutbound(st *as2gate.Station, p *as2gate.Partner, subject string) *as2gate.Message {
	now := g.now()
	keys := as2gate.KeysFor(st.AS2ID, p.AS2ID, as2gate.Outbound, as2gate.NewFolderName(now))
	if subject == "" {
		subject = p.Subject
	}
	return &as2gate.Message{
		ID: as2gate.NewID(), Direction: as2gate.Outbound, StationID: st.ID, PartnerID: p.ID,
		StationAS2ID: st.AS2ID, PartnerAS2ID: p.AS2ID, MessageID: as2.NewMessageID(st.AS2ID), Subject: subject,
		Status: as2gate.StatusQueued, MDNMode: p.MDN, MDNSigned: p.MDNSigned,
		Folder: keys.Folder, RawKey: keys.Raw, MDNKey: keys.MDN,
		CreatedAt: now, UpdatedAt: now,
	}
}

// Resend queues a message again with the same Message-ID (the partner
// recognises it as the same message).
func (g *Gateway) Resend(ctx context.Context, id string) (*as2gate.Message, error) {
	m, err := g.retryUpdate(ctx, id, func(m *as2gate.Message) (bool, as2gate.JobChange, error) {
		if m.Direction != as2gate.Outbound {
			return false, as2gate.JobChange{}, as2gate.Errorf(as2gate.EInvalid, "only sent messages can be resent")
		}
		if !m.Status.Final() {
			return false, as2gate.JobChange{}, as2gate.Errorf(as2gate.EConflict, "message %s is still %s", m.ID, m.Status)
		}
		m.Status, m.Reason, m.CompletedAt, m.MICMatched = as2gate.StatusQueued, "", timeZero, nil
		m.MDNDisposition, m.MDNMessageID, m.MDNStatus = "", "", ""
		return true, as2gate.JobChange{Enqueue: []as2gate.Job{{ID: as2gate.NewID(), Kind: as2gate.JobSend, MessageID: m.ID, RunAt: g.now()}}}, nil
	})
	if err == nil {
		g.notify()
	}
	return m, err
}

// Cancel stops a message that is still queued.
func (g *Gateway) Cancel(ctx context.Context, id string) (*as2gate.Message, error) {
	return g.retryUpdate(ctx, id, func(m *as2gate.Message) (bool, as2gate.JobChange, error) {
		if m.Direction != as2gate.Outbound || m.Status != as2gate.StatusQueued {
			return false, as2gate.JobChange{}, as2gate.Errorf(as2gate.EConflict, "only a queued message can be canceled; %s is %s", m.ID, m.Status)
		}
		m.Status, m.Reason, m.CompletedAt = as2gate.StatusCanceled, "canceled by a user", g.now()
		return true, as2gate.JobChange{CancelKinds: []as2gate.JobKind{as2gate.JobSend}}, nil
	})
}
