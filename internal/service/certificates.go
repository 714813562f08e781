package service

import (
	"context"
	"errors"

	"github.com/as2gate/as2gate"
	"github.com/as2gate/as2gate/client"
	"github.com/as2gate/as2gate/internal/pki"
)

// Defaults of generated key pairs.
const (
	defaultKeyBits    = 2048
	defaultValidYears = 3
	maxValidYears     = 30
)

// ListCertificates returns every certificate, by name.
func (s *Service) ListCertificates(ctx context.Context) ([]client.Certificate, error) {
	list, err := s.gw.Store().ListCertificates(ctx)
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := make([]client.Certificate, len(list))
	for i, c := range list {
		out[i] = toCertificate(c, now)
	}
	return out, nil
}

// GetCertificate returns a certificate by ID.
func (s *Service) GetCertificate(ctx context.Context, id string) (*client.Certificate, error) {
	c, err := s.gw.Store().GetCertificate(ctx, id)
	if err != nil {
		return nil, err
	}
	out := toCertificate(c, s.now())
	return &out, nil
}

// ImportCertificate stores a certificate from a PEM, DER or PKCS#12 file,
// with its private key when the file holds one. A certificate already
// stored (same fingerprint) is refused with EConflict.
func (s *Service) ImportCertificate(ctx context.Context, in client.CertificateImport) (_ *client.Certificate, err error) {
	target := in.Name
	defer s.record(ctx, "certificate.import", &target, &err)
	switch {
	case len(in.Data) == 0:
		return nil, as2gate.Invalid("data", "the file is empty")
	case len(in.Data) > pki.MaxInputSize:
		return nil, &as2gate.Error{Code: as2gate.ETooLarge, Field: "data", Message: "a certificate file is at most 1 MiB"}
	case len(in.Name) > MaxNameLen:
		return nil, as2gate.Invalid("name", "too long")
	}
	c, err := s.gw.ImportCertificate(ctx, in.Name, in.Data, in.Password)
	if err == nil {
		target = c.ID
	}
	var e *as2gate.Error
	switch {
	case errors.Is(err, pki.ErrBadPassword):
		return nil, as2gate.Invalid("password", "wrong or missing password for the file")
	case errors.As(err, &e) && e.Field == "file": // the gateway's name for what the API calls data
		return nil, as2gate.Invalid("data", "%s", e.Message)
	case err != nil:
		return nil, withCause(err, "data")
	}
	out := toCertificate(c, s.now())
	return &out, nil
}

// GenerateCertificate makes a self-signed key pair: RSA 2048 bits, valid
// for 3 years, unless asked otherwise.
func (s *Service) GenerateCertificate(ctx context.Context, in client.CertificateGenerate) (_ *client.Certificate, err error) {
	target := in.CommonName
	defer s.record(ctx, "certificate.generate", &target, &err)
	opts := pki.SelfSignedOptions{
		CommonName: in.CommonName, Organization: in.Organization, OrganizationalUnit: in.OrganizationalUnit,
		Locality: in.Locality, Province: in.Province, Country: in.Country,
		KeyBits: in.KeyBits, ValidYears: in.ValidYears, Now: s.now(),
	}
	if opts.KeyBits == 0 {
		opts.KeyBits = defaultKeyBits
	}
	if opts.ValidYears == 0 {
		opts.ValidYears = defaultValidYears
	}
	// Checked here too, to name the field at fault.
	switch {
	case opts.KeyBits != 2048 && opts.KeyBits != 3072 && opts.KeyBits != 4096:
		return nil, as2gate.Invalid("key_bits", "%d: want 2048, 3072 or 4096", opts.KeyBits)
	case opts.ValidYears < 1 || opts.ValidYears > maxValidYears:
		return nil, as2gate.Invalid("valid_years", "%d: want 1 to %d", opts.ValidYears, maxValidYears)
	case opts.CommonName == "":
		return nil, as2gate.Invalid("common_name", "required")
	case len(in.Name) > MaxNameLen:
		return nil, as2gate.Invalid("name", "too long")
	}
	c, err := s.gw.GenerateCertificate(ctx, in.Name, opts)
	if err != nil {
		return nil, withCause(err, "")
	}
	target = c.ID
	out := toCertificate(c, s.now())
	return &out, nil
}

// CertificatePEM returns a certificate, never its key, as PEM.
func (s *Service) CertificatePEM(ctx context.Context, id string) ([]byte, error) {
	return s.gw.CertificatePEM(ctx, id)
}

// DeleteCertificate removes a certificate that no station or partner uses
// (EConflict otherwise).
func (s *Service) DeleteCertificate(ctx context.Context, id string) (err error) {
	defer s.record(ctx, "certificate.delete", &id, &err)
	return s.gw.DeleteCertificate(ctx, id)
}
