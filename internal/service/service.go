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
	"strings"
	"time"

	"github.com/as2gate/as2gate"
	"github.com/as2gate/as2gate/internal/gateway"
)

// Service runs the management operations on a gateway.
type Service struct {
	gw  *gateway.Gateway
	now func() time.Time
}

// New returns the service of gw.
func New(gw *gateway.Gateway) *Service {
	return &Service{gw: gw, now: time.Now}
}

// Bounds on free-text inputs that only the service sees (the domain
// validates the fields it stores).
const (
	maxNameLen   = 200
	maxFilterLen = 1000
	maxHeaders   = 50
)

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
