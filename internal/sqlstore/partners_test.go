package sqlstore

import (
	"reflect"
	"testing"
	"time"

	"github.com/as2gate/as2gate"
)

func TestPartners(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		enc, sign, next, tls := newCert(t, s, "enc"), newCert(t, s, "sign"), newCert(t, s, "next"), newCert(t, s, "tls")
		// Every field differs from its zero value, so that a column read
		// into the wrong field shows.
		full := &as2gate.Partner{
			AS2ID: "FULL", Name: "Full Partner", Description: "every field", URL: "https://full.example.com/as2",
			EncryptCertID: enc.ID, SignCertID: sign.ID, NextCertID: next.ID, TLSCertID: tls.ID,
			Sign: "sha384", SignPSS: true, Encrypt: "aes128-gcm", KeyTransport: "oaep-sha256", Compress: "before",
			MDN: as2gate.MDNAsync, MDNSigned: true, MICAlg: "sha-384", Subject: "Orders", ContentType: "application/edi-x12",
			Timeout: 90 * time.Second, Retries: 7, RetryDelay: 45 * time.Second, MDNTimeout: 3 * time.Hour,
			Headers: []as2gate.Header{{Name: "X-Route", Value: "b2b"}, {Name: "X-Tenant", Value: "42"}},
			Chunked: true, Base64: true, RequireSigned: true, RequireEncrypted: true,
		}
		must(t, s.CreatePartner(ctx, full))
		bare := newPartner(t, s, "BARE", "")

		got, err := s.GetPartner(ctx, full.ID)
		must(t, err)
		if !reflect.DeepEqual(got, full) {
			t.Fatalf("got  %+v\nwant %+v", got, full)
		}
		got, err = s.GetPartnerByAS2ID(ctx, "BARE")
		must(t, err)
		if !reflect.DeepEqual(got, bare) || got.Headers != nil || got.EncryptCertID != "" {
			t.Fatalf("by AS2 ID: got %+v\nwant %+v", got, bare)
		}
		list, err := s.ListPartners(ctx)
		must(t, err)
		if !reflect.DeepEqual(list, []*as2gate.Partner{bare, full}) {
			t.Fatalf("list by AS2 ID: got %+v", list)
		}

		_, err = s.GetPartner(ctx, "missing")
		wantCode(t, err, as2gate.ENotFound, "partner missing not found")
		_, err = s.GetPartnerByAS2ID(ctx, "NOBODY")
		wantCode(t, err, as2gate.ENotFound, "partner with AS2 ID NOBODY not found")
		dup := *bare
		dup.ID = ""
		wantCode(t, s.CreatePartner(ctx, &dup), as2gate.EConflict, `a partner with AS2 ID "BARE" already exists`)
		for _, c := range []struct {
			field string
			set   func(p *as2gate.Partner)
		}{
			{"encrypt_cert_id", func(p *as2gate.Partner) { p.EncryptCertID = "nope" }},
			{"sign_cert_id", func(p *as2gate.Partner) { p.SignCertID = "nope" }},
			{"next_cert_id", func(p *as2gate.Partner) { p.NextCertID = "nope" }},
			{"tls_cert_id", func(p *as2gate.Partner) { p.TLSCertID = "nope" }},
		} {
			p := *bare
			p.ID, p.AS2ID = "", "NEW"
			c.set(&p)
			err := s.CreatePartner(ctx, &p)
			wantCode(t, err, as2gate.EInvalid, "certificate nope not found")
			if f := err.(*as2gate.Error).Field; f != c.field {
				t.Fatalf("field %q, want %s", f, c.field)
			}
		}

		full.Headers, full.SignCertID, full.Retries, full.Timeout, full.SignPSS = nil, "", 0, time.Second, false
		must(t, s.UpdatePartner(ctx, full))
		got, err = s.GetPartner(ctx, full.ID)
		must(t, err)
		if !reflect.DeepEqual(got, full) {
			t.Fatalf("after update: got %+v\nwant %+v", got, full)
		}
		full.AS2ID = "BARE"
		wantCode(t, s.UpdatePartner(ctx, full), as2gate.EConflict, "already exists")
		missing := *bare
		missing.ID = "missing"
		wantCode(t, s.UpdatePartner(ctx, &missing), as2gate.ENotFound, "partner missing not found")
	})
}
