package as2gate

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"strings"
	"time"
)

// Certificate is an X.509 certificate, with the private key for our own
// (station) certificates. One certificate may serve several stations or
// partners.
type Certificate struct {
	ID          string
	Name        string // an alias people recognise
	DER         []byte
	Subject     string
	Issuer      string
	Serial      string // hexadecimal
	Fingerprint string // SHA-256, hexadecimal
	NotBefore   time.Time
	NotAfter    time.Time
	// PrivateKey is the PKCS#8 key, encrypted by the store's secret box;
	// empty for partner certificates. Never leaves the process.
	PrivateKey []byte
	CreatedAt  time.Time
}

// HasPrivateKey reports whether this is one of our own certificates.
func (c *Certificate) HasPrivateKey() bool { return len(c.PrivateKey) > 0 }

// NewCertificate describes a parsed certificate for storing.
func NewCertificate(name string, cert *x509.Certificate) *Certificate {
	sum := sha256.Sum256(cert.Raw)
	if name == "" {
		name = cert.Subject.CommonName
	}
	return &Certificate{
		ID:          NewID(),
		Name:        name,
		DER:         cert.Raw,
		Subject:     cert.Subject.String(),
		Issuer:      cert.Issuer.String(),
		Serial:      strings.ToUpper(cert.SerialNumber.Text(16)),
		Fingerprint: strings.ToUpper(hex.EncodeToString(sum[:])),
		NotBefore:   cert.NotBefore.UTC(),
		NotAfter:    cert.NotAfter.UTC(),
	}
}

// Parse returns the X.509 certificate.
func (c *Certificate) Parse() (*x509.Certificate, error) {
	cert, err := x509.ParseCertificate(c.DER)
	if err != nil {
		return nil, Wrap(EInternal, err, "certificate %s cannot be parsed", c.ID)
	}
	return cert, nil
}

// CheckValid refuses a certificate outside its validity period, for sending.
func (c *Certificate) CheckValid(now time.Time) error {
	switch {
	case now.After(c.NotAfter):
		return Errorf(EInvalid, "certificate %q (%s) expired on %s", c.Name, c.Subject, c.NotAfter.Format(time.DateOnly))
	case now.Before(c.NotBefore):
		return Errorf(EInvalid, "certificate %q (%s) is not valid before %s", c.Name, c.Subject, c.NotBefore.Format(time.DateOnly))
	}
	return nil
}
