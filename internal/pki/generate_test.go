package pki

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"testing"
	"time"
)

func TestGenerateSelfSigned(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		opts SelfSignedOptions
	}{
		{"2048 minimal", SelfSignedOptions{CommonName: "minimal", KeyBits: 2048, ValidYears: 1, Now: now}},
		{"2048 full subject", SelfSignedOptions{
			CommonName: "as2gate AS2", Organization: "Example, Inc.", OrganizationalUnit: "EDI",
			Locality: "Köln", Province: "NRW", Country: "DE", KeyBits: 2048, ValidYears: 3, Now: now,
		}},
		{"3072", SelfSignedOptions{CommonName: "three", KeyBits: 3072, ValidYears: 2, Now: now}},
		{"4096", SelfSignedOptions{CommonName: "four", KeyBits: 4096, ValidYears: 5, Now: now}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.opts.KeyBits == 4096 && testing.Short() {
				t.Skip("4096-bit key generation takes a second or more")
			}
			key, cert, err := GenerateSelfSigned(tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if key.N.BitLen() != tt.opts.KeyBits {
				t.Errorf("key of %d bits, want %d", key.N.BitLen(), tt.opts.KeyBits)
			}
			if !KeyMatchesCert(key, cert) {
				t.Error("key does not match certificate")
			}
			if err := cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature); err != nil {
				t.Errorf("self-signature: %v", err)
			}
			if cert.SignatureAlgorithm != x509.SHA256WithRSA {
				t.Errorf("signature algorithm %v", cert.SignatureAlgorithm)
			}
			if s := cert.SerialNumber; s.Sign() <= 0 || s.BitLen() > 128 || s.BitLen() < 120 {
				t.Errorf("serial %X is not a positive random 128-bit number", s)
			}
			if len(cert.SubjectKeyId) == 0 {
				t.Error("no subject key identifier")
			}
			wantUsage := x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageDataEncipherment
			if cert.KeyUsage != wantUsage {
				t.Errorf("key usage %b, want %b", cert.KeyUsage, wantUsage)
			}
			if len(cert.ExtKeyUsage) != 0 || len(cert.UnknownExtKeyUsage) != 0 {
				t.Errorf("extended key usage %v %v, want none", cert.ExtKeyUsage, cert.UnknownExtKeyUsage)
			}
			if !cert.BasicConstraintsValid || cert.IsCA {
				t.Errorf("basic constraints valid=%v CA=%v, want CA=false", cert.BasicConstraintsValid, cert.IsCA)
			}
			wantNotAfter := now.AddDate(tt.opts.ValidYears, 0, 0)
			if !cert.NotAfter.Equal(wantNotAfter) {
				t.Errorf("NotAfter %v, want %v", cert.NotAfter, wantNotAfter)
			}
			if !cert.NotBefore.Before(now) || now.Sub(cert.NotBefore) > 2*time.Hour {
				t.Errorf("NotBefore %v, want shortly before %v", cert.NotBefore, now)
			}
			if err := CheckValidity(cert, now); err != nil {
				t.Error(err)
			}
			s := cert.Subject
			for _, c := range []struct {
				field string
				got   []string
				want  string
			}{
				{"O", s.Organization, tt.opts.Organization},
				{"OU", s.OrganizationalUnit, tt.opts.OrganizationalUnit},
				{"L", s.Locality, tt.opts.Locality},
				{"ST", s.Province, tt.opts.Province},
				{"C", s.Country, tt.opts.Country},
			} {
				if (c.want == "" && len(c.got) != 0) || (c.want != "" && (len(c.got) != 1 || c.got[0] != c.want)) {
					t.Errorf("%s = %q, want %q", c.field, c.got, c.want)
				}
			}
			if s.CommonName != tt.opts.CommonName || !bytes.Equal(cert.RawSubject, cert.RawIssuer) {
				t.Errorf("subject %v, issuer %v", s, cert.Issuer)
			}
		})
	}
}

