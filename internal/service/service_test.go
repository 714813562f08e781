package service

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/as2gate/as2gate"
	"github.com/as2gate/as2gate/internal/fsblob"
	"github.com/as2gate/as2gate/internal/gateway"
	"github.com/as2gate/as2gate/internal/pki"
	"github.com/as2gate/as2gate/internal/secretbox"
	"github.com/as2gate/as2gate/internal/sqlstore"
	"github.com/as2gate/as2gate/internal/testpeer"
)

// newService returns a service over a real gateway on SQLite in a
// temporary folder (no workers run: messages stay queued).
func newService(t *testing.T) *Service {
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
	gw := gateway.New(store, blobs, box, gateway.Options{TempDir: blobs.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
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
