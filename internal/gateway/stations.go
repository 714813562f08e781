package gateway

import (
	"context"

	"github.com/as2gate/as2gate"
)

// CreateStation adds one of our identities; its certificates must hold keys.
func (g *Gateway) CreateStation(ctx context.Context, s *as2gate.Station) error {
	if err := g.checkStation(ctx, s); err != nil {
		return err
	}
	s.ID = as2gate.NewID()
	return g.store.CreateStation(ctx, s)
}

// UpdateStation changes a station.
func (g *Gateway) UpdateStation(ctx context.Context, s *as2gate.Station) error {
	if err := g.checkStation(ctx, s); err != nil {
		return err
	}
	return g.store.UpdateStation(ctx, s)
}

func (g *Gateway) checkStation(ctx context.Context, s *as2gate.Station) error {
	if err := s.Validate(); err != nil {
		return err
	}
	for field, id := range map[string]string{"cert_id": s.CertID, "next_cert_id": s.NextCertID} {
		if id == "" {
			continue
		}
		c, err := g.store.GetCertificate(ctx, id)
		if err != nil {
			if as2gate.ErrorCode(err) == as2gate.ENotFound {
				return as2gate.Invalid(field, "no certificate %s", id)
			}
			return err
		}
		if !c.HasPrivateKey() {
			return as2gate.Invalid(field, "certificate %q has no private key: a station needs its own key pair", c.Name)
		}
	}
	return nil
}

// Station finds a station by its AS2 identifier or its record ID.
func (g *Gateway) Station(ctx context.Context, ref string) (*as2gate.Station, error) {
	s, err := g.store.GetStationByAS2ID(ctx, ref)
	if as2gate.ErrorCode(err) == as2gate.ENotFound && as2gate.IsID(ref) {
		return g.store.GetStation(ctx, ref)
	}
	return s, err
}

// PromoteNextCertificate ends a rollover: the next key pair becomes the
// current one.
func (g *Gateway) PromoteNextCertificate(ctx context.Context, stationID string) (*as2gate.Station, error) {
	s, err := g.store.GetStation(ctx, stationID)
	if err != nil {
		return nil, err
	}
	if s.NextCertID == "" {
		return nil, as2gate.Invalid("next_cert_id", "station %s has no next certificate", s.AS2ID)
	}
	s.CertID, s.NextCertID = s.NextCertID, ""
	return s, g.store.UpdateStation(ctx, s)
}
