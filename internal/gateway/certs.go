package gateway

import (
	"context"

	"github.com/as2gate/as2gate"
	"github.com/as2gate/as2gate/internal/pki"
)

// ImportCertificate stores a certificate read from PEM, DER or PKCS#12,
// with its private key when the file holds one (sealed with the master key).
func (g *Gateway) ImportCertificate(ctx context.Context, name string, data []byte, password string) (*as2gate.Certificate, error) {
	b, err := pki.Parse(data, password)
	if err != nil {
		return nil, as2gate.Wrap(as2gate.EInvalid, err, "cannot read the certificate file")
	}
	if len(b.Certs) == 0 {
		return nil, as2gate.Invalid("file", "no certificate in the file")
	}
	rec := as2gate.NewCertificate(name, b.Certs[0])
	if b.Key != nil {
		if !pki.KeyMatchesCert(b.Key, b.Certs[0]) {
			return nil, as2gate.Invalid("file", "the private key does not belong to the certificate")
		}
		if rec.PrivateKey, err = g.sealKey(rec.ID, b.Key); err != nil {
			return nil, err
		}
	}
	if err := g.store.CreateCertificate(ctx, rec); err != nil {
		return nil, err
	}
	return rec, nil
}

// GenerateCertificate makes a self-signed key pair for a station.
func (g *Gateway) GenerateCertificate(ctx context.Context, name string, opts pki.SelfSignedOptions) (*as2gate.Certificate, error) {
	key, cert, err := pki.GenerateSelfSigned(opts)
	if err != nil {
		return nil, as2gate.Wrap(as2gate.EInvalid, err, "cannot generate the certificate")
	}
	rec := as2gate.NewCertificate(name, cert)
	if rec.PrivateKey, err = g.sealKey(rec.ID, key); err != nil {
		return nil, err
	}
	if err := g.store.CreateCertificate(ctx, rec); err != nil {
		return nil, err
	}
	return rec, nil
}

// CertificatePEM returns a certificate (never its key) as PEM.
func (g *Gateway) CertificatePEM(ctx context.Context, id string) ([]byte, error) {
	certs, err := g.certificates(ctx, id)
	if err != nil {
		return nil, err
	}
	return pki.EncodeCertPEM(certs...), nil
}

// DeleteCertificate removes a certificate no station or partner uses.
func (g *Gateway) DeleteCertificate(ctx context.Context, id string) error {
	if err := g.store.DeleteCertificate(ctx, id); err != nil {
		return err
	}
	g.forgetCertificate(id)
	return nil
}
