package service

import (
	"context"
	"reflect"
	"testing"

	"github.com/as2gate/as2gate"
	"github.com/as2gate/as2gate/client"
)

func TestCreatePartner(t *testing.T) {
	s := newService(t)
	ctx := context.Background()
	cert, err := s.ImportCertificate(ctx, client.CertificateImport{Data: partnerCertPEM(t, "partner")})
	if err != nil {
		t.Fatal(err)
	}
	url := "https://partner.example.com/as2"
	tests := []struct {
		name      string
		in        client.PartnerInput
		wantCode  as2gate.Code
		wantField string
		want      func(*client.Partner) bool
	}{
		{"defaults", client.PartnerInput{AS2ID: ptr("P1"), URL: &url, EncryptCertID: &cert.ID}, "", "",
			func(p *client.Partner) bool {
				return p.Name == "P1" && p.Sign == "sha256" && !p.SignPSS && p.Encrypt == "aes256-cbc" && p.KeyTransport == "" &&
					p.Compress == "none" && p.MDN == "sync" && p.MDNSigned && p.MICAlg == "sha-256" && p.Retries == 5 &&
					p.TimeoutSeconds == 120 && p.RetryDelaySeconds == 30 && p.MDNTimeoutSeconds == 6*3600 && !p.Chunked
			}},
		{"everything given", client.PartnerInput{AS2ID: ptr("P2"), Name: ptr("Partner Two"), URL: &url, EncryptCertID: &cert.ID,
			SignCertID: &cert.ID, Sign: ptr("sha512"), SignPSS: ptr(true), Encrypt: ptr("aes128-gcm"), KeyTransport: ptr("oaep-sha256"),
			Compress: ptr("before"), MDN: ptr("async"), MDNSigned: ptr(false), MICAlg: ptr("sha-512"), Subject: ptr("Orders"),
			ContentType: ptr("application/edi-x12"), TimeoutSeconds: ptr(60), Retries: ptr(0), RetryDelaySeconds: ptr(10),
			MDNTimeoutSeconds: ptr(3600), Headers: &[]client.Header{{Name: "X-Route", Value: "eu"}}, Chunked: ptr(true),
			Base64: ptr(true), RequireSigned: ptr(true), RequireEncrypted: ptr(true)}, "", "",
			func(p *client.Partner) bool {
				return p.Name == "Partner Two" && p.SignCertID == cert.ID && p.Sign == "sha512" && p.SignPSS && p.Encrypt == "aes128-gcm" &&
					p.KeyTransport == "oaep-sha256" && p.Compress == "before" && p.MDN == "async" && !p.MDNSigned && p.MICAlg == "sha-512" &&
					p.Subject == "Orders" && p.ContentType == "application/edi-x12" && p.TimeoutSeconds == 60 && p.Retries == 0 &&
					p.RetryDelaySeconds == 10 && p.MDNTimeoutSeconds == 3600 && reflect.DeepEqual(p.Headers, []client.Header{{Name: "X-Route", Value: "eu"}}) &&
					p.Chunked && p.Base64 && p.RequireSigned && p.RequireEncrypted
			}},
		{"plain, no certificate", client.PartnerInput{AS2ID: ptr("P3"), URL: &url, Sign: ptr("none"), Encrypt: ptr("none"), MDN: ptr("none")}, "", "",
			func(p *client.Partner) bool {
				return p.Sign == "" && p.Encrypt == "" && p.EncryptCertID == "" && p.MDN == "none"
			}},
		{"encryption without certificate", client.PartnerInput{AS2ID: ptr("P4"), URL: &url}, as2gate.EInvalid, "encrypt_cert_id", nil},
		{"duplicate", client.PartnerInput{AS2ID: ptr("P1"), URL: &url, EncryptCertID: &cert.ID}, as2gate.EConflict, "", nil},
		{"bad digest", client.PartnerInput{AS2ID: ptr("P5"), URL: &url, EncryptCertID: &cert.ID, Sign: ptr("sha999")}, as2gate.EInvalid, "sign", nil},
		{"bad cipher", client.PartnerInput{AS2ID: ptr("P5"), URL: &url, EncryptCertID: &cert.ID, Encrypt: ptr("rc2")}, as2gate.EInvalid, "encrypt", nil},
		{"bad URL", client.PartnerInput{AS2ID: ptr("P5"), URL: ptr("ftp://x"), EncryptCertID: &cert.ID}, as2gate.EInvalid, "url", nil},
		{"zero timeout", client.PartnerInput{AS2ID: ptr("P5"), URL: &url, EncryptCertID: &cert.ID, TimeoutSeconds: ptr(0)}, as2gate.EInvalid, "timeout_seconds", nil},
		{"reserved header", client.PartnerInput{AS2ID: ptr("P5"), URL: &url, EncryptCertID: &cert.ID, Headers: &[]client.Header{{Name: "AS2-To", Value: "x"}}}, as2gate.EInvalid, "headers", nil},
		{"unknown certificate", client.PartnerInput{AS2ID: ptr("P5"), URL: &url, EncryptCertID: ptr(as2gate.NewID())}, as2gate.EInvalid, "encrypt_cert_id", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := s.CreatePartner(ctx, tt.in)
			if tt.wantCode != "" {
				wantCode(t, err, tt.wantCode, tt.wantField)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			stored, err := s.GetPartner(ctx, *tt.in.AS2ID)
			if err != nil || !tt.want(p) || !tt.want(stored) {
				t.Fatalf("returned %+v, stored %+v (%v)", p, stored, err)
			}
		})
	}
	list, err := s.ListPartners(ctx)
	if err != nil || len(list) != 3 || list[0].AS2ID != "P1" || list[2].AS2ID != "P3" {
		t.Fatalf("list %+v, %v", list, err)
	}
}

