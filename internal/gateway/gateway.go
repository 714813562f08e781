// Package gateway is the AS2 gateway at work: it receives messages from
// partners and answers with MDNs, sends queued messages with retries, picks
// up files dropped for sending, and keeps every step durable in the Store
// and the BlobStore. Front-ends (the AS2 listener, the CLI, the REST API)
// call it; it calls no front-end.
package gateway

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/as2gate/as2gate"
)

// Sealer encrypts private keys at rest (internal/secretbox).
type Sealer interface {
	Seal(plaintext, associatedData []byte) ([]byte, error)
	Open(sealed, associatedData []byte) ([]byte, error)
}

// Options tune the gateway.
type Options struct {
	// PublicURL is our AS2 URL as partners reach it; async MDNs are asked
	// to come to PublicURL + "/mdn".
	PublicURL string
	// TempDir receives incoming bodies and payloads before they are
	// stored; on the blob store's file system they are renamed into place.
	TempDir          string
	Workers          int
	PollInterval     time.Duration
	Lease            time.Duration
	SendScanInterval time.Duration
	MaxBodySize      int64 // 0: unlimited
	MaxDecompressed  int64 // 0: unlimited
	Logger           *slog.Logger
	Now              func() time.Time
	// Transport is the HTTP transport for partners without their own TLS
	// trust (tests use it); nil: a clone of http.DefaultTransport.
	Transport http.RoundTripper
}

// Gateway runs the gateway over a store and a blob store.
type Gateway struct {
	store as2gate.Store
	blobs as2gate.BlobStore
	box   Sealer
	opt   Options
	log   *slog.Logger

	keys    sync.Map // certificate ID -> *keyPair, decrypted private keys
	certs   sync.Map // certificate ID -> *x509.Certificate
	clients sync.Map // partner ID -> *partnerClient
	wake    chan struct{}

	strangers strangerWindow // messages from unknown partners recorded lately
}

// New makes a gateway. Call Run to start its workers.
func New(store as2gate.Store, blobs as2gate.BlobStore, box Sealer, opt Options) *Gateway {
	if opt.Workers <= 0 {
		opt.Workers = 4
	}
	if opt.PollInterval <= 0 {
		opt.PollInterval = time.Second
	}
	if opt.Lease <= 0 {
		opt.Lease = 5 * time.Minute
	}
	if opt.SendScanInterval <= 0 {
		opt.SendScanInterval = 2 * time.Second
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	return &Gateway{store: store, blobs: blobs, box: box, opt: opt, log: opt.Logger, wake: make(chan struct{}, 1)}
}

// Store and Blobs give front-ends read access to what the gateway keeps.
func (g *Gateway) Store() as2gate.Store     { return g.store }
func (g *Gateway) Blobs() as2gate.BlobStore { return g.blobs }

func (g *Gateway) now() time.Time { return g.opt.Now().UTC() }

// notify wakes a worker for a job that is due now.
func (g *Gateway) notify() {
	select {
	case g.wake <- struct{}{}:
	default:
	}
}

// retryUpdate reads, changes and saves a message, reading it again when
// another writer changed it meanwhile (optimistic locking). change returns
// false when nothing is to be done any more.
func (g *Gateway) retryUpdate(ctx context.Context, id string, change func(m *as2gate.Message) (bool, as2gate.JobChange, error)) (*as2gate.Message, error) {
	for attempt := 0; ; attempt++ {
		m, err := g.store.GetMessage(ctx, id)
		if err != nil {
			return nil, err
		}
		ok, jobs, err := change(m)
		if err != nil || !ok {
			return m, err
		}
		err = g.store.UpdateMessage(ctx, m, jobs)
		if as2gate.ErrorCode(err) != as2gate.EConflict || attempt >= 10 {
			return m, err
		}
	}
}
