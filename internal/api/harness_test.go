package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/as2gate/as2gate"
	"github.com/as2gate/as2gate/client"
	"github.com/as2gate/as2gate/internal/as2"
	"github.com/as2gate/as2gate/internal/fsblob"
	"github.com/as2gate/as2gate/internal/gateway"
	"github.com/as2gate/as2gate/internal/gatewaytest"
	"github.com/as2gate/as2gate/internal/mime"
	"github.com/as2gate/as2gate/internal/pki"
	"github.com/as2gate/as2gate/internal/service"
	"github.com/as2gate/as2gate/internal/sqlstore"
	"github.com/as2gate/as2gate/internal/testpeer"
)

// env is a real API server over a real installation on SQLite in a
// temporary folder. No gateway workers run: messages sent stay queued.
type env struct {
	t      *testing.T
	clock  *gatewaytest.Clock
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
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	inst := gatewaytest.New(t, gateway.Options{Logger: quiet})
	gw, store, blobs := inst.Gateway, inst.Store, inst.Blobs
	if o.access == 0 {
		o.access, o.refresh = service.DefaultAccessTTL, service.DefaultRefreshTTL
	}
	clock := &gatewaytest.Clock{}
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
