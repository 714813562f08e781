package gateway

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/as2gate/as2gate"
)

// A message's blobs are written under stagingPrefix first and moved to
// their places in AS2/files, AS2/raw-message and AS2/raw-mdn only once the
// message is recorded: people and programs that read the inbox and outbox
// folders (over SFTP or S3) never see a file without a message, nor a file
// twice when a partner resends after a crash. A crash after the record
// and before the move is repaired by the sweep (or by the send job);
// staged blobs whose message was never recorded are removed after
// stagingGrace.
const (
	stagingPrefix = "AS2/tmp/staging/"
	stagingGrace  = 24 * time.Hour
	sweepInterval = 10 * time.Minute
)

// Staged blob names: <message record ID>-raw, -mdn, -file-<index>.
func stagedRaw(id string) string         { return stagingPrefix + id + "-raw" }
func stagedMDN(id string) string         { return stagingPrefix + id + "-mdn" }
func stagedFile(id string, i int) string { return stagingPrefix + id + "-file-" + strconv.Itoa(i) }

// stagedKeys are the names m's blobs have while staged.
func stagedKeys(m *as2gate.Message) []string {
	keys := []string{stagedRaw(m.ID), stagedMDN(m.ID)}
	for i := range m.Files {
		keys = append(keys, stagedFile(m.ID, i))
	}
	return keys
}

// finalKey is where a staged blob of m belongs, "" if the name is not one.
func finalKey(m *as2gate.Message, staged string) string {
	suffix, ok := strings.CutPrefix(staged, stagingPrefix+m.ID+"-")
	if !ok {
		return ""
	}
	switch {
	case suffix == "raw":
		return m.RawKey
	case suffix == "mdn":
		return m.MDNKey
	case strings.HasPrefix(suffix, "file-"):
		i, err := strconv.Atoi(strings.TrimPrefix(suffix, "file-"))
		if err == nil && i >= 0 && i < len(m.Files) {
			return m.Files[i].Key
		}
	}
	return ""
}

// stagedBlobs tracks what a message staged, to promote or discard it.
type stagedBlobs struct {
	g    *Gateway
	mu   sync.Mutex // blobs are staged in parallel
	keys []string
}

func (s *stagedBlobs) add(key string) {
	s.mu.Lock()
	s.keys = append(s.keys, key)
	s.mu.Unlock()
}

// discard removes the staged blobs of a message that was not recorded.
func (s *stagedBlobs) discard(ctx context.Context) {
	for _, k := range s.keys {
		s.g.blobs.Delete(context.WithoutCancel(ctx), k)
	}
	s.keys = nil
}

// recordFailed handles the failure to record a message: when the store
// refused the record (a conflict, an invalid value), nothing was recorded
// and the staged blobs go. Any other failure may have come after the
// commit (a connection lost while it answered): the blobs stay, and the
// sweep moves them into place if the record exists or removes them once
// stagingGrace has passed without one.
func (s *stagedBlobs) recordFailed(ctx context.Context, err error) {
	switch as2gate.ErrorCode(err) {
	case as2gate.EConflict, as2gate.EInvalid:
		s.discard(ctx)
	default:
		s.keys = nil
	}
}

// promote moves the staged blobs of a recorded message to their places.
// The moves need not be durable (a crash may put a file back in staging)
// and a failure is only logged: the record exists, and the sweep or the
// send job finish the move.
func (s *stagedBlobs) promote(ctx context.Context, m *as2gate.Message) {
	for _, k := range s.keys {
		if err := s.g.blobs.Move(context.WithoutCancel(ctx), k, finalKey(m, k)); err != nil {
			s.g.log.Error("moving a stored file into place (the sweep will retry)", "message", m.ID, "key", k, "error", err)
		}
	}
}

