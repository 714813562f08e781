package gateway_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/as2gate/as2gate"
	"github.com/as2gate/as2gate/internal/as2http"
	"github.com/as2gate/as2gate/internal/cms"
	"github.com/as2gate/as2gate/internal/fsblob"
	"github.com/as2gate/as2gate/internal/gateway"
	"github.com/as2gate/as2gate/internal/gatewaytest"
	"github.com/as2gate/as2gate/internal/pki"
	"github.com/as2gate/as2gate/internal/sqlstore"
)

// node is one as2gate installation with one station, its AS2 listener on
// loopback and its workers running.
type node struct {
	gw      *gateway.Gateway
	store   *sqlstore.Store
	blobs   *fsblob.Store
	srv     *httptest.Server
	station *as2gate.Station
	cert    *as2gate.Certificate
	clock   *gatewaytest.Clock
	dir     string
}

var (
	certCacheMu sync.Mutex
	certCache   = map[string][]byte{} // PKCS#12 of generated test identities, by name
)

// identityP12 returns a PKCS#12 key pair for name, generated once per run.
func identityP12(t *testing.T, name string) []byte {
	certCacheMu.Lock()
	defer certCacheMu.Unlock()
	if b, ok := certCache[name]; ok {
		return b
	}
	key, cert, err := pki.GenerateSelfSigned(pki.SelfSignedOptions{CommonName: name, KeyBits: 2048, ValidYears: 1})
	if err != nil {
		t.Fatal(err)
	}
	b, err := pki.EncodePKCS12(key, cert, nil, "pw")
	if err != nil {
		t.Fatal(err)
	}
	certCache[name] = b
	return b
}

func newNode(t *testing.T, as2ID string) *node {
	t.Helper()
	return newNodeWith(t, as2ID, nil)
}

// newNodeWith is newNode with changed gateway options.
func newNodeWith(t *testing.T, as2ID string, change func(*gateway.Options)) *node {
	t.Helper()
	ctx := context.Background()
	n := &node{clock: &gatewaytest.Clock{}}
	var handler http.Handler
	n.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	opt := gateway.Options{
		PublicURL: n.srv.URL + "/as2", Workers: 2, PollInterval: 20 * time.Millisecond,
		Lease: 10 * time.Second, SendScanInterval: 50 * time.Millisecond, Now: n.clock.Now,
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	if change != nil {
		change(&opt)
	}
	inst := gatewaytest.New(t, opt)
	n.gw, n.store, n.blobs, n.dir = inst.Gateway, inst.Store, inst.Blobs, inst.Dir
	handler = as2http.New(n.gw)
	var err error
	n.cert, err = n.gw.ImportCertificate(ctx, as2ID+" key", identityP12(t, as2ID), "pw")
	if err != nil {
		t.Fatal(err)
	}
	n.station = &as2gate.Station{AS2ID: as2ID, Name: as2ID, CertID: n.cert.ID}
	if err := n.gw.CreateStation(ctx, n.station); err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		n.gw.Run(runCtx)
		close(done)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		n.srv.Close()
	})
	return n
}

// testWriter sends log lines to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}

// partnerOf makes b a partner of a, with a's view of b's certificate.
func (a *node) partnerOf(t *testing.T, b *node, change func(*as2gate.Partner)) *as2gate.Partner {
	t.Helper()
	ctx := context.Background()
	pem, err := b.gw.CertificatePEM(ctx, b.cert.ID)
	if err != nil {
		t.Fatal(err)
	}
	c, err := a.gw.ImportCertificate(ctx, b.station.AS2ID+" certificate", pem, "")
	if as2gate.ErrorCode(err) == as2gate.EConflict { // already imported for another partner
		certs, _ := a.store.ListCertificates(ctx)
		for _, x := range certs {
			if x.Fingerprint == b.cert.Fingerprint {
				c, err = x, nil
			}
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	p := &as2gate.Partner{AS2ID: b.station.AS2ID, URL: b.srv.URL + "/as2", EncryptCertID: c.ID,
		Sign: "sha256", Encrypt: "aes256-cbc", MDN: as2gate.MDNSync, MDNSigned: true, RetryDelay: time.Second}
	if change != nil {
		change(p)
	}
	if err := a.gw.CreatePartner(ctx, p); err != nil {
		t.Fatal(err)
	}
	return p
}

func (n *node) send(t *testing.T, to *as2gate.Partner, name string, content []byte) *as2gate.Message {
	t.Helper()
	m, err := n.gw.Send(context.Background(), gateway.SendRequest{Station: n.station.AS2ID, Partner: to.AS2ID,
		Files: gateway.Uploads(gateway.Upload{Name: name, Content: bytes.NewReader(content)})})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// waitFinal waits until a message reaches a final status.
func (n *node) waitFinal(t *testing.T, id string) *as2gate.Message {
	t.Helper()
	var m *as2gate.Message
	waitFor(t, 20*time.Second, func() bool {
		var err error
		m, err = n.store.GetMessage(context.Background(), id)
		return err == nil && m.Status.Final()
	})
	return m
}

func waitFor(t *testing.T, limit time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// inbound returns the messages a node received.
func (n *node) inbound(t *testing.T) []*as2gate.Message {
	t.Helper()
	ms, err := n.store.ListMessages(context.Background(), as2gate.MessageFilter{Direction: as2gate.Inbound})
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// readFile reads a message's file as the API does: it may still be staged
// for a moment after the message is recorded.
func (n *node) readFile(t *testing.T, m *as2gate.Message, i int) []byte {
	t.Helper()
	rc, _, err := n.gw.OpenStored(context.Background(), m, m.Files[i].Key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	return b
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func signer(b *pki.Bundle) *cms.Signer {
	return &cms.Signer{Key: b.Key, Cert: b.Certs[0], Digest: crypto.SHA256}
}

func encryptTo(c *x509.Certificate) *cms.EncryptOptions {
	return &cms.EncryptOptions{Cipher: cms.AES256CBC, Recipients: []*x509.Certificate{c}}
}

// newProxy forwards to a node's listener, answering 503 while fail says so.
func newProxy(t *testing.T, to *node, fail func() bool) string {
	var proxy http.Handler = http.NotFoundHandler()
	if to != nil {
		target, _ := url.Parse(to.srv.URL)
		proxy = httputil.NewSingleHostReverseProxy(target)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fail() {
			io.Copy(io.Discard, r.Body)
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// newSink accepts every message and never sends an MDN.
func newSink(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// newFailing refuses every message.
func newFailing(t *testing.T) string {
	return newProxy(t, nil, func() bool { return true })
}
