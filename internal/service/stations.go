package service

import (
	"context"

	"github.com/as2gate/as2gate"
	"github.com/as2gate/as2gate/client"
)

// maxCommonName is the longest common name a certificate may have (RFC 5280).
const maxCommonName = 64

// ListStations returns every station, by AS2 ID.
func (s *Service) ListStations(ctx context.Context) ([]client.Station, error) {
	list, err := s.gw.Store().ListStations(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]client.Station, len(list))
	for i, st := range list {
		out[i] = toStation(st)
	}
	return out, nil
}

// GetStation returns a station by AS2 ID or record ID.
func (s *Service) GetStation(ctx context.Context, ref string) (*client.Station, error) {
	st, err := s.gw.Station(ctx, ref)
	if err != nil {
		return nil, err
	}
	out := toStation(st)
	return &out, nil
}

// CreateStation adds a station. Without a CertID, or with Generate, a key
// pair is generated for it (its common name is the AS2 ID unless Generate
// names one).
func (s *Service) CreateStation(ctx context.Context, in client.StationInput) (_ *client.Station, err error) {
	st := &as2gate.Station{}
	applyStation(st, in)
	defer s.record(ctx, "station.create", &st.AS2ID, &err)
	if st.CertID != "" {
		if in.Generate != nil {
			return nil, as2gate.Invalid("generate", "give cert_id or generate, not both")
		}
		if err := s.gw.CreateStation(ctx, st); err != nil {
			return nil, err
		}
		out := toStation(st)
		return &out, nil
	}
	// Check what can be checked before making a key pair, so that a
	// station refused leaves no key pair behind.
	probe := *st
	probe.CertID = "to be generated"
	if err := probe.Validate(); err != nil {
		return nil, err
	}
	if _, err := s.gw.Store().GetStationByAS2ID(ctx, st.AS2ID); as2gate.ErrorCode(err) != as2gate.ENotFound {
		if err != nil {
			return nil, err
		}
		return nil, as2gate.Errorf(as2gate.EConflict, "a station with AS2 ID %q already exists", st.AS2ID)
	}
	gen := client.CertificateGenerate{}
	if in.Generate != nil {
		gen = *in.Generate
	}
	if gen.CommonName == "" {
		gen.CommonName = truncateRunes(st.AS2ID, maxCommonName)
	}
	cert, err := s.GenerateCertificate(ctx, gen)
	if err != nil {
		return nil, err
	}
	st.CertID = cert.ID
	if err := s.gw.CreateStation(ctx, st); err != nil {
		// Created meanwhile by someone else, most likely: the new key
		// pair serves nothing.
		s.gw.DeleteCertificate(context.WithoutCancel(ctx), cert.ID)
		return nil, err
	}
	out := toStation(st)
	return &out, nil
}

// UpdateStation changes the fields the input gives. A rollover is started
// by setting NextCertID (to a key pair imported or generated first), ended
// by PromoteStationCertificate, or abandoned by setting NextCertID to "".
func (s *Service) UpdateStation(ctx context.Context, ref string, in client.StationInput) (_ *client.Station, err error) {
	defer s.record(ctx, "station.update", &ref, &err)
	if in.Generate != nil {
		return nil, as2gate.Invalid("generate", "only when creating a station: generate a certificate, then set next_cert_id")
	}
	st, err := s.gw.Station(ctx, ref)
	if err != nil {
		return nil, err
	}
	applyStation(st, in)
	if err := s.gw.UpdateStation(ctx, st); err != nil {
		return nil, err
	}
	out := toStation(st)
	return &out, nil
}

// DeleteStation removes a station without messages in progress. Its
// certificates stay: they may serve others.
func (s *Service) DeleteStation(ctx context.Context, ref string) (err error) {
	defer s.record(ctx, "station.delete", &ref, &err)
	st, err := s.gw.Station(ctx, ref)
	if err != nil {
		return err
	}
	return s.gw.Store().DeleteStation(ctx, st.ID)
}

// StationCertificatePEM returns the public certificate of a station (the
// next one during a rollover, when next is set): what partners need.
func (s *Service) StationCertificatePEM(ctx context.Context, ref string, next bool) ([]byte, error) {
	st, err := s.gw.Station(ctx, ref)
	if err != nil {
		return nil, err
	}
	id := st.CertID
	if next {
		if st.NextCertID == "" {
			return nil, as2gate.Errorf(as2gate.ENotFound, "station %s has no next certificate", st.AS2ID)
		}
		id = st.NextCertID
	}
	return s.gw.CertificatePEM(ctx, id)
}

// PromoteStationCertificate ends a rollover: the next key pair becomes the
// current one.
func (s *Service) PromoteStationCertificate(ctx context.Context, ref string) (_ *client.Station, err error) {
	defer s.record(ctx, "station.promote", &ref, &err)
	st, err := s.gw.Station(ctx, ref)
	if err != nil {
		return nil, err
	}
	st, err = s.gw.PromoteNextCertificate(ctx, st.ID)
	if err != nil {
		return nil, err
	}
	out := toStation(st)
	return &out, nil
}

func truncateRunes(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}
