// Package gatewaytest sets up real gateways for the tests of the packages
// built on one: SQLite and blobs on the local disk in the test's temporary
// folder, sealed with a random master key.
package gatewaytest

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/as2gate/as2gate/internal/fsblob"
	"github.com/as2gate/as2gate/internal/gateway"
	"github.com/as2gate/as2gate/internal/secretbox"
	"github.com/as2gate/as2gate/internal/sqlstore"
)

// Installation is a gateway and what it keeps its data in.
type Installation struct {
	Dir     string
	Store   *sqlstore.Store
	Blobs   *fsblob.Store
	Gateway *gateway.Gateway
}

// New creates an installation in a temporary folder, closed when the test
// ends. Options left empty get the blob store's temporary folder and a
// logger that discards.
func New(t testing.TB, opt gateway.Options) *Installation {
	t.Helper()
	dir := t.TempDir()
	store, err := sqlstore.Open(context.Background(), "sqlite:"+filepath.Join(dir, "as2gate.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	blobs, err := fsblob.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	rand.Read(key)
	box, err := secretbox.New(key)
	if err != nil {
		t.Fatal(err)
	}
	if opt.TempDir == "" {
		opt.TempDir = blobs.TempDir()
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Installation{Dir: dir, Store: store, Blobs: blobs, Gateway: gateway.New(store, blobs, box, opt)}
}

// Clock is real time that a test moves forward, so that expiries do not
// depend on how fast the machine is.
type Clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}
