package service

import (
	"errors"
	"testing"

	"github.com/as2gate/as2gate"
	"github.com/as2gate/as2gate/internal/gateway"
	"github.com/as2gate/as2gate/internal/gatewaytest"
	"github.com/as2gate/as2gate/internal/pki"
	"github.com/as2gate/as2gate/internal/testpeer"
)

// newService returns a service over a real gateway on SQLite in a
// temporary folder (no workers run: messages stay queued).
func newService(t *testing.T) *Service {
	t.Helper()
	gw := gatewaytest.New(t, gateway.Options{}).Gateway
	return New(gw)
}

// wantCode checks an error's code and, for validation errors, its field.
func wantCode(t *testing.T, err error, code as2gate.Code, field string) {
	t.Helper()
	if as2gate.ErrorCode(err) != code {
		t.Fatalf("error %v: code %q, want %q", err, as2gate.ErrorCode(err), code)
	}
	var e *as2gate.Error
	if field != "" && (!errors.As(err, &e) || e.Field != field) {
		t.Fatalf("error %v: want field %q", err, field)
	}
}

// partnerCertPEM is the public certificate of a test identity.
func partnerCertPEM(t *testing.T, name string) []byte {
	return pki.EncodeCertPEM(testpeer.NewIdentity(t, name).Cert)
}

func ptr[T any](v T) *T { return &v }
