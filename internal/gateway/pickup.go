package gateway

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"strings"
	"time"

	"github.com/as2gate/as2gate"
	"github.com/as2gate/as2gate/internal/as2"
	"github.com/as2gate/as2gate/internal/mime"
)

// Files dropped under AS2/send/<station>/<partner>/ are sent once they
// stopped changing. Each is first renamed under pickupPrefix/<message ID>/,
// where the scanner no longer sees it, then recorded, then moved into the
// message's outbox folder; a crash between those steps is repaired by the
// next scan (which adopts what it finds under pickupPrefix) or by the send
// job (which finishes the move), so a dropped file is sent exactly once.
const (
	sendPrefix   = "AS2/send/"
	pickupPrefix = "AS2/tmp/pickup/"
)

type seen struct {
	size    int64
	modTime time.Time
}

// scanSendFolders watches AS2/send/ until ctx ends.
func (g *Gateway) scanSendFolders(ctx context.Context) {
	last := map[string]seen{}
	t := time.NewTicker(g.opt.SendScanInterval)
	defer t.Stop()
	for {
		g.adoptPickups(ctx)
		last = g.scanOnce(ctx, last)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// scanOnce picks up the files that are the same as at the previous scan.
func (g *Gateway) scanOnce(ctx context.Context, last map[string]seen) map[string]seen {
	infos, err := g.blobs.List(ctx, sendPrefix)
	if err != nil {
		g.log.Error("scanning the send folders", "error", err)
		return last
	}
	now := map[string]seen{}
	for _, info := range infos {
		cur := seen{info.Size, info.ModTime}
		if prev, ok := last[info.Key]; !ok || prev != cur {
			now[info.Key] = cur // new or still being written: look again next time
			continue
		}
		if err := g.pickUp(ctx, info.Key); err != nil {
			g.log.Warn("a file in the send folder was not picked up", "key", info.Key, "reason", as2gate.ErrorMessage(err))
			now[info.Key] = cur
		}
	}
	return now
}

// pickUp takes one file from the send folders.
func (g *Gateway) pickUp(ctx context.Context, key string) error {
	parts := strings.Split(strings.TrimPrefix(key, sendPrefix), "/")
	if len(parts) != 3 {
		return as2gate.Invalid("key", "files to send go in %s<station>/<partner>/", sendPrefix)
	}
	stationID, err1 := as2gate.ParseKeyElement(parts[0])
	partnerID, err2 := as2gate.ParseKeyElement(parts[1])
	if err1 != nil || err2 != nil {
		return as2gate.Invalid("key", "bad folder name")
	}
	// Check now, so that a file for an unknown pair stays where it is.
	if _, err := g.store.GetStationByAS2ID(ctx, stationID); err != nil {
		return err
	}
	if _, err := g.store.GetPartnerByAS2ID(ctx, partnerID); err != nil {
		return err
	}
	id := as2gate.NewID()
	tmp := pickupPrefix + id + "/" + parts[0] + "/" + parts[1] + "/" + parts[2]
	if err := g.blobs.Rename(ctx, key, tmp); err != nil {
		return err
	}
	return g.adopt(ctx, tmp)
}

// adoptPickups finishes pickups a crash interrupted.
func (g *Gateway) adoptPickups(ctx context.Context) {
	infos, err := g.blobs.List(ctx, pickupPrefix)
	if err != nil {
		g.log.Error("scanning interrupted pickups", "error", err)
		return
	}
	for _, info := range infos {
		if err := g.adopt(ctx, info.Key); err != nil {
			g.log.Warn("an interrupted pickup could not be finished", "key", info.Key, "reason", as2gate.ErrorMessage(err))
		}
	}
}

// adopt records the message of a picked-up file (once: its ID is in the
// key) and moves the file into the message's folder.
func (g *Gateway) adopt(ctx context.Context, tmp string) error {
	parts := strings.Split(strings.TrimPrefix(tmp, pickupPrefix), "/")
	if len(parts) != 4 {
		return as2gate.Invalid("key", "unexpected pickup key %s", tmp)
	}
	id := parts[0]
	m, err := g.store.GetMessage(ctx, id)
	if as2gate.ErrorCode(err) == as2gate.ENotFound {
		if m, err = g.recordPickup(ctx, id, parts[1], parts[2], parts[3], tmp); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	return g.ensureInPlace(ctx, m)
}

func (g *Gateway) recordPickup(ctx context.Context, id, stationEl, partnerEl, nameEl, tmp string) (*as2gate.Message, error) {
	stationID, _ := as2gate.ParseKeyElement(stationEl)
	partnerID, _ := as2gate.ParseKeyElement(partnerEl)
	name, err := as2gate.ParseKeyElement(nameEl)
	if err != nil {
		return nil, err
	}
	st, err := g.store.GetStationByAS2ID(ctx, stationID)
	if err != nil {
		return nil, err
	}
	p, err := g.store.GetPartnerByAS2ID(ctx, partnerID)
	if err != nil {
		return nil, err
	}
	rc, size, err := g.blobs.Open(ctx, tmp)
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	head := make([]byte, 512)
	n, _ := io.ReadFull(rc, head)
	h.Write(head[:n])
	_, err = io.Copy(h, rc)
	rc.Close()
	if err != nil {
		return nil, err
	}
	m := g.newOutbound(st, p, "")
	m.ID = id
	safe := mime.SafeFilename(name)
	if safe == "" {
		safe = "attachment"
	}
	safe = storedName(safe, map[string]bool{})
	ct := p.ContentType
	if ct == "" {
		ct = as2.DetectContentType(safe, head[:n])
	}
	m.Files = []as2gate.File{{Name: safe, ContentType: ct, Size: size, Key: m.Folder + "/" + as2gate.KeyElement(safe), SHA256: hex.EncodeToString(h.Sum(nil))}}
	m.Size = size
	err = g.store.CreateMessage(ctx, m, as2gate.Job{ID: as2gate.NewID(), Kind: as2gate.JobSend, MessageID: m.ID, RunAt: g.now()})
	if as2gate.ErrorCode(err) == as2gate.EConflict {
		return g.store.GetMessage(ctx, id) // recorded by another node meanwhile
	}
	if err != nil {
		return nil, err
	}
	g.notify()
	g.log.Info("file picked up for sending", "id", m.ID, "file", safe, "station", st.AS2ID, "partner", p.AS2ID)
	return m, nil
}