func TestGenerateSelfSignedDefaultsToNow(t *testing.T) {
	before := time.Now()
	_, a, err := GenerateSelfSigned(SelfSignedOptions{CommonName: "a", KeyBits: 2048, ValidYears: 1})
	if err != nil {
		t.Fatal(err)
	}
	_, b, err := GenerateSelfSigned(SelfSignedOptions{CommonName: "b", KeyBits: 2048, ValidYears: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckValidity(a, time.Now()); err != nil {
		t.Error(err)
	}
	if a.NotAfter.Before(before.AddDate(1, 0, 0).Truncate(time.Second)) {
		t.Errorf("NotAfter %v is less than a year from %v", a.NotAfter, before)
	}
	if a.SerialNumber.Cmp(b.SerialNumber) == 0 || bytes.Equal(a.SubjectKeyId, b.SubjectKeyId) {
		t.Error("two certificates share a serial number or key identifier")
	}
}

func TestGenerateSelfSignedRejects(t *testing.T) {
	ok := SelfSignedOptions{CommonName: "x", KeyBits: 2048, ValidYears: 1}
	long := string(bytes.Repeat([]byte("é"), 65))
	tests := []struct {
		name   string
		modify func(*SelfSignedOptions)
	}{
		{"1024 bits", func(o *SelfSignedOptions) { o.KeyBits = 1024 }},
		{"8192 bits", func(o *SelfSignedOptions) { o.KeyBits = 8192 }},
		{"zero bits", func(o *SelfSignedOptions) { o.KeyBits = 0 }},
		{"zero years", func(o *SelfSignedOptions) { o.ValidYears = 0 }},
		{"negative years", func(o *SelfSignedOptions) { o.ValidYears = -1 }},
		{"31 years", func(o *SelfSignedOptions) { o.ValidYears = 31 }},
		{"no common name", func(o *SelfSignedOptions) { o.CommonName = "" }},
		{"long common name", func(o *SelfSignedOptions) { o.CommonName = long }},
		{"long organization", func(o *SelfSignedOptions) { o.Organization = long }},
		{"three-letter country", func(o *SelfSignedOptions) { o.Country = "DEU" }},
		{"digit in country", func(o *SelfSignedOptions) { o.Country = "D1" }},
		{"non-ASCII country", func(o *SelfSignedOptions) { o.Country = "Ö" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := ok
			tt.modify(&opts)
			if _, _, err := GenerateSelfSigned(opts); !errors.Is(err, ErrInvalidOptions) {
				t.Errorf("err = %v, want ErrInvalidOptions", err)
			}
		})
	}
}

// generated returns one 2048-bit key pair for the round-trip tests.
func generated(t *testing.T) (*x509.Certificate, *rsa.PrivateKey) {
	t.Helper()
	key, cert, err := GenerateSelfSigned(SelfSignedOptions{CommonName: "round trip", KeyBits: 2048, ValidYears: 1})
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

func TestPEMRoundTrip(t *testing.T) {
	cert, key := generated(t)
	chain := parseCert(t, "pyas2lib-fixtures/cert_mecas2_public.pem")
	keyPEM, err := EncodeKeyPEM(key)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(keyPEM, []byte("-----BEGIN PRIVATE KEY-----\n")) {
		t.Errorf("key PEM starts %q, want a PKCS#8 block", keyPEM[:30])
	}
	// Chain before key, as users paste them.
	data := append(EncodeCertPEM(chain, cert), keyPEM...)
	b, err := Parse(data, "")
	if err != nil {
		t.Fatal(err)
	}
	if !key.Equal(b.Key) {
		t.Error("key changed in the round trip")
	}
	if len(b.Certs) != 2 || !b.Certs[0].Equal(cert) || !b.Certs[1].Equal(chain) {
		t.Errorf("certificates %q, want leaf then chain", commonNames(b.Certs))
	}
}

func TestEncodeKeyPEMECDSA(t *testing.T) {
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := EncodeKeyPEM(ec)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Parse(keyPEM, "")
	if err != nil {
		t.Fatal(err)
	}
	if !ec.Equal(b.Key) {
		t.Error("ECDSA key changed in the round trip")
	}
}

func TestPKCS12RoundTrip(t *testing.T) {
	cert, key := generated(t)
	chain := parseCert(t, "pyas2lib-fixtures/cert_mecas2_public.pem")
	for _, pw := range []string{"correct horse", ""} {
		p12, err := EncodePKCS12(key, cert, []*x509.Certificate{chain}, pw)
		if err != nil {
			t.Fatal(err)
		}
		b, err := Parse(p12, pw)
		if err != nil {
			t.Fatalf("password %q: %v", pw, err)
		}
		if !key.Equal(b.Key) {
			t.Errorf("password %q: key changed in the round trip", pw)
		}
		if len(b.Certs) != 2 || !b.Certs[0].Equal(cert) || !b.Certs[1].Equal(chain) {
			t.Errorf("password %q: certificates %q", pw, commonNames(b.Certs))
		}
		if _, err := Parse(p12, pw+"x"); !errors.Is(err, ErrBadPassword) {
			t.Errorf("password %q: wrong password gave %v, want ErrBadPassword", pw, err)
		}
	}
}

func TestEncodePKCS12Rejects(t *testing.T) {
	cert, key := generated(t)
	other := parseCert(t, "pyas2lib-fixtures/cert_mecas2_public.pem")
	if _, err := EncodePKCS12(key, other, nil, "pw"); !errors.Is(err, ErrKeyMismatch) {
		t.Errorf("foreign certificate: err = %v, want ErrKeyMismatch", err)
	}
	if _, err := EncodePKCS12(nil, cert, nil, "pw"); !errors.Is(err, ErrKeyMismatch) {
		t.Errorf("no key: err = %v, want ErrKeyMismatch", err)
	}
	if _, err := EncodePKCS12(key, nil, nil, "pw"); err == nil {
		t.Error("no certificate: no error")
	}
}
