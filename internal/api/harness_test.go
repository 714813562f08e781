package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/as2gate/as2gate"
	"github.com/as2gate/as2gate/client"
	"github.com/as2gate/as2gate/internal/as2"
	"github.com/as2gate/as2gate/internal/fsblob"
	"github.com/as2gate/as2gate/internal/gateway"
	"github.com/as2gate/as2gate/internal/mime"
	"github.com/as2gate/as2gate/internal/pki"
	"github.com/as2gate/as2gate/internal/secretbox"
	"github.com/as2gate/as2gate/internal/service"
	"github.com/as2gate/as2gate/internal/sqlstore"
	"github.com/as2gate/as2gate/internal/testpeer"
)

// env is a real API server over a real installation on SQLite in a
// temporary folder. No gateway workers run: messages sent stay queued.
type env struct {
	t      *testing.T
	clock  *testClock
	srv    *httptest.Server
	api    *API
	routed map[string]bool // the patterns requests matched
	svc    *service.Service
	store  *sqlstore.Store
	blobs  *fsblob.Store
	tokens map[string]string // role -> access token of a user with that role
}

const testPassword = "a long enough password"

type envOptions struct {
	access, refresh time.Duration
	limit           LoginLimit
}

func newEnv(t *testing.T, o envOptions) *env {
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
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	gw := gateway.New(store, blobs, box, gateway.Options{TempDir: blobs.TempDir(), Logger: quiet})
	if o.access == 0 {
		o.access, o.refresh = service.DefaultAccessTTL, service.DefaultRefreshTTL
	}
	clock := &testClock{}
	svc := service.New(gw, service.TokenLifetimes(o.access, o.refresh), service.Logger(quiet), service.Clock(clock.Now))
	a := New(svc, Options{Logger: quiet, LoginLimit: o.limit, Now: clock.Now})
	mux := http.NewServeMux()
	mux.Handle(Prefix+"/", a)
	e := &env{t: t, clock: clock, srv: httptest.NewServer(mux), api: a, routed: map[string]bool{}, svc: svc, store: store, blobs: blobs, tokens: map[string]string{}}
	t.Cleanup(e.srv.Close)
	ctx := service.WithActor(context.Background(), "setup", "")
	for _, role := range []string{"admin", "manager", "operator", "viewer"} {
		if _, err := svc.CreateUser(ctx, client.UserInput{Username: ptr(role + "-user"), Password: ptr(testPassword), Role: ptr(role)}); err != nil {
			t.Fatal(err)
		}
		e.tokens[role] = e.login(role+"-user", testPassword).AccessToken
	}
	return e
}

func ptr[T any](v T) *T { return &v }

func (e *env) login(user, pw string) client.Tokens {
	e.t.Helper()
	var tok client.Tokens
	e.call("POST", "/auth/token", "", client.TokenRequest{Username: user, Password: pw}).want(200).decode(&tok)
	return tok
}

// response is what the server answered.
type response struct {
	t      *testing.T
	status int
	header http.Header
	body   []byte
}

// call sends a request: body is nil, a string or []byte sent as is, or a
// value sent as JSON. headers are name, value pairs.
func (e *env) call(method, path, token string, body any, headers ...string) *response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	case io.Reader:
		rd = b
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.srv.URL+Prefix+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	if _, pattern := e.api.mux.Handler(req); pattern != "" {
		e.routed[pattern] = true
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return &response{t: e.t, status: res.StatusCode, header: res.Header, body: data}
}

func (r *response) want(status int) *response {
	r.t.Helper()
	if r.status != status {
		r.t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	return r
}

// wantError checks an error answer: status, code, and the field named.
func (r *response) wantError(status int, code, field string) *response {
	r.t.Helper()
	r.want(status)
	var body client.ErrorBody
	if err := json.Unmarshal(r.body, &body); err != nil {
		r.t.Fatalf("error body %q: %v", r.body, err)
	}
	if body.Error.Code != code || body.Error.Field != field || body.Error.Message == "" {
		r.t.Fatalf("error %+v, want code %q field %q", body.Error, code, field)
	}
	return r
}

func (r *response) decode(v any) {
	r.t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		r.t.Fatalf("decoding %q: %v", r.body, err)
	}
}

