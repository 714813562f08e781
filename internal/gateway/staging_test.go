package gateway

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/as2gate/as2gate"
	"github.com/as2gate/as2gate/internal/fsblob"
	"github.com/as2gate/as2gate/internal/pki"
	"github.com/as2gate/as2gate/internal/secretbox"
	"github.com/as2gate/as2gate/internal/sqlstore"
)

// openStores opens a SQLite store and a blob store in a test's folder.
func openStores(t *testing.T) (*sqlstore.Store, *fsblob.Store) {
	t.Helper()
	dir := t.TempDir()
	store, err := sqlstore.Open(context.Background(), "sqlite:"+filepath.Join(dir, "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	blobs, err := fsblob.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	return store, blobs
}

// TestSweep: staged blobs of a recorded message are moved into place, those
// of a message never recorded go once they are old.
func TestSweep(t *testing.T) {
	ctx := context.Background()
	store, blobs := openStores(t)
	now := time.Now()
	g := New(store, blobs, nil, Options{TempDir: blobs.TempDir(), Now: func() time.Time { return now },
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})

	keys := as2gate.KeysFor("ST", "PA", as2gate.Inbound, "1-x")
	m := &as2gate.Message{ID: as2gate.NewID(), Direction: as2gate.Inbound, StationAS2ID: "ST", PartnerAS2ID: "PA",
		MessageID: "<m@x>", Status: as2gate.StatusRejected, MDNMode: as2gate.MDNNone, Folder: keys.Folder, RawKey: keys.Raw,
		MDNKey: keys.MDN, Files: []as2gate.File{{Name: "a.x12", ContentType: "application/edi-x12", Size: 1, Key: keys.Folder + "/a.x12"}}}
	if err := store.CreateMessage(ctx, m); err != nil {
		t.Fatal(err)
	}
	orphan := as2gate.NewID()
	for _, k := range []string{stagedFile(m.ID, 0), stagedRaw(m.ID), stagedMDN(m.ID), stagedRaw(orphan)} {
		blobs.Put(ctx, k, strings.NewReader("x"))
	}
	// The record's file can be read before the sweep.
	if rc, _, err := g.OpenStored(ctx, m, m.Files[0].Key); err != nil {
		t.Fatalf("reading a staged file: %v", err)
	} else {
		rc.Close()
	}
	g.sweep(ctx)
	for _, k := range []string{m.Files[0].Key, m.RawKey, m.MDNKey, stagedRaw(orphan)} {
		if _, err := blobs.Stat(ctx, k); err != nil {
			t.Fatalf("%s: %v", k, err)
		}
	}
	now = now.Add(stagingGrace + time.Minute)
	g.sweep(ctx)
	if _, err := blobs.Stat(ctx, stagedRaw(orphan)); as2gate.ErrorCode(err) != as2gate.ENotFound {
		t.Fatalf("an old orphan was kept: %v", err)
	}
	if left, _ := blobs.List(ctx, stagingPrefix); len(left) != 0 {
		t.Fatalf("staged blobs left: %v", left)
	}
}

// lostAnswerStore records messages and then reports a failure, as when
// the connection to the database is lost after the commit.
type lostAnswerStore struct{ as2gate.Store }

func (s lostAnswerStore) CreateMessage(ctx context.Context, m *as2gate.Message, jobs ...as2gate.Job) error {
	if err := s.Store.CreateMessage(ctx, m, jobs...); err != nil {
		return err
	}
	return errors.New("connection lost")
}

// TestRecordedDespiteAnError: when recording fails in a way that may
// have committed, the staged files stay, and the sweep puts them in place.
func TestRecordedDespiteAnError(t *testing.T) {
	ctx := context.Background()
	store, blobs := openStores(t)
	key := make([]byte, 32)
	rand.Read(key)
	box, _ := secretbox.New(key)
	g := New(lostAnswerStore{store}, blobs, box, Options{TempDir: blobs.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	k, c, err := pki.GenerateSelfSigned(pki.SelfSignedOptions{CommonName: "ST", KeyBits: 2048, ValidYears: 1})
	if err != nil {
		t.Fatal(err)
	}
	p12, _ := pki.EncodePKCS12(k, c, nil, "pw")
	cert, err := g.ImportCertificate(ctx, "ST key", p12, "pw")
	if err != nil {
		t.Fatal(err)
	}
	if err := g.CreateStation(ctx, &as2gate.Station{AS2ID: "ST", CertID: cert.ID}); err != nil {
		t.Fatal(err)
	}
	if err := g.CreatePartner(ctx, &as2gate.Partner{AS2ID: "PA", URL: "http://127.0.0.1:9/as2"}); err != nil {
		t.Fatal(err)
	}

	_, err = g.Send(ctx, SendRequest{Station: "ST", Partner: "PA", Files: Uploads(Upload{Name: "order.x12", Content: strings.NewReader("ISA*00~")})})
	if err == nil {
		t.Fatal("Send reported no error")
	}
	list, err := store.ListMessages(ctx, as2gate.MessageFilter{Direction: as2gate.Outbound})
	if err != nil || len(list) != 1 {
		t.Fatalf("recorded: %d messages, %v", len(list), err)
	}
	m := list[0]
	g.sweep(ctx)
	rc, _, err := blobs.Open(ctx, m.Files[0].Key)
	if err != nil {
		t.Fatalf("the recorded message's file is gone: %v", err)
	}
	defer rc.Close()
	if b, _ := io.ReadAll(rc); string(b) != "ISA*00~" {
		t.Fatalf("file %q", b)
	}
}
