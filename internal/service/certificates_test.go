package service

import (
	"bytes"
	"context"
	"crypto/rsa"
	"strings"
	"testing"
	"time"

	"github.com/as2gate/as2gate"
	"github.com/as2gate/as2gate/client"
	"github.com/as2gate/as2gate/internal/pki"
	"github.com/as2gate/as2gate/internal/testpeer"
)

func TestGenerateCertificate(t *testing.T) {
	s := newService(t)
	ctx := context.Background()
	tests := []struct {
		name      string
		in        client.CertificateGenerate
		wantCode  as2gate.Code
		wantField string
		wantBits  int
		wantYears int
	}{
		{"defaults", client.CertificateGenerate{CommonName: "defaults"}, "", "", 2048, 3},
		{"3072 bits, 1 year", client.CertificateGenerate{CommonName: "bigger", KeyBits: 3072, ValidYears: 1, Organization: "Acme", Country: "DE"}, "", "", 3072, 1},
		{"1024 bits", client.CertificateGenerate{CommonName: "x", KeyBits: 1024}, as2gate.EInvalid, "key_bits", 0, 0},
		{"31 years", client.CertificateGenerate{CommonName: "x", ValidYears: 31}, as2gate.EInvalid, "valid_years", 0, 0},
		{"no common name", client.CertificateGenerate{}, as2gate.EInvalid, "common_name", 0, 0},
		{"bad country", client.CertificateGenerate{CommonName: "x", Country: "Germany"}, as2gate.EInvalid, "", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := s.GenerateCertificate(ctx, tt.in)
			if tt.wantCode != "" {
				wantCode(t, err, tt.wantCode, tt.wantField)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !c.HasPrivateKey || c.Name != tt.in.CommonName || !strings.Contains(c.Subject, "CN="+tt.in.CommonName) {
				t.Fatalf("certificate %+v", c)
			}
			pem, err := s.CertificatePEM(ctx, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(pem, []byte("PRIVATE KEY")) {
				t.Fatal("the PEM export holds the private key")
			}
			b, err := pki.Parse(pem, "")
			if err != nil || len(b.Certs) != 1 {
				t.Fatalf("exported PEM: %v", err)
			}
			if bits := b.Certs[0].PublicKey.(*rsa.PublicKey).N.BitLen(); bits != tt.wantBits {
				t.Errorf("key of %d bits, want %d", bits, tt.wantBits)
			}
			if y := b.Certs[0].NotAfter.Sub(b.Certs[0].NotBefore).Hours() / 24 / 365; y < float64(tt.wantYears)-0.1 || y > float64(tt.wantYears)+0.1 {
				t.Errorf("valid for %.2f years, want %d", y, tt.wantYears)
			}
		})
	}
	t.Run("cause shown", func(t *testing.T) {
		_, err := s.GenerateCertificate(ctx, client.CertificateGenerate{CommonName: "x", Country: "Germany"})
		if !strings.Contains(as2gate.ErrorMessage(err), "two-letter") {
			t.Fatalf("message %q does not say what is wrong", as2gate.ErrorMessage(err))
		}
	})
}

func TestImportCertificate(t *testing.T) {
	s := newService(t)
	ctx := context.Background()
	id := testpeer.NewIdentity(t, "import")
	p12, err := pki.EncodePKCS12(id.Key, id.Cert, nil, "secret")
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, _ := pki.EncodeKeyPEM(id.Key)
	other := testpeer.NewIdentity(t, "import other")
	tests := []struct {
		name      string
		in        client.CertificateImport
		wantKey   bool
		wantCode  as2gate.Code
		wantField string
		wantMsg   string
	}{
		{"PKCS#12 with key", client.CertificateImport{Name: "ours", Data: p12, Password: "secret"}, true, "", "", ""},
		{"same again as PEM", client.CertificateImport{Data: pki.EncodeCertPEM(id.Cert)}, false, as2gate.EConflict, "", "already stored"},
		{"public PEM", client.CertificateImport{Data: pki.EncodeCertPEM(other.Cert)}, false, "", "", ""},
		{"wrong password", client.CertificateImport{Data: p12, Password: "wrong"}, false, as2gate.EInvalid, "password", "wrong"},
		{"key without certificate", client.CertificateImport{Data: keyPEM}, false, as2gate.EInvalid, "data", "no certificate"},
		{"garbage", client.CertificateImport{Data: []byte("hello")}, false, as2gate.EInvalid, "data", "no certificate or private key found"},
		{"empty", client.CertificateImport{}, false, as2gate.EInvalid, "data", "empty"},
		{"too large", client.CertificateImport{Data: make([]byte, pki.MaxInputSize+1)}, false, as2gate.ETooLarge, "data", ""},
		{"long name", client.CertificateImport{Name: strings.Repeat("n", 201), Data: pki.EncodeCertPEM(other.Cert)}, false, as2gate.EInvalid, "name", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := s.ImportCertificate(ctx, tt.in)
			if tt.wantCode != "" {
				wantCode(t, err, tt.wantCode, tt.wantField)
				if !strings.Contains(as2gate.ErrorMessage(err), tt.wantMsg) {
					t.Fatalf("message %q, want it to say %q", as2gate.ErrorMessage(err), tt.wantMsg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.HasPrivateKey != tt.wantKey {
				t.Fatalf("has private key %v, want %v", c.HasPrivateKey, tt.wantKey)
			}
			got, err := s.GetCertificate(ctx, c.ID)
			if err != nil || got.Fingerprint != c.Fingerprint || got.Fingerprint == "" {
				t.Fatalf("stored %+v, %v", got, err)
			}
		})
	}
	list, err := s.ListCertificates(ctx)
	if err != nil || len(list) != 2 {
		t.Fatalf("%d certificates (%v), want the two imported", len(list), err)
	}
}

func TestCertificateExpiry(t *testing.T) {
	s := newService(t)
	ctx := context.Background()
	c, err := s.GenerateCertificate(ctx, client.CertificateGenerate{CommonName: "expiry", ValidYears: 1})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		at          time.Time
		wantExpired bool
		wantDays    int
	}{
		{"now", c.NotAfter.Add(-100*24*time.Hour - time.Minute), false, 100},
		{"last day", c.NotAfter.Add(-time.Hour), false, 0},
		{"after", c.NotAfter.Add(time.Second), true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.now = func() time.Time { return tt.at }
			got, err := s.GetCertificate(ctx, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Expired != tt.wantExpired || got.DaysLeft != tt.wantDays {
				t.Fatalf("expired %v, %d days left; want %v, %d", got.Expired, got.DaysLeft, tt.wantExpired, tt.wantDays)
			}
			list, _ := s.ListCertificates(ctx)
			if len(list) != 1 || list[0].Expired != tt.wantExpired || list[0].DaysLeft != tt.wantDays {
				t.Fatalf("list %+v", list)
			}
		})
	}
}

func TestDeleteCertificate(t *testing.T) {
	s := newService(t)
	ctx := context.Background()
	st, err := s.CreateStation(ctx, client.StationInput{AS2ID: ptr("DELTEST")})
	if err != nil {
		t.Fatal(err)
	}
	free, err := s.ImportCertificate(ctx, client.CertificateImport{Data: partnerCertPEM(t, "free")})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		id       string
		wantCode as2gate.Code
	}{
		{"in use by a station", st.CertID, as2gate.EConflict},
		{"unused", free.ID, ""},
		{"gone", free.ID, as2gate.ENotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.DeleteCertificate(ctx, tt.id)
			if tt.wantCode != "" {
				wantCode(t, err, tt.wantCode, "")
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.GetCertificate(ctx, tt.id)
			wantCode(t, err, as2gate.ENotFound, "")
		})
	}
}
