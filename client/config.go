package client

import (
	"context"
	"net/url"
)

// Certificates, stations and partners. Stations and partners are named by
// record ID or AS2 ID.

// ListCertificates returns every certificate, by name.
func (c *Client) ListCertificates(ctx context.Context) ([]Certificate, error) {
	return listAll[Certificate](ctx, c, "/certificates")
}

// GetCertificate returns a certificate by ID.
func (c *Client) GetCertificate(ctx context.Context, id string) (*Certificate, error) {
	return fetch[Certificate](ctx, c, "GET", "/certificates/"+seg(id), nil, nil)
}

// ImportCertificate stores a certificate from a PEM, DER or PKCS#12 file,
// with its private key when the file holds one.
func (c *Client) ImportCertificate(ctx context.Context, in CertificateImport) (*Certificate, error) {
	return fetch[Certificate](ctx, c, "POST", "/certificates", nil, in)
}

// GenerateCertificate makes a self-signed key pair.
func (c *Client) GenerateCertificate(ctx context.Context, in CertificateGenerate) (*Certificate, error) {
	return fetch[Certificate](ctx, c, "POST", "/certificates/generate", nil, in)
}

// CertificatePEM returns a certificate, never its key, as PEM.
func (c *Client) CertificatePEM(ctx context.Context, id string) ([]byte, error) {
	return c.raw(ctx, "/certificates/"+seg(id)+"/pem", nil)
}

// DeleteCertificate removes a certificate that no station or partner uses.
func (c *Client) DeleteCertificate(ctx context.Context, id string) error {
	return c.call(ctx, "DELETE", "/certificates/"+seg(id), nil, nil, nil)
}

// ListStations returns every station, by AS2 ID.
func (c *Client) ListStations(ctx context.Context) ([]Station, error) {
	return listAll[Station](ctx, c, "/stations")
}

// GetStation returns a station.
func (c *Client) GetStation(ctx context.Context, ref string) (*Station, error) {
	return fetch[Station](ctx, c, "GET", "/stations/"+seg(ref), nil, nil)
}

// CreateStation adds a station; without CertID a key pair is generated.
func (c *Client) CreateStation(ctx context.Context, in StationInput) (*Station, error) {
	return fetch[Station](ctx, c, "POST", "/stations", nil, in)
}

// UpdateStation changes the fields the input gives.
func (c *Client) UpdateStation(ctx context.Context, ref string, in StationInput) (*Station, error) {
	return fetch[Station](ctx, c, "PATCH", "/stations/"+seg(ref), nil, in)
}

// DeleteStation removes a station without messages in progress.
func (c *Client) DeleteStation(ctx context.Context, ref string) error {
	return c.call(ctx, "DELETE", "/stations/"+seg(ref), nil, nil, nil)
}

// StationCertificatePEM returns the public certificate of a station (the
// next one of a rollover when next is set): what partners need.
func (c *Client) StationCertificatePEM(ctx context.Context, ref string, next bool) ([]byte, error) {
	var q url.Values
	if next {
		q = url.Values{"next": {"true"}}
	}
	return c.raw(ctx, "/stations/"+seg(ref)+"/certificate", q)
}

// PromoteStationCertificate ends a rollover: the next key pair becomes the
// current one.
func (c *Client) PromoteStationCertificate(ctx context.Context, ref string) (*Station, error) {
	return fetch[Station](ctx, c, "POST", "/stations/"+seg(ref)+"/promote", nil, nil)
}

// ListPartners returns every partner, by AS2 ID.
func (c *Client) ListPartners(ctx context.Context) ([]Partner, error) {
	return listAll[Partner](ctx, c, "/partners")
}

// GetPartner returns a partner.
func (c *Client) GetPartner(ctx context.Context, ref string) (*Partner, error) {
	return fetch[Partner](ctx, c, "GET", "/partners/"+seg(ref), nil, nil)
}

// CreatePartner adds a partner.
func (c *Client) CreatePartner(ctx context.Context, in PartnerInput) (*Partner, error) {
	return fetch[Partner](ctx, c, "POST", "/partners", nil, in)
}

// UpdatePartner changes the fields the input gives.
func (c *Client) UpdatePartner(ctx context.Context, ref string, in PartnerInput) (*Partner, error) {
	return fetch[Partner](ctx, c, "PATCH", "/partners/"+seg(ref), nil, in)
}

// DeletePartner removes a partner without messages in progress.
func (c *Client) DeletePartner(ctx context.Context, ref string) error {
	return c.call(ctx, "DELETE", "/partners/"+seg(ref), nil, nil, nil)
}
