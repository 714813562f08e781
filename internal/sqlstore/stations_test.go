package sqlstore

import (
	"reflect"
	"testing"
	"time"

	"github.com/as2gate/as2gate"
)

func TestStations(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		c1, c2 := newCert(t, s, "one"), newCert(t, s, "two")
		b := newStation(t, s, "B-STATION", c1.ID)
		a := newStation(t, s, "A-STATION", c1.ID)

		got, err := s.GetStation(ctx, b.ID)
		must(t, err)
		if !reflect.DeepEqual(got, b) {
			t.Fatalf("got  %+v\nwant %+v", got, b)
		}
		got, err = s.GetStationByAS2ID(ctx, "A-STATION")
		must(t, err)
		if !reflect.DeepEqual(got, a) {
			t.Fatalf("by AS2 ID: got %+v\nwant %+v", got, a)
		}
		list, err := s.ListStations(ctx)
		must(t, err)
		if !reflect.DeepEqual(list, []*as2gate.Station{a, b}) {
			t.Fatalf("list by AS2 ID: got %+v", list)
		}

		_, err = s.GetStation(ctx, "missing")
		wantCode(t, err, as2gate.ENotFound, "station missing not found")
		_, err = s.GetStationByAS2ID(ctx, "NOBODY")
		wantCode(t, err, as2gate.ENotFound, "station with AS2 ID NOBODY not found")
		wantCode(t, s.CreateStation(ctx, &as2gate.Station{AS2ID: "A-STATION", CertID: c1.ID}), as2gate.EConflict,
			`a station with AS2 ID "A-STATION" already exists`)
		err = s.CreateStation(ctx, &as2gate.Station{AS2ID: "C", CertID: "nope"})
		wantCode(t, err, as2gate.EInvalid, "certificate nope not found")
		if f := err.(*as2gate.Error).Field; f != "cert_id" {
			t.Fatalf("field %q, want cert_id", f)
		}

		before := b.UpdatedAt
		time.Sleep(2 * time.Millisecond)
		b.Name, b.Description, b.Email, b.NextCertID = "Renamed", "about", "x@example.com", c2.ID
		must(t, s.UpdateStation(ctx, b))
		if !b.UpdatedAt.After(before) {
			t.Fatalf("UpdatedAt %v not after %v", b.UpdatedAt, before)
		}
		got, err = s.GetStation(ctx, b.ID)
		must(t, err)
		if !reflect.DeepEqual(got, b) {
			t.Fatalf("after update: got %+v\nwant %+v", got, b)
		}

		b.NextCertID = "nope"
		err = s.UpdateStation(ctx, b)
		wantCode(t, err, as2gate.EInvalid, "certificate nope not found")
		if f := err.(*as2gate.Error).Field; f != "next_cert_id" {
			t.Fatalf("field %q, want next_cert_id", f)
		}
		b.NextCertID, b.AS2ID = "", "A-STATION"
		wantCode(t, s.UpdateStation(ctx, b), as2gate.EConflict, "already exists")
		wantCode(t, s.UpdateStation(ctx, &as2gate.Station{ID: "missing", AS2ID: "M", CertID: c1.ID}), as2gate.ENotFound, "station missing not found")
	})
}

func TestDeleteStationAndPartnerKeepMessages(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		w := newWorld(t, s)
		for _, status := range []as2gate.Status{as2gate.StatusQueued, as2gate.StatusSending, as2gate.StatusAwaitingMDN} {
			t.Run(string(status), func(t *testing.T) {
				m := message(w.station, w.partner, as2gate.Outbound, status, "<"+string(status)+"@us>")
				must(t, s.CreateMessage(ctx, m))
				wantCode(t, s.DeleteStation(ctx, w.station.ID), as2gate.EConflict, `station "US" has 1 message(s) in progress`)
				wantCode(t, s.DeletePartner(ctx, w.partner.ID), as2gate.EConflict, `partner "THEM" has 1 message(s) in progress`)
				m.Status = as2gate.StatusSent
				must(t, s.UpdateMessage(ctx, m, as2gate.JobChange{}))
			})
		}
		// Messages of other stations and partners do not hold these back.
		other := newStation(t, s, "OTHER", w.cert.ID)
		otherPartner := newPartner(t, s, "OTHER-P", w.cert.ID)
		must(t, s.CreateMessage(ctx, message(other, otherPartner, as2gate.Outbound, as2gate.StatusQueued, "<o@us>")))

		done := message(w.station, w.partner, as2gate.Inbound, as2gate.StatusReceived, "<done@them>")
		must(t, s.CreateMessage(ctx, done))
		must(t, s.DeleteStation(ctx, w.station.ID))
		must(t, s.DeletePartner(ctx, w.partner.ID))
		_, err := s.GetStation(ctx, w.station.ID)
		wantCode(t, err, as2gate.ENotFound, w.station.ID)
		_, err = s.GetPartner(ctx, w.partner.ID)
		wantCode(t, err, as2gate.ENotFound, w.partner.ID)
		wantCode(t, s.DeleteStation(ctx, w.station.ID), as2gate.ENotFound, "station "+w.station.ID+" not found")
		wantCode(t, s.DeletePartner(ctx, w.partner.ID), as2gate.ENotFound, "partner "+w.partner.ID+" not found")

		got, err := s.GetMessage(ctx, done.ID)
		must(t, err)
		if got.StationID != "" || got.PartnerID != "" || got.StationAS2ID != "US" || got.PartnerAS2ID != "THEM" {
			t.Fatalf("kept message: station %q (%s), partner %q (%s); want no IDs, AS2 IDs US and THEM",
				got.StationID, got.StationAS2ID, got.PartnerID, got.PartnerAS2ID)
		}
	})
}

// A message added while a station or partner is being deleted either
// holds the delete back or comes after it, never ends up in progress
// without its station or partner.
func TestDeleteWaitsForMessageBeingAdded(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		for _, c := range []struct {
			what   string
			delete func(s *Store, w world) error
		}{
			{"station", func(s *Store, w world) error { return s.DeleteStation(t.Context(), w.station.ID) }},
			{"partner", func(s *Store, w world) error { return s.DeletePartner(t.Context(), w.partner.ID) }},
		} {
			t.Run(c.what, func(t *testing.T) {
				u := e.newDB(t)
				adder, deleter := openStore(t, u), openStore(t, u)
				w := newWorld(t, adder)

				tx, err := adder.db.BeginTx(t.Context(), nil)
				must(t, err)
				defer tx.Rollback()
				m := message(w.station, w.partner, as2gate.Outbound, as2gate.StatusQueued, "<racing@us>")
				must(t, insertMessage(t.Context(), tx, m, as2gate.NewID(), now(), now(), nil))

				deleted := make(chan error, 1)
				go func() { deleted <- c.delete(deleter, w) }()
				time.Sleep(300 * time.Millisecond) // the delete has checked for messages, and waits
				must(t, tx.Commit())
				wantCode(t, <-deleted, as2gate.EConflict, "1 message(s) in progress")
			})
		}
	})
}
