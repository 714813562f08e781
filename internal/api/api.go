// Package api is the REST API of as2gate under /api/v1: JSON over HTTP on
// the admin listener, described by an OpenAPI 3.0 document generated from
// the same route table that builds the router (routes.go), so that the two
// cannot drift. Handlers are thin: the work, and the audit log of every
// change, is internal/service's.
package api

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/as2gate/as2gate"
	"github.com/as2gate/as2gate/client"
	"github.com/as2gate/as2gate/internal/service"
)

// Prefix is where the API is mounted.
const Prefix = "/api/v1"

// Options tune the API.
type Options struct {
	Logger *slog.Logger // slog.Default() when nil
	// Login rate limit: Failures failed logins per username or client
	// address within Window lock it out for Lockout, doubled with each
	// lockout up to MaxLockout. Zero values take the defaults.
	LoginLimit LoginLimit
	// Now is the clock of the rate limiter; time.Now when nil.
	Now func() time.Time
}

// API serves the REST API.
type API struct {
	svc      *service.Service
	log      *slog.Logger
	mux      *http.ServeMux
	limiter  *limiter
	openapi  []byte
	patterns []string // every pattern registered on mux, for the tests
}

// New returns the API over svc.
func New(svc *service.Service, opts Options) *API {
	a := &API{svc: svc, log: opts.Logger, mux: http.NewServeMux(), limiter: newLimiter(opts.LoginLimit)}
	if opts.Now != nil {
		a.limiter.now = opts.Now
	}
	if a.log == nil {
		a.log = slog.Default()
	}
	for _, rt := range routes {
		pattern := rt.method + " " + Prefix + rt.path
		a.mux.Handle(pattern, a.handler(rt))
		a.patterns = append(a.patterns, pattern)
	}
	a.openapi = openAPIDocument(routes)
	return a
}

// ServeHTTP logs each request and answers those that match no route in
// the API's error shape: 404, or 405 with Allow.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	h, pattern := a.mux.Handler(r)
	if pattern == "" {
		// The mux's own answer, recorded to be given in our shape.
		rec := &headerRecorder{header: http.Header{}}
		h.ServeHTTP(rec, r)
		if rec.status == http.StatusMethodNotAllowed {
			sw.Header().Set("Allow", rec.header.Get("Allow"))
			a.writeError(sw, r, as2gate.Errorf(as2gate.EInvalid, "method %s not allowed here", r.Method), http.StatusMethodNotAllowed)
		} else {
			a.writeError(sw, r, as2gate.Errorf(as2gate.ENotFound, "no such route: %s %s", r.Method, r.URL.Path), 0)
		}
	} else {
		a.mux.ServeHTTP(sw, r)
	}
	// Method and path only: query strings, headers and bodies may carry
	// what the log must not (a token sent by mistake, a password).
	a.log.Info("api request", "method", r.Method, "path", r.URL.Path, "status", sw.status, "bytes", sw.bytes,
		"duration", time.Since(start).Round(time.Microsecond), "remote", remoteAddr(r), "actor", sw.actor)
}

type principalKey struct{}

// principal is who the request acts as; nil on routes without authentication.
func principal(r *http.Request) *client.Principal {
	p, _ := r.Context().Value(principalKey{}).(*client.Principal)
	return p
}

// handler runs a route: authentication, permission, the handler, and the
// audit entry of a change refused before the service saw it.
func (a *API) handler(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := service.WithActor(r.Context(), "", remoteAddr(r))
		if rt.perm != permNone {
			p, err := a.authenticate(ctx, r)
			if err != nil {
				a.writeError(w, r, err, 0)
				return
			}
			if sw, ok := w.(*statusWriter); ok {
				sw.actor = service.ActorName(p)
			}
			ctx = service.WithActor(context.WithValue(ctx, principalKey{}, p), service.ActorName(p), remoteAddr(r))
		}
		r = r.WithContext(ctx)
		if rt.secret {
			w.Header().Set("Cache-Control", "no-store")
		}
		err := a.authorize(r, rt)
		if err == nil {
			err = checkParams(r, rt)
		}
		if err == nil {
			err = rt.handle(a, w, r)
		}
		if rt.action != "" && rt.perm != permNone && !service.Recorded(ctx) {
			a.svc.Audit(ctx, rt.action, auditTarget(r, rt), err)
		}
		if err != nil {
			a.writeError(w, r, err, 0)
		}
	})
}

// auditTarget names what a refused change was about: its path parameter.
func auditTarget(r *http.Request, rt route) string {
	for _, p := range pathParams(rt.path) {
		return r.PathValue(p)
	}
	return ""
}

func (a *API) authenticate(ctx context.Context, r *http.Request) (*client.Principal, error) {
	auth := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(auth, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return nil, as2gate.Errorf(as2gate.EUnauthorized, "send Authorization: Bearer with an access token or an API key")
	}
	return a.svc.Authenticate(ctx, strings.TrimSpace(token))
}

func (a *API) authorize(r *http.Request, rt route) error {
	switch rt.perm {
	case permNone, permAuthenticated:
		return nil
	}
	p := principal(r)
	if !as2gate.Role(p.Role).Can(as2gate.Permission(rt.perm)) {
		return as2gate.Errorf(as2gate.EForbidden, "role %s may not do this (it needs the %s permission)", p.Role, rt.perm)
	}
	return nil
}

// remoteAddr is the client's address. X-Forwarded-For is not trusted: any
// client can send it.
func remoteAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// statusWriter remembers what was answered, for the request log.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
	actor  string
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// headerRecorder takes the mux's answer to an unmatched request.
type headerRecorder struct {
	header http.Header
	status int
}

func (h *headerRecorder) Header() http.Header         { return h.header }
func (h *headerRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (h *headerRecorder) WriteHeader(status int)      { h.status = status }
