package gateway

import (
	"context"

	"github.com/as2gate/as2gate"
)

// CreatePartner adds a trading partner.
func (g *Gateway) CreatePartner(ctx context.Context, p *as2gate.Partner) error {
	p.Defaults()
	if err := g.checkPartner(ctx, p); err != nil {
		return err
	}
	p.ID = as2gate.NewID()
	return g.store.CreatePartner(ctx, p)
}

// UpdatePartner changes a partner.
func (g *Gateway) UpdatePartner(ctx context.Context, p *as2gate.Partner) error {
	p.Defaults()
	if err := g.checkPartner(ctx, p); err != nil {
		return err
	}
	g.clients.Delete(p.ID)
	return g.store.UpdatePartner(ctx, p)
}

func (g *Gateway) checkPartner(ctx context.Context, p *as2gate.Partner) error {
	if err := p.Validate(); err != nil {
		return err
	}
	for field, id := range map[string]string{"encrypt_cert_id": p.EncryptCertID, "sign_cert_id": p.SignCertID,
		"next_cert_id": p.NextCertID, "tls_cert_id": p.TLSCertID} {
		if id == "" {
			continue
		}
		if _, err := g.store.GetCertificate(ctx, id); err != nil {
			if as2gate.ErrorCode(err) == as2gate.ENotFound {
				return as2gate.Invalid(field, "no certificate %s", id)
			}
			return err
		}
	}
	return nil
}

// Partner finds a partner by its AS2 identifier or its record ID.
func (g *Gateway) Partner(ctx context.Context, ref string) (*as2gate.Partner, error) {
	p, err := g.store.GetPartnerByAS2ID(ctx, ref)
	if as2gate.ErrorCode(err) == as2gate.ENotFound && as2gate.IsID(ref) {
		return g.store.GetPartner(ctx, ref)
	}
	return p, err
}
