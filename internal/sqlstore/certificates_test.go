package sqlstore

import (
	"reflect"
	"testing"

	"github.com/as2gate/as2gate"
)

func TestCertificates(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		a := newCert(t, s, "b-ours")
		a.PrivateKey = []byte("sealed key")
		must(t, s.UpdateCertificate(ctx, a))
		b := newCert(t, s, "a-theirs")

		got, err := s.GetCertificate(ctx, a.ID)
		must(t, err)
		if !reflect.DeepEqual(got, a) {
			t.Fatalf("got  %+v\nwant %+v", got, a)
		}
		if !as2gate.IsID(a.ID) || a.CreatedAt.IsZero() {
			t.Fatalf("CreateCertificate gave ID %q, creation time %v", a.ID, a.CreatedAt)
		}

		list, err := s.ListCertificates(ctx)
		must(t, err)
		if !reflect.DeepEqual(list, []*as2gate.Certificate{b, a}) {
			t.Fatalf("list by name: got %+v", list)
		}
		if list[0].PrivateKey != nil {
			t.Fatalf("a certificate without key came back with %q", list[0].PrivateKey)
		}

		_, err = s.GetCertificate(ctx, "missing")
		wantCode(t, err, as2gate.ENotFound, "certificate missing not found")

		dup := *b
		dup.ID, dup.Name = "", "again"
		wantCode(t, s.CreateCertificate(ctx, &dup), as2gate.EConflict, b.Fingerprint)

		b.Fingerprint = a.Fingerprint
		wantCode(t, s.UpdateCertificate(ctx, b), as2gate.EConflict, "already stored")
		wantCode(t, s.UpdateCertificate(ctx, &as2gate.Certificate{ID: "missing", Fingerprint: "F"}), as2gate.ENotFound, "missing")
	})
}

func TestDeleteCertificateInUse(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		stationCert, nextCert, tlsCert, unused := newCert(t, s, "station"), newCert(t, s, "next"), newCert(t, s, "tls"), newCert(t, s, "unused")
		st := newStation(t, s, "US", stationCert.ID)
		st.NextCertID = nextCert.ID
		must(t, s.UpdateStation(ctx, st))
		p := newPartner(t, s, "THEM", stationCert.ID)
		p.TLSCertID = tlsCert.ID
		must(t, s.UpdatePartner(ctx, p))

		wantCode(t, s.DeleteCertificate(ctx, stationCert.ID), as2gate.EConflict, `certificate "station" is used by station US, partner THEM`)
		wantCode(t, s.DeleteCertificate(ctx, nextCert.ID), as2gate.EConflict, "used by station US")
		wantCode(t, s.DeleteCertificate(ctx, tlsCert.ID), as2gate.EConflict, "used by partner THEM")
		wantCode(t, s.DeleteCertificate(ctx, "missing"), as2gate.ENotFound, "certificate missing not found")

		must(t, s.DeleteCertificate(ctx, unused.ID))
		_, err := s.GetCertificate(ctx, unused.ID)
		wantCode(t, err, as2gate.ENotFound, unused.ID)

		must(t, s.DeletePartner(ctx, p.ID))
		must(t, s.DeleteCertificate(ctx, tlsCert.ID))
		wantCode(t, s.DeleteCertificate(ctx, stationCert.ID), as2gate.EConflict, "used by station US")
	})
}

func TestDeleteCertificateNamesFewUsers(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		c := newCert(t, s, "shared")
		for _, id := range []string{"P1", "P2", "P3", "P4", "P5", "P6", "P7"} {
			newPartner(t, s, id, c.ID)
		}
		wantCode(t, s.DeleteCertificate(t.Context(), c.ID), as2gate.EConflict,
			`certificate "shared" is used by partner P1, partner P2, partner P3, partner P4, partner P5, others`)
	})
}
