package gateway

import (
	"context"
	"crypto"
	"crypto/x509"

	"github.com/as2gate/as2gate"
	"github.com/as2gate/as2gate/internal/cms"
	"github.com/as2gate/as2gate/internal/pki"
)

// keyPair is one of our certificates with its decrypted key.
type keyPair struct {
	rec  *as2gate.Certificate
	cert *x509.Certificate
	key  crypto.Signer
}

// sealKey encrypts a private key for storing, bound to its certificate.
func (g *Gateway) sealKey(certID string, key crypto.Signer) ([]byte, error) {
	pem, err := pki.EncodeKeyPEM(key)
	if err != nil {
		return nil, err
	}
	return g.box.Seal(pem, []byte(certID))
}

// keyPair loads (and caches) a certificate with its private key.
func (g *Gateway) keyPair(ctx context.Context, certID string) (*keyPair, error) {
	if kp, ok := g.keys.Load(certID); ok {
		return kp.(*keyPair), nil
	}
	rec, err := g.store.GetCertificate(ctx, certID)
	if err != nil {
		return nil, err
	}
	if !rec.HasPrivateKey() {
		return nil, as2gate.Errorf(as2gate.EInvalid, "certificate %q has no private key", rec.Name)
	}
	cert, err := rec.Parse()
	if err != nil {
		return nil, err
	}
	pem, err := g.openKey(rec)
	if err != nil {
		return nil, as2gate.Wrap(as2gate.EInternal, err, "the private key of certificate %q cannot be decrypted (wrong master key?)", rec.Name)
	}
	b, err := pki.Parse(pem, "")
	if err != nil || b.Key == nil {
		return nil, as2gate.Wrap(as2gate.EInternal, err, "the private key of certificate %q is unreadable", rec.Name)
	}
	kp := &keyPair{rec: rec, cert: cert, key: b.Key}
	g.keys.Store(certID, kp)
	return kp, nil
}

// openKey opens a certificate's sealed private key: the PEM sealKey sealed.
func (g *Gateway) openKey(rec *as2gate.Certificate) ([]byte, error) {
	return g.box.Open(rec.PrivateKey, []byte(rec.ID))
}

// OpensPrivateKeys tells whether the master key opens the private keys in
// the database, by opening one; true when there are none.
func (g *Gateway) OpensPrivateKeys(ctx context.Context) (bool, error) {
	certs, err := g.store.ListCertificates(ctx)
	if err != nil {
		return false, err
	}
	for _, c := range certs {
		if c.HasPrivateKey() {
			_, err := g.openKey(c)
			return err == nil, nil
		}
	}
	return true, nil
}

// forgetCertificate drops a deleted certificate from the caches.
func (g *Gateway) forgetCertificate(certID string) {
	g.keys.Delete(certID)
	g.certs.Delete(certID)
}

// recipients are the station's key pairs that may decrypt: current and next.
func (g *Gateway) recipients(ctx context.Context, st *as2gate.Station) ([]cms.Recipient, error) {
	var out []cms.Recipient
	for _, id := range []string{st.CertID, st.NextCertID} {
		if id == "" {
			continue
		}
		kp, err := g.keyPair(ctx, id)
		if err != nil {
			return nil, err
		}
		dec, ok := kp.key.(crypto.Decrypter)
		if !ok {
			return nil, as2gate.Errorf(as2gate.EInvalid, "the key of certificate %q cannot decrypt", kp.rec.Name)
		}
		out = append(out, cms.Recipient{Cert: kp.cert, Key: dec})
	}
	return out, nil
}

// certificates loads certificates by ID. A certificate's bytes never
// change, so parsed ones are kept until the certificate is deleted.
func (g *Gateway) certificates(ctx context.Context, ids ...string) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for _, id := range ids {
		if c, ok := g.certs.Load(id); ok {
			out = append(out, c.(*x509.Certificate))
			continue
		}
		rec, err := g.store.GetCertificate(ctx, id)
		if err != nil {
			return nil, err
		}
		c, err := rec.Parse()
		if err != nil {
			return nil, err
		}
		g.certs.Store(id, c)
		out = append(out, c)
	}
	return out, nil
}