// sweep finishes interrupted moves, removes staged blobs of messages
// never recorded, and removes temporary files a killed process left.
func (g *Gateway) sweep(ctx context.Context) {
	infos, err := g.blobs.List(ctx, stagingPrefix)
	if err != nil {
		g.log.Error("sweeping staged files", "error", err)
		return
	}
	now := g.now()
	for _, info := range infos {
		name := strings.TrimPrefix(info.Key, stagingPrefix)
		if len(name) < 27 || name[26] != '-' || !as2gate.IsID(name[:26]) {
			continue
		}
		m, err := g.store.GetMessage(ctx, name[:26])
		switch {
		case err == nil:
			if dst := finalKey(m, info.Key); dst != "" {
				if err := g.blobs.Move(ctx, info.Key, dst); err == nil {
					g.log.Info("an interrupted store was finished", "message", m.ID, "key", dst)
				}
			}
		case as2gate.ErrorCode(err) == as2gate.ENotFound && now.Sub(info.ModTime) > stagingGrace:
			g.blobs.Delete(ctx, info.Key)
		}
	}
	g.sweepTempDir(now)
}

// sweepTempDir removes temporary files untouched for stagingGrace: a
// process killed while receiving or sending leaves them behind. Files of
// transfers under way are written to, so they stay younger.
func (g *Gateway) sweepTempDir(now time.Time) {
	if g.opt.TempDir == "" {
		return
	}
	entries, err := os.ReadDir(g.opt.TempDir)
	if err != nil {
		return
	}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() || now.Sub(info.ModTime()) <= stagingGrace {
			continue
		}
		if err := os.Remove(filepath.Join(g.opt.TempDir, e.Name())); err == nil {
			g.log.Info("an abandoned temporary file was removed", "file", e.Name(), "size", info.Size())
		}
	}
}

// sweepPeriodically runs the sweep at start and then every sweepInterval.
func (g *Gateway) sweepPeriodically(ctx context.Context) {
	t := time.NewTicker(sweepInterval)
	defer t.Stop()
	for {
		g.sweep(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// ensureInPlace moves a recorded message's files into place when a crash
// left them staged or in the pickup area. The sweep and the send job may do
// it at once: whoever loses the race finds the file in place.
func (g *Gateway) ensureInPlace(ctx context.Context, m *as2gate.Message) error {
	for i, f := range m.Files {
		ok, err := g.exists(ctx, f.Key)
		if ok || err != nil {
			if err != nil {
				return err
			}
			continue
		}
		var moveErr error
		if staged, _ := g.exists(ctx, stagedFile(m.ID, i)); staged {
			moveErr = g.blobs.Move(ctx, stagedFile(m.ID, i), f.Key)
		} else if infos, err := g.blobs.List(ctx, pickupPrefix+m.ID+"/"); err == nil && len(infos) == 1 {
			moveErr = g.blobs.Move(ctx, infos[0].Key, f.Key)
		}
		if ok, err := g.exists(ctx, f.Key); ok || err != nil {
			if err != nil {
				return err
			}
			continue
		}
		if moveErr != nil {
			return moveErr
		}
		return as2gate.Errorf(as2gate.ENotFound, "the file %s of message %s is missing", f.Name, m.ID)
	}
	return nil
}

func (g *Gateway) exists(ctx context.Context, key string) (bool, error) {
	_, err := g.blobs.Stat(ctx, key)
	if as2gate.ErrorCode(err) == as2gate.ENotFound {
		return false, nil
	}
	return err == nil, err
}

// stagedName is the staging name of one of m's blob keys, "" if none.
func stagedName(m *as2gate.Message, key string) string {
	switch key {
	case "":
		return ""
	case m.RawKey:
		return stagedRaw(m.ID)
	case m.MDNKey:
		return stagedMDN(m.ID)
	}
	for i, f := range m.Files {
		if f.Key == key {
			return stagedFile(m.ID, i)
		}
	}
	return ""
}

// OpenStored reads one of m's blobs (a file, the raw message, the MDN),
// also in the moment between its record and its move into place.
func (g *Gateway) OpenStored(ctx context.Context, m *as2gate.Message, key string) (io.ReadCloser, int64, error) {
	rc, size, err := g.blobs.Open(ctx, key)
	if as2gate.ErrorCode(err) == as2gate.ENotFound {
		if staged := stagedName(m, key); staged != "" {
			if rc, size, serr := g.blobs.Open(ctx, staged); serr == nil {
				return rc, size, nil
			}
		}
	}
	return rc, size, err
}
