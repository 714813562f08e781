package service

import (
	"context"

	"github.com/as2gate/as2gate"
	"github.com/as2gate/as2gate/client"
)

// defaultRetries is how often a failed send to a new partner is retried
// (30 s, doubled each time: about a quarter of an hour in all), so that a
// partner's short outage does not fail messages.
const defaultRetries = 5

// ListPartners returns every partner, by AS2 ID.
func (s *Service) ListPartners(ctx context.Context) ([]client.Partner, error) {
	list, err := s.gw.Store().ListPartners(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]client.Partner, len(list))
	for i, p := range list {
		out[i] = toPartner(p)
	}
	return out, nil
}

// GetPartner returns a partner by AS2 ID or record ID.
func (s *Service) GetPartner(ctx context.Context, ref string) (*client.Partner, error) {
	p, err := s.gw.Partner(ctx, ref)
	if err != nil {
		return nil, err
	}
	out := toPartner(p)
	return &out, nil
}

// CreatePartner adds a partner. What the input leaves out is what most
// partners expect: signed with SHA-256, encrypted with AES-256-CBC (which
// needs EncryptCertID), a signed synchronous MDN, uncompressed, 5 retries.
func (s *Service) CreatePartner(ctx context.Context, in client.PartnerInput) (_ *client.Partner, err error) {
	p := &as2gate.Partner{Sign: "sha256", Encrypt: "aes256-cbc", MDN: as2gate.MDNSync, MDNSigned: true, Retries: defaultRetries}
	defer s.record(ctx, "partner.create", &p.AS2ID, &err)
	if err := applyPartner(p, in); err != nil {
		return nil, err
	}
	if err := s.gw.CreatePartner(ctx, p); err != nil {
		return nil, err
	}
	out := toPartner(p)
	return &out, nil
}

// UpdatePartner changes the fields the input gives. A certificate rollover
// sets NextCertID; it ends by making the next certificate the encryption
// (or signing) one and setting NextCertID to "".
func (s *Service) UpdatePartner(ctx context.Context, ref string, in client.PartnerInput) (_ *client.Partner, err error) {
	defer s.record(ctx, "partner.update", &ref, &err)
	p, err := s.gw.Partner(ctx, ref)
	if err != nil {
		return nil, err
	}
	if err := applyPartner(p, in); err != nil {
		return nil, err
	}
	if err := s.gw.UpdatePartner(ctx, p); err != nil {
		return nil, err
	}
	out := toPartner(p)
	return &out, nil
}

// DeletePartner removes a partner without messages in progress.
func (s *Service) DeletePartner(ctx context.Context, ref string) (err error) {
	defer s.record(ctx, "partner.delete", &ref, &err)
	p, err := s.gw.Partner(ctx, ref)
	if err != nil {
		return err
	}
	return s.gw.Store().DeletePartner(ctx, p.ID)
}