func TestUpdatePartner(t *testing.T) {
	s := newService(t)
	ctx := context.Background()
	cert, _ := s.ImportCertificate(ctx, client.CertificateImport{Data: partnerCertPEM(t, "upd partner")})
	next, _ := s.ImportCertificate(ctx, client.CertificateImport{Data: partnerCertPEM(t, "upd partner next")})
	p, err := s.CreatePartner(ctx, client.PartnerInput{AS2ID: ptr("UP"), URL: ptr("http://a.example/as2"), EncryptCertID: &cert.ID,
		Subject: ptr("kept"), Headers: &[]client.Header{{Name: "X-A", Value: "1"}}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		in        client.PartnerInput
		wantCode  as2gate.Code
		wantField string
		want      func(*client.Partner) bool
	}{
		{"URL only", client.PartnerInput{URL: ptr("http://b.example/as2")}, "", "",
			func(q *client.Partner) bool {
				return q.URL == "http://b.example/as2" && q.Subject == "kept" && q.Sign == "sha256" && q.EncryptCertID == cert.ID && len(q.Headers) == 1
			}},
		{"rollover", client.PartnerInput{NextCertID: &next.ID}, "", "",
			func(q *client.Partner) bool { return q.NextCertID == next.ID && q.EncryptCertID == cert.ID }},
		{"end of rollover", client.PartnerInput{EncryptCertID: &next.ID, NextCertID: ptr("")}, "", "",
			func(q *client.Partner) bool { return q.NextCertID == "" && q.EncryptCertID == next.ID }},
		{"unsigned, headers cleared", client.PartnerInput{Sign: ptr("none"), Headers: &[]client.Header{}}, "", "",
			func(q *client.Partner) bool { return q.Sign == "" && len(q.Headers) == 0 && q.Encrypt == "aes256-cbc" }},
		{"MDN not signed", client.PartnerInput{MDNSigned: ptr(false), Retries: ptr(3)}, "", "",
			func(q *client.Partner) bool { return !q.MDNSigned && q.Retries == 3 && q.MDN == "sync" }},
		{"bad compress", client.PartnerInput{Compress: ptr("sometimes")}, as2gate.EInvalid, "compress", nil},
		{"negative retry delay", client.PartnerInput{RetryDelaySeconds: ptr(-1)}, as2gate.EInvalid, "retry_delay_seconds", nil},
		{"too many headers", client.PartnerInput{Headers: ptr(make([]client.Header, 51))}, as2gate.EInvalid, "headers", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.UpdatePartner(ctx, p.ID, tt.in)
			if tt.wantCode != "" {
				wantCode(t, err, tt.wantCode, tt.wantField)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			stored, err := s.GetPartner(ctx, "UP")
			if err != nil || !tt.want(got) || !tt.want(stored) {
				t.Fatalf("returned %+v, stored %+v (%v)", got, stored, err)
			}
		})
	}
	_, err = s.UpdatePartner(ctx, "NOPE", client.PartnerInput{Name: ptr("x")})
	wantCode(t, err, as2gate.ENotFound, "")

	if err := s.DeletePartner(ctx, "UP"); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetPartner(ctx, p.ID)
	wantCode(t, err, as2gate.ENotFound, "")
	wantCode(t, s.DeletePartner(ctx, "UP"), as2gate.ENotFound, "")
}
