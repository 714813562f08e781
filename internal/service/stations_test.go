package service

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/as2gate/as2gate"
	"github.com/as2gate/as2gate/client"
	"github.com/as2gate/as2gate/internal/pki"
	"github.com/as2gate/as2gate/internal/testpeer"
)

func TestCreateStation(t *testing.T) {
	s := newService(t)
	ctx := context.Background()
	id := testpeer.NewIdentity(t, "station key")
	p12, _ := pki.EncodePKCS12(id.Key, id.Cert, nil, "pw")
	ownKey, err := s.ImportCertificate(ctx, client.CertificateImport{Data: p12, Password: "pw"})
	if err != nil {
		t.Fatal(err)
	}
	public, err := s.ImportCertificate(ctx, client.CertificateImport{Data: partnerCertPEM(t, "public only")})
	if err != nil {
		t.Fatal(err)
	}
	longID := strings.Repeat("L", 100)
	tests := []struct {
		name      string
		in        client.StationInput
		wantCode  as2gate.Code
		wantField string
		wantCN    string // of the generated key pair
		wantCert  string // the certificate given
		wantName  string
	}{
		{"generated", client.StationInput{AS2ID: ptr("GEN"), Name: ptr("Generated"), Email: ptr("ops@example.com")}, "", "", "GEN", "", "Generated"},
		{"generated with options", client.StationInput{AS2ID: ptr("OPTS"), Generate: &client.CertificateGenerate{CommonName: "opts.example.com", KeyBits: 3072}}, "", "", "opts.example.com", "", "OPTS"},
		{"long AS2 ID, common name cut", client.StationInput{AS2ID: ptr(longID)}, "", "", longID[:64], "", longID},
		{"imported key pair", client.StationInput{AS2ID: ptr("OWN"), CertID: ptr(ownKey.ID)}, "", "", "", ownKey.ID, "OWN"},
		{"duplicate AS2 ID", client.StationInput{AS2ID: ptr("GEN")}, as2gate.EConflict, "", "", "", ""},
		{"duplicate AS2 ID with a certificate", client.StationInput{AS2ID: ptr("GEN"), CertID: ptr(ownKey.ID)}, as2gate.EConflict, "", "", "", ""},
		{"no AS2 ID", client.StationInput{Name: ptr("nameless")}, as2gate.EInvalid, "as2_id", "", "", ""},
		{"bad AS2 ID", client.StationInput{AS2ID: ptr("has\ttab")}, as2gate.EInvalid, "as2_id", "", "", ""},
		{"certificate without key", client.StationInput{AS2ID: ptr("PUB"), CertID: ptr(public.ID)}, as2gate.EInvalid, "cert_id", "", "", ""},
		{"unknown certificate", client.StationInput{AS2ID: ptr("UNK"), CertID: ptr(as2gate.NewID())}, as2gate.EInvalid, "cert_id", "", "", ""},
		{"certificate and generate", client.StationInput{AS2ID: ptr("BOTH"), CertID: ptr(ownKey.ID), Generate: &client.CertificateGenerate{}}, as2gate.EInvalid, "generate", "", "", ""},
		{"bad key size", client.StationInput{AS2ID: ptr("BITS"), Generate: &client.CertificateGenerate{KeyBits: 1000}}, as2gate.EInvalid, "key_bits", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, _ := s.ListCertificates(ctx)
			st, err := s.CreateStation(ctx, tt.in)
			after, _ := s.ListCertificates(ctx)
			if tt.wantCode != "" {
				wantCode(t, err, tt.wantCode, tt.wantField)
				if len(after) != len(before) {
					t.Fatalf("a refused station left %d new certificate(s)", len(after)-len(before))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if st.AS2ID != *tt.in.AS2ID || st.Name != tt.wantName || st.ID == "" || st.CreatedAt.IsZero() {
				t.Fatalf("station %+v", st)
			}
			if tt.in.Email != nil && st.Email != *tt.in.Email {
				t.Fatalf("email %q", st.Email)
			}
			cert, err := s.GetCertificate(ctx, st.CertID)
			if err != nil || !cert.HasPrivateKey {
				t.Fatalf("station certificate %+v, %v", cert, err)
			}
			switch {
			case tt.wantCert != "" && st.CertID != tt.wantCert:
				t.Fatalf("certificate %s, want %s", st.CertID, tt.wantCert)
			case tt.wantCN != "" && !strings.Contains(cert.Subject, "CN="+tt.wantCN):
				t.Fatalf("generated subject %q, want CN %q", cert.Subject, tt.wantCN)
			case tt.wantCN != "" && len(after) != len(before)+1:
				t.Fatalf("%d certificates made, want 1", len(after)-len(before))
			}
			got, err := s.GetStation(ctx, st.ID)
			if err != nil || *got != *st {
				t.Fatalf("by record ID: %+v, %v", got, err)
			}
		})
	}
}

func TestListStations(t *testing.T) {
	s := newService(t)
	ctx := context.Background()
	list, err := s.ListStations(ctx)
	if err != nil || list == nil || len(list) != 0 {
		t.Fatalf("empty list %#v, %v (want [] for JSON, not null)", list, err)
	}
	for _, id := range []string{"ZULU", "ALPHA"} {
		if _, err := s.CreateStation(ctx, client.StationInput{AS2ID: ptr(id)}); err != nil {
			t.Fatal(err)
		}
	}
	list, err = s.ListStations(ctx)
	if err != nil || len(list) != 2 || list[0].AS2ID != "ALPHA" || list[1].AS2ID != "ZULU" || list[0].CertID == list[1].CertID {
		t.Fatalf("list %+v, %v", list, err)
	}
}

func TestUpdateStation(t *testing.T) {
	s := newService(t)
	ctx := context.Background()
	st, err := s.CreateStation(ctx, client.StationInput{AS2ID: ptr("UPD"), Name: ptr("Before"), Description: ptr("kept"), Email: ptr("a@example.com")})
	if err != nil {
		t.Fatal(err)
	}
	first := st.CertID
	next, err := s.GenerateCertificate(ctx, client.CertificateGenerate{CommonName: "UPD next"})
	if err != nil {
		t.Fatal(err)
	}
	public, err := s.ImportCertificate(ctx, client.CertificateImport{Data: partnerCertPEM(t, "upd public")})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		ref       string
		in        client.StationInput
		wantCode  as2gate.Code
		wantField string
		want      func(*client.Station) bool
	}{
		{"name only", "UPD", client.StationInput{Name: ptr("After")}, "", "",
			func(s *client.Station) bool {
				return s.Name == "After" && s.Description == "kept" && s.Email == "a@example.com" && s.CertID == first
			}},
		{"start a rollover, by record ID", st.ID, client.StationInput{NextCertID: ptr(next.ID)}, "", "",
			func(s *client.Station) bool { return s.NextCertID == next.ID && s.CertID == first && s.Name == "After" }},
		{"clear the email", "UPD", client.StationInput{Email: ptr("")}, "", "",
			func(s *client.Station) bool { return s.Email == "" && s.NextCertID == next.ID }},
		{"next certificate without key", "UPD", client.StationInput{NextCertID: ptr(public.ID)}, as2gate.EInvalid, "next_cert_id", nil},
		{"generate", "UPD", client.StationInput{Generate: &client.CertificateGenerate{}}, as2gate.EInvalid, "generate", nil},
		{"bad AS2 ID", "UPD", client.StationInput{AS2ID: ptr("")}, as2gate.EInvalid, "as2_id", nil},
		{"unknown", "NOPE", client.StationInput{Name: ptr("x")}, as2gate.ENotFound, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.UpdateStation(ctx, tt.ref, tt.in)
			if tt.wantCode != "" {
				wantCode(t, err, tt.wantCode, tt.wantField)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			stored, err := s.GetStation(ctx, "UPD")
			if err != nil || !tt.want(got) || !tt.want(stored) {
				t.Fatalf("returned %+v, stored %+v (%v)", got, stored, err)
			}
		})
	}

	t.Run("certificates and promotion", func(t *testing.T) {
		current, _ := s.StationCertificatePEM(ctx, "UPD", false)
		nextPEM, _ := s.StationCertificatePEM(ctx, "UPD", true)
		want, _ := s.CertificatePEM(ctx, next.ID)
		if !bytes.Equal(nextPEM, want) || bytes.Equal(current, want) || len(current) == 0 {
			t.Fatal("the next certificate is not the one set")
		}
		promoted, err := s.PromoteStationCertificate(ctx, "UPD")
		if err != nil || promoted.CertID != next.ID || promoted.NextCertID != "" {
			t.Fatalf("promoted %+v, %v", promoted, err)
		}
		if now, _ := s.StationCertificatePEM(ctx, "UPD", false); !bytes.Equal(now, want) {
			t.Fatal("after promotion the current certificate is not the former next one")
		}
		_, err = s.StationCertificatePEM(ctx, "UPD", true)
		wantCode(t, err, as2gate.ENotFound, "")
		_, err = s.PromoteStationCertificate(ctx, "UPD")
		wantCode(t, err, as2gate.EInvalid, "next_cert_id")
	})
}

func TestDeleteStation(t *testing.T) {
	s := newService(t)
	ctx := context.Background()
	st, err := s.CreateStation(ctx, client.StationInput{AS2ID: ptr("DEL")})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name     string
		ref      string
		wantCode as2gate.Code
	}{
		{"by AS2 ID", "DEL", ""},
		{"again", "DEL", as2gate.ENotFound},
		{"never was", "NEVER", as2gate.ENotFound},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := s.DeleteStation(ctx, tt.ref)
			if tt.wantCode != "" {
				wantCode(t, err, tt.wantCode, "")
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.GetStation(ctx, st.ID)
			wantCode(t, err, as2gate.ENotFound, "")
			if _, err := s.GetCertificate(ctx, st.CertID); err != nil {
				t.Fatalf("the key pair went with the station: %v", err)
			}
		})
	}
}
