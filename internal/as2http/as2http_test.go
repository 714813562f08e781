package as2http

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/as2gate/as2gate/internal/gateway"
	"github.com/as2gate/as2gate/internal/mime"
)

// recorder keeps the header the listener hands on.
type recorder struct{ got mime.Header }

func (r *recorder) Receive(ctx context.Context, h mime.Header, body io.Reader) *gateway.Reply {
	r.got = h
	return &gateway.Reply{Status: http.StatusOK, Header: http.Header{}}
}

func (r *recorder) ReceiveMDN(ctx context.Context, h mime.Header, body io.Reader) *gateway.Reply {
	return r.Receive(ctx, h, body)
}

// TestCredentialsAreNotPassedOn: the headers that authenticate a caller
// never reach the gateway, which keeps the others with the message.
func TestCredentialsAreNotPassedOn(t *testing.T) {
	rec := &recorder{}
	srv := httptest.NewServer(New(rec))
	defer srv.Close()
	for _, path := range []string{"/as2", "/as2/mdn"} {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader("body"))
		req.Header.Set("AS2-From", "PARTNER")
		req.SetBasicAuth("partner", "secret")
		req.Header.Set("Proxy-Authorization", "Basic c2VjcmV0")
		req.Header.Set("Cookie", "session=secret")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if rec.got.Get("AS2-From") != "PARTNER" {
			t.Fatalf("%s: AS2-From not passed on: %+v", path, rec.got)
		}
		for _, name := range []string{"Authorization", "Proxy-Authorization", "Cookie"} {
			if v := rec.got.Get(name); v != "" {
				t.Errorf("%s: %s passed on: %q", path, name, v)
			}
		}
	}
}
