package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"
)

// The expected values were read with `openssl x509 -noout -serial
// -fingerprint -subject -nameopt RFC2253`; TestOpenSSLDescribe re-checks
// this against the live CLI when it is installed.
func TestDescribeFixtures(t *testing.T) {
	tests := []struct {
		file       string
		index      int // which certificate of the file
		want       CertInfo
		selfSigned bool
	}{
		{
			file: "pyas2lib-fixtures/cert_test_public.pem",
			want: CertInfo{
				Subject:           `CN=pyas2lib,O=Internet Widgits Pty Ltd\,,ST=Some-State,C=AU`,
				Issuer:            `CN=pyas2lib,O=Internet Widgits Pty Ltd\,,ST=Some-State,C=AU`,
				CommonName:        "pyas2lib",
				SerialHex:         "D009B23E5FFE6697",
				FingerprintSHA256: "0B:C2:2C:31:7A:28:A6:7B:C6:A5:94:34:A0:A9:55:6B:3C:0B:FA:EA:3B:79:A5:B7:43:7A:F1:37:2D:AC:2C:C4",
				FingerprintSHA1:   "61:4E:D0:ED:ED:DE:FD:52:48:65:5C:39:AF:26:AE:F6:8D:C1:55:C4",
				NotBefore:         time.Date(2022, 1, 3, 16, 7, 27, 0, time.UTC),
				NotAfter:          time.Date(2032, 1, 1, 16, 7, 27, 0, time.UTC),
				KeyAlgorithm:      "RSA", KeyBits: 2048, SelfSigned: true,
			},
		},
		{
			file: "pyas2lib-fixtures/cert_mecas2_public.pem",
			want: CertInfo{
				Subject:           "CN=mendelson test key 3,OU=Do not use in production,O=mendelson-e-commerce GmbH,L=Berlin,ST=Berlin,C=DE,emailAddress=service@mendelson.de",
				Issuer:            "CN=mendelson test key 3,OU=Do not use in production,O=mendelson-e-commerce GmbH,L=Berlin,ST=Berlin,C=DE,emailAddress=service@mendelson.de",
				CommonName:        "mendelson test key 3",
				SerialHex:         "5A2A5B1C",
				FingerprintSHA256: "FE:C5:9F:BA:A1:55:2A:31:86:41:AA:31:07:B0:7F:8D:A4:06:97:EE:27:2C:3D:6E:4F:03:BE:AA:3E:F5:95:37",
				FingerprintSHA1:   "DC:99:5A:83:60:A4:37:C4:30:3B:10:AC:31:4E:D9:21:16:61:36:77",
				NotBefore:         time.Date(2017, 12, 8, 9, 27, 56, 0, time.UTC),
				NotAfter:          time.Date(2027, 12, 6, 9, 27, 56, 0, time.UTC),
				KeyAlgorithm:      "RSA", KeyBits: 2048, SelfSigned: true,
			},
		},
		{
			// Issued by a CA: the leading zero byte of the DER serial is
			// not shown.
			file: "pyas2lib-fixtures/verify_cert_test3.pem",
			want: CertInfo{
				Subject:           `CN=b2b.mclaneco.com,O=McLane Company\, Inc.,L=Temple,ST=Texas,C=US`,
				Issuer:            `CN=Entrust Certification Authority - L1K,OU=(c) 2012 Entrust\, Inc. - for authorized use only,OU=See www.entrust.net/legal-terms,O=Entrust\, Inc.,C=US`,
				CommonName:        "b2b.mclaneco.com",
				SerialHex:         "FCB118C7EBE1014E0000000050DBF8FF",
				FingerprintSHA256: "F1:D3:7D:FD:CA:81:D5:B4:12:E8:BB:1F:84:15:30:92:7B:B6:0C:A7:18:D5:1C:AD:11:40:75:0B:83:03:D2:1B",
				FingerprintSHA1:   "5F:7E:FF:CD:B5:CC:19:6F:E2:9A:C2:70:7D:85:C0:5B:8C:66:0B:2B",
				NotBefore:         time.Date(2017, 3, 24, 18, 8, 3, 0, time.UTC),
				NotAfter:          time.Date(2020, 6, 23, 18, 38, 1, 0, time.UTC),
				KeyAlgorithm:      "RSA", KeyBits: 2048, SelfSigned: false,
			},
		},
		{
			// Self-signed with SHA-1.
			file: "pyas2lib-fixtures/verify_cert_test2.cer",
			want: CertInfo{
				Subject:           "CN=as2test.summary-online.net,OU=CEP,O=Summary Handels- und Dienstleistungs GmbH,L=Itzehoe,ST=Schleswig-Holstein,C=DE,emailAddress=ceptest@summary-online.net",
				Issuer:            "CN=as2test.summary-online.net,OU=CEP,O=Summary Handels- und Dienstleistungs GmbH,L=Itzehoe,ST=Schleswig-Holstein,C=DE,emailAddress=ceptest@summary-online.net",
				CommonName:        "as2test.summary-online.net",
				SerialHex:         "532848E9",
				FingerprintSHA256: "1B:1E:E1:2E:C3:99:F5:4D:FE:E1:F3:A2:7E:98:D5:58:48:13:E4:3E:40:F5:61:87:00:AF:3D:D1:83:94:D6:19",
				FingerprintSHA1:   "24:FA:5F:02:4F:E4:47:7B:3E:E0:32:9E:39:52:B7:E9:C5:CE:95:37",
				NotBefore:         time.Date(2014, 3, 18, 13, 23, 53, 0, time.UTC),
				NotAfter:          time.Date(2017, 3, 17, 13, 23, 53, 0, time.UTC),
				KeyAlgorithm:      "RSA", KeyBits: 2048, SelfSigned: true,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			if got := Describe(parseCert(t, tt.file)); got != tt.want {
				t.Errorf("Describe =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestDescribeSelfSigned(t *testing.T) {
	b, err := ParseFile(fixture("pyas2lib-fixtures/verify_cert_test3.ca"), "")
	if err != nil {
		t.Fatal(err)
	}
	root, intermediate := b.Certs[0], b.Certs[1]
	if !Describe(root).SelfSigned || Describe(intermediate).SelfSigned {
		t.Errorf("root self-signed %v, intermediate self-signed %v; want true, false",
			Describe(root).SelfSigned, Describe(intermediate).SelfSigned)
	}
	// Same subject and issuer, but signed by another key: self-issued,
	// not self-signed.
	key := mustECKey(t, elliptic.P384())
	other := mustECKey(t, elliptic.P384())
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(0x0ABC),
		Subject:      pkix.Name{CommonName: "tls"},
		NotBefore:    time.Now(), NotAfter: time.Now().Add(time.Hour),
	}
	self := mustCreate(t, tmpl, &key.PublicKey, key)
	forged := mustCreate(t, tmpl, &key.PublicKey, other)
	if got := Describe(self); !got.SelfSigned || got.KeyAlgorithm != "ECDSA" || got.KeyBits != 384 || got.SerialHex != "0ABC" {
		t.Errorf("ECDSA self-signed: %+v", got)
	}
	if Describe(forged).SelfSigned {
		t.Error("certificate signed by another key is described as self-signed")
	}
}

func mustECKey(t *testing.T, c elliptic.Curve) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustCreate(t *testing.T, tmpl *x509.Certificate, pub crypto.PublicKey, signer crypto.Signer) *x509.Certificate {
	t.Helper()
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSerialHex(t *testing.T) {
	tests := []struct {
		serial *big.Int
		want   string
	}{
		{big.NewInt(0), "00"},
		{big.NewInt(0xABC), "0ABC"},
		{big.NewInt(0xFF), "FF"},
		{big.NewInt(-0x1234), "-1234"},
	}
	for _, tt := range tests {
		if got := serialHex(&x509.Certificate{SerialNumber: tt.serial}); got != tt.want {
			t.Errorf("serialHex(%v) = %q, want %q", tt.serial, got, tt.want)
		}
	}
}

// Escaping as RFC 4514 section 2.4 requires.
func TestFormatValue(t *testing.T) {
	tests := []struct {
		in   any
		want string
	}{
		{"plain", "plain"},
		{"Köln", "Köln"},
		{"a,b+c", `a\,b\+c`},
		{`"q" <x>;\`, `\"q\" \<x\>\;\\`},
		{"#lead", `\#lead`},
		{"mid#", "mid#"},
		{" both ", `\ both\ `},
		{"in side", "in side"},
		{"nul\x00", `nul\00`},
		{[]byte{1, 2}, "#04020102"}, // not a string: DER in hex
	}
	for _, tt := range tests {
		if got := formatValue(tt.in); got != tt.want {
			t.Errorf("formatValue(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCertInfoJSON(t *testing.T) {
	data, err := json.Marshal(Describe(parseCert(t, "pyas2lib-fixtures/cert_test_public.pem")))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := []string{"common_name", "fingerprint_sha1", "fingerprint_sha256", "issuer", "key_algorithm",
		"key_bits", "not_after", "not_before", "self_signed", "serial_hex", "subject"}
	if !slices.Equal(keys, want) {
		t.Errorf("JSON keys %q, want %q", keys, want)
	}
	if m["not_after"] != "2032-01-01T16:07:27Z" {
		t.Errorf("not_after = %v", m["not_after"])
	}
}

func TestCheckValidity(t *testing.T) {
	cert := parseCert(t, "pyas2lib-fixtures/cert_test_public.pem") // 2022-01-03 16:07:27 to 2032-01-01 16:07:27 UTC
	notBefore := time.Date(2022, 1, 3, 16, 7, 27, 0, time.UTC)
	notAfter := time.Date(2032, 1, 1, 16, 7, 27, 0, time.UTC)
	tests := []struct {
		name     string
		now      time.Time
		wantErr  error
		wantText string
	}{
		{"long before", time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), ErrNotYetValid, "valid from 2022-01-03 16:07:27 UTC"},
		{"a second before", notBefore.Add(-time.Second), ErrNotYetValid, "2022-01-03 16:07:27 UTC"},
		{"first second", notBefore, nil, ""},
		{"inside", time.Date(2026, 6, 1, 0, 0, 0, 0, time.FixedZone("CEST", 2*3600)), nil, ""},
		{"last second", notAfter, nil, ""},
		{"a second after", notAfter.Add(time.Second), ErrExpired, "expired on 2032-01-01 16:07:27 UTC"},
		{"local time zone", notAfter.Add(time.Hour).In(time.FixedZone("X", -5*3600)), ErrExpired, "(now 2032-01-01 17:07:27 UTC)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckValidity(cert, tt.now)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantText) || !strings.Contains(err.Error(), "pyas2lib") {
				t.Errorf("message %q lacks %q or the certificate name", err, tt.wantText)
			}
		})
	}
}

func TestKeyMatchesCert(t *testing.T) {
	key := derivedKey(t)
	own := parseCert(t, "pyas2lib-fixtures/cert_test_public.pem")
	foreign := parseCert(t, "pyas2lib-fixtures/cert_mecas2_public.pem")
	ec := mustECKey(t, elliptic.P256())
	tests := []struct {
		name string
		key  crypto.Signer
		cert *x509.Certificate
		want bool
	}{
		{"own certificate", key, own, true},
		{"foreign certificate", key, foreign, false},
		{"ECDSA key, RSA certificate", ec, own, false},
		{"no key", nil, own, false},
		{"no certificate", key, nil, false},
	}
	for _, tt := range tests {
		if got := KeyMatchesCert(tt.key, tt.cert); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}
