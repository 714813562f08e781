package pki

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"testing"

	"software.sslmate.com/src/go-pkcs12"
)

// withMACIterations re-encodes a PFX with another MAC iteration count.
func withMACIterations(t *testing.T, der []byte, n int) []byte {
	t.Helper()
	var pfx pfxPDU
	if err := unmarshalDER(der, &pfx); err != nil {
		t.Fatal(err)
	}
	pfx.MacData.Iterations = n
	return mustMarshal(t, pfx).FullBytes
}

func TestPKCS12IterationLimit(t *testing.T) {
	p12 := readFixture(t, "pyas2lib-fixtures/cert_test.p12")
	tests := []struct {
		iterations int
		wantErr    error
	}{
		{2048, nil}, // the real count: the re-encoding is faithful
		{maxIterations + 1, ErrUnsupported},
		{1 << 30, ErrUnsupported},
		{0, ErrUnsupported},
	}
	for _, tt := range tests {
		_, err := Parse(withMACIterations(t, p12, tt.iterations), "test")
		if tt.wantErr == nil && err != nil || !errors.Is(err, tt.wantErr) {
			t.Errorf("%d MAC iterations: err = %v, want %v", tt.iterations, err, tt.wantErr)
		}
	}
}

func TestCheckPBECost(t *testing.T) {
	salt := []byte("saltsalt")
	pbkdf2Alg := func(n int) pkix.AlgorithmIdentifier {
		return pkix.AlgorithmIdentifier{
			Algorithm:  oidPBKDF2,
			Parameters: mustMarshal(t, pbkdf2Params{Salt: salt, IterationCount: n, KeyLength: 32, PRF: pkix.AlgorithmIdentifier{Algorithm: oidHMACSHA256}}),
		}
	}
	pbes2 := func(n int) pkix.AlgorithmIdentifier {
		return pkix.AlgorithmIdentifier{Algorithm: oidPBES2, Parameters: mustMarshal(t, pbes2Params{
			KeyDerivationFunc: pbkdf2Alg(n),
			EncryptionScheme:  pkix.AlgorithmIdentifier{Algorithm: oidAES256CBC, Parameters: mustMarshal(t, make([]byte, 16))},
		})}
	}
	pbmac1 := func(n int) pkix.AlgorithmIdentifier {
		return pkix.AlgorithmIdentifier{Algorithm: oidPBMAC1, Parameters: mustMarshal(t, pbmac1Params{
			KeyDerivationFunc: pbkdf2Alg(n),
			MessageAuthScheme: pkix.AlgorithmIdentifier{Algorithm: oidHMACSHA256},
		})}
	}
	pkcs12PBE := func(n int) pkix.AlgorithmIdentifier {
		return pkix.AlgorithmIdentifier{
			Algorithm:  asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 1, 6}, // pbeWithSHAAnd40BitRC2-CBC
			Parameters: mustMarshal(t, pkcs12PBEParams{Salt: salt, Iterations: n}),
		}
	}
	tests := []struct {
		name    string
		alg     pkix.AlgorithmIdentifier
		wantErr error
	}{
		{"PBES2 at limit", pbes2(maxIterations), nil},
		{"PBES2 over limit", pbes2(maxIterations + 1), ErrUnsupported},
		{"PBMAC1 at limit", pbmac1(maxIterations), nil},
		{"PBMAC1 over limit", pbmac1(1 << 31), ErrUnsupported},
		{"PKCS#12 PBE at limit", pkcs12PBE(maxIterations), nil},
		{"PKCS#12 PBE over limit", pkcs12PBE(maxIterations + 1), ErrUnsupported},
		{"unknown algorithm", pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 2, 3}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkPBECost(tt.alg)
			if tt.wantErr == nil && err != nil || !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

// Files from go-pkcs12's encoders, PBMAC1 included, parse back; wrong
// passwords are told apart from other failures.
func TestParsePKCS12Encoders(t *testing.T) {
	key := derivedKey(t)
	cert := parseCert(t, "pyas2lib-fixtures/cert_test_public.pem")
	chain := parseCert(t, "pyas2lib-fixtures/cert_mecas2_public.pem")
	for name, enc := range map[string]*pkcs12.Encoder{
		"Modern2023": pkcs12.Modern2023, "Modern2026 (PBMAC1)": pkcs12.Modern2026,
		"LegacyDES": pkcs12.LegacyDES, "LegacyRC2": pkcs12.LegacyRC2,
	} {
		t.Run(name, func(t *testing.T) {
			der, err := enc.Encode(key, cert, []*x509.Certificate{chain}, "pw")
			if err != nil {
				t.Fatal(err)
			}
			b, err := Parse(der, "pw")
			if err != nil {
				t.Fatal(err)
			}
			if !key.Equal(b.Key) || len(b.Certs) != 2 || !b.Certs[0].Equal(cert) || !b.Certs[1].Equal(chain) {
				t.Errorf("got key %T and %q", b.Key, commonNames(b.Certs))
			}
			if _, err := Parse(der, "wrong"); !errors.Is(err, ErrBadPassword) {
				t.Errorf("wrong password: err = %v, want ErrBadPassword", err)
			}
		})
	}
}

// The iteration counts of the encrypted safe and of the key bag are
// checked too, not only the MAC's.
func TestPKCS12EncryptionIterationLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("encoding with a million iterations takes about a second")
	}
	key := derivedKey(t)
	cert := parseCert(t, "pyas2lib-fixtures/cert_test_public.pem")
	der, err := pkcs12.Modern2023.WithIterations(maxIterations+1).Encode(key, cert, nil, "pw")
	if err != nil {
		t.Fatal(err)
	}
	// With the MAC count back in bounds only the encryption counts are
	// left to refuse the file (the MAC itself no longer verifies).
	if _, err := Parse(withMACIterations(t, der, 2048), "pw"); !errors.Is(err, ErrUnsupported) {
		t.Errorf("err = %v, want ErrUnsupported", err)
	}
}
