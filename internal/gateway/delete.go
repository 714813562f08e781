package gateway

import (
	"context"
	"errors"

	"github.com/as2gate/as2gate"
)

// DeleteMessage removes a message: its record and jobs first (a queued
// message is so canceled; one being sent is refused with EConflict), then
// its blobs: its files, the raw message and the raw MDN, wherever they are. A blob that
// cannot be removed is logged and reported in the error, the record being
// gone already; removing it again is the operator's task.
func (g *Gateway) DeleteMessage(ctx context.Context, id string) (*as2gate.Message, error) {
	m, err := g.store.DeleteMessage(ctx, id)
	if err != nil {
		return nil, err
	}
	ctx = context.WithoutCancel(ctx) // the record is gone: finish with its blobs
	keys := map[string]bool{}
	for _, f := range m.Files {
		keys[f.Key] = true
	}
	// Whatever else its folder holds (a file left by a crash), and its
	// copies not yet moved into place: left there, a picked-up file would
	// be recorded and sent again.
	for _, k := range stagedKeys(m) {
		keys[k] = true
	}
	prefixes := []string{pickupPrefix + m.ID + "/"}
	if m.Folder != "" {
		prefixes = append(prefixes, m.Folder+"/")
	}
	for _, prefix := range prefixes {
		list, err := g.blobs.List(ctx, prefix)
		if err != nil {
			g.log.Warn("listing the files of a deleted message", "id", m.ID, "prefix", prefix, "error", err)
		}
		for _, b := range list {
			keys[b.Key] = true
		}
	}
	for _, k := range []string{m.RawKey, m.MDNKey} {
		if k != "" {
			keys[k] = true
		}
	}
	var errs []error
	for k := range keys {
		if err := g.blobs.Delete(ctx, k); err != nil {
			g.log.Error("deleting a blob of a deleted message", "id", m.ID, "key", k, "error", err)
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return m, as2gate.Wrap(as2gate.EInternal, errors.Join(errs...), "message %s is deleted, but %d of its stored files are not", m.ID, len(errs))
	}
	g.log.Info("message deleted", "id", m.ID, "message_id", m.MessageID, "direction", m.Direction)
	return m, nil
}
