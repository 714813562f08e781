// Package service is the management facade of the gateway: the operations
// that people and business systems call, taking and returning the types of
// the client package (the REST API's JSON).
//
// It has two front-ends: the REST API, whose handlers are thin wrappers over
// it, and the CLI, which calls it directly on a local installation. The
// REST client (client.Client) offers the same method set over HTTP, so that
// the CLI works on a remote server by swapping one for the other.
//
// Errors are as2gate.Errors with codes and, for bad input, the field at
// fault named as in the client types' JSON.
package service

import (
	"errors"
	"log/slog"
	"runtime"
	"strings"
	"time"

	"github.com/as2gate/as2gate"
	"github.com/as2gate/as2gate/internal/gateway"
)

// Service runs the management operations on a gateway.
type Service struct {
	gw         *gateway.Gateway
	now        func() time.Time
	log        *slog.Logger
	accessTTL  time.Duration
	refreshTTL time.Duration
	// hashing bounds the password hashes computed at once: each takes
	// 48 MiB, and logins come from the network.
	hashing chan struct{}
}

// Default lifetimes of tokens.
const (
	DefaultAccessTTL  = 15 * time.Minute
	DefaultRefreshTTL = 30 * 24 * time.Hour
)

// Option tunes a Service.
type Option func(*Service)

// TokenLifetimes sets how long access and refresh tokens are valid.
func TokenLifetimes(access, refresh time.Duration) Option {
	return func(s *Service) { s.accessTTL, s.refreshTTL = access, refresh }
}

// Clock sets the source of the current time (tests move it forward).
func Clock(now func() time.Time) Option {
	return func(s *Service) { s.now = now }
}

// Logger sets where failures that callers do not see (an audit entry that
// could not be written) are logged; slog.Default() otherwise.
func Logger(l *slog.Logger) Option {
	return func(s *Service) { s.log = l }
}

// New returns the service of gw.
func New(gw *gateway.Gateway, opts ...Option) *Service {
	s := &Service{gw: gw, now: time.Now, log: slog.Default(), accessTTL: DefaultAccessTTL, refreshTTL: DefaultRefreshTTL,
		hashing: make(chan struct{}, max(2, runtime.NumCPU()))}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Bounds on free-text inputs that only the service sees (the domain
// validates the fields it stores).
const (
	maxFilterLen = 1000
	maxHeaders   = 50
)

// MaxNameLen bounds the names of API keys and certificates, in bytes.
const MaxNameLen = 200

// withCause makes the cause of an invalid-input error part of its message.
// The gateway wraps what the pki package says about a user's own file or
// options (wrong password, unknown format, a name too long) as the cause,
// which API users would otherwise never see; it describes their input, so
// it is safe to show.
func withCause(err error, field string) error {
	var e *as2gate.Error
	if !errors.As(err, &e) || e.Code != as2gate.EInvalid || e.Err == nil || e.Field != "" {
		return err
	}
	return as2gate.Invalid(field, "%s: %s", e.Message, strings.TrimPrefix(e.Err.Error(), "pki: "))
}
