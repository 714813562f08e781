package gateway

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"time"

	"github.com/as2gate/as2gate"
)

// partnerClient is the HTTP client of one partner version.
type partnerClient struct {
	updated time.Time
	client  *http.Client
}

// client returns an HTTP client for a partner: its timeout applies to
// connecting and to waiting for the response once the body is sent (not
// to the upload itself, which may take long for a large file); redirects
// are not followed; a configured TLS certificate is trusted besides the
// system roots.
func (g *Gateway) client(ctx context.Context, p *as2gate.Partner) (*http.Client, error) {
	if c, ok := g.clients.Load(p.ID); ok && c.(*partnerClient).updated.Equal(p.UpdatedAt) {
		return c.(*partnerClient).client, nil
	}
	var rt http.RoundTripper
	if p.TLSCertID == "" && g.opt.Transport != nil {
		rt = g.opt.Transport
	} else {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.DialContext = (&net.Dialer{Timeout: p.Timeout, KeepAlive: 30 * time.Second}).DialContext
		t.TLSHandshakeTimeout = p.Timeout
		t.ResponseHeaderTimeout = p.Timeout
		t.MaxIdleConnsPerHost = 16
		if p.TLSCertID != "" {
			certs, err := g.certificates(ctx, p.TLSCertID)
			if err != nil {
				return nil, err
			}
			pool, err := x509.SystemCertPool()
			if err != nil {
				pool = x509.NewCertPool()
			}
			for _, c := range certs {
				pool.AddCert(c)
			}
			t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		}
		rt = t
	}
	c := &http.Client{
		Transport:     rt,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	g.clients.Store(p.ID, &partnerClient{updated: p.UpdatedAt, client: c})
	return c, nil
}