// world adds a station ST and a partner PA, and returns the record ID of
// a queued outbound message and of a received one.
func (e *env) world() (out, in string) {
	e.t.Helper()
	ctx := service.WithActor(context.Background(), "setup", "")
	if _, err := e.svc.CreateStation(ctx, client.StationInput{AS2ID: ptr("ST")}); err != nil {
		e.t.Fatal(err)
	}
	cert, err := e.svc.ImportCertificate(ctx, client.CertificateImport{Data: pki.EncodeCertPEM(testpeer.NewIdentity(e.t, "api partner").Cert)})
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.svc.CreatePartner(ctx, client.PartnerInput{AS2ID: ptr("PA"), URL: ptr("http://127.0.0.1:9/as2"), EncryptCertID: &cert.ID}); err != nil {
		e.t.Fatal(err)
	}
	m, err := e.svc.Send(ctx, client.SendRequest{Station: "ST", Partner: "PA", Subject: "out",
		Files: []client.SendFile{{Name: "order.x12", Content: strings.NewReader("ISA*00*0123456789~")}}})
	if err != nil {
		e.t.Fatal(err)
	}
	return m.ID, e.received("<in-1@pa>")
}

// received stores an inbound message as the gateway would: a file, the
// raw message and the (unsigned) MDN we returned.
func (e *env) received(as2ID string) string {
	e.t.Helper()
	ctx := context.Background()
	keys := as2gate.KeysFor("ST", "PA", as2gate.Inbound, as2gate.NewFolderName(time.Now()))
	m := &as2gate.Message{Direction: as2gate.Inbound, StationAS2ID: "ST", PartnerAS2ID: "PA", MessageID: as2ID,
		Status: as2gate.StatusReceived, Folder: keys.Folder, RawKey: keys.Raw, MDNKey: keys.MDN, Size: 10,
		Files: []as2gate.File{{Name: "invoice.edi", ContentType: "application/edifact", Key: keys.Folder + "/invoice.edi", Size: 10, SHA256: "abc"}}}
	put := func(key, data string) {
		if _, err := e.blobs.Put(ctx, key, strings.NewReader(data)); err != nil {
			e.t.Fatal(err)
		}
	}
	put(m.Files[0].Key, "0123456789")
	put(m.RawKey, "AS2-From: PA\r\nAS2-To: ST\r\nMessage-ID: "+as2ID+"\r\n\r\nbody")
	mdn, err := as2.BuildMDN(as2.MDNOptions{From: "ST", To: "PA", OriginalMessageID: as2ID, Disposition: as2.Processed()})
	if err != nil {
		e.t.Fatal(err)
	}
	var capture bytes.Buffer
	mime.WriteHeader(&capture, mdn.Header)
	capture.Write(mdn.Body)
	put(m.MDNKey, capture.String())
	if err := e.store.CreateMessage(ctx, m); err != nil {
		e.t.Fatal(err)
	}
	return m.ID
}

// snapshot is everything a change could touch but the audit log, to
// check that a refused request changed nothing.
func (e *env) snapshot() string {
	e.t.Helper()
	ctx := context.Background()
	var parts []any
	add := func(v any, err error) {
		if err != nil {
			e.t.Fatal(err)
		}
		parts = append(parts, v)
	}
	add(e.store.ListUsers(ctx))
	add(e.store.ListAPIKeys(ctx))
	add(e.store.ListCertificates(ctx))
	add(e.store.ListStations(ctx))
	add(e.store.ListPartners(ctx))
	add(e.store.ListMessages(ctx, as2gate.MessageFilter{Limit: 1000}))
	b, err := json.Marshal(parts)
	if err != nil {
		e.t.Fatal(err)
	}
	return string(b)
}

func jsonDecode(r io.Reader, v any) error { return json.NewDecoder(r).Decode(v) }

// testClock is the clock of the service and the rate limiter: real time
// moved forward by the test, so that expiries do not depend on how fast
// the machine is.
type testClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}
