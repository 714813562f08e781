package pki

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"time"
	"unicode/utf8"
)

// clockSkew backdates new certificates: a partner whose clock runs a little
// behind ours would otherwise reject a certificate that is "not yet valid".
const clockSkew = time.Hour

// maxValidYears bounds the validity of generated certificates.
const maxValidYears = 30

// SelfSignedOptions describes a self-signed AS2 certificate to generate.
type SelfSignedOptions struct {
	CommonName         string // required
	Organization       string
	OrganizationalUnit string
	Locality           string
	Province           string
	Country            string // two-letter ISO 3166 code
	KeyBits            int    // 2048, 3072 or 4096
	ValidYears         int    // 1 to 30
	Now                time.Time
}

func (o *SelfSignedOptions) validate() error {
	switch o.KeyBits {
	case 2048, 3072, 4096:
	default:
		return fmt.Errorf("%w: key size %d bits (want 2048, 3072 or 4096)", ErrInvalidOptions, o.KeyBits)
	}
	if o.ValidYears < 1 || o.ValidYears > maxValidYears {
		return fmt.Errorf("%w: validity of %d years (want 1 to %d)", ErrInvalidOptions, o.ValidYears, maxValidYears)
	}
	if o.CommonName == "" {
		return fmt.Errorf("%w: common name is required", ErrInvalidOptions)
	}
	if o.Country != "" && !isCountryCode(o.Country) {
		return fmt.Errorf("%w: country %q is not a two-letter code", ErrInvalidOptions, o.Country)
	}
	// Upper bounds from RFC 5280 appendix A.1; some AS2 products reject
	// longer names.
	for _, f := range []struct {
		name, value string
		max         int
	}{
		{"common name", o.CommonName, 64},
		{"organization", o.Organization, 64},
		{"organizational unit", o.OrganizationalUnit, 64},
		{"locality", o.Locality, 128},
		{"province", o.Province, 128},
	} {
		if n := utf8.RuneCountInString(f.value); n > f.max {
			return fmt.Errorf("%w: %s of %d characters (limit %d)", ErrInvalidOptions, f.name, n, f.max)
		}
	}
	return nil
}

func isCountryCode(s string) bool {
	if len(s) != 2 {
		return false
	}
	for _, c := range []byte(s) {
		if (c < 'A' || c > 'Z') && (c < 'a' || c > 'z') {
			return false
		}
	}
	return true
}

// name builds the subject; empty fields are left out rather than encoded
// as empty attributes.
func (o *SelfSignedOptions) name() pkix.Name {
	n := pkix.Name{CommonName: o.CommonName}
	for _, f := range []struct {
		dst *[]string
		v   string
	}{
		{&n.Organization, o.Organization},
		{&n.OrganizationalUnit, o.OrganizationalUnit},
		{&n.Locality, o.Locality},
		{&n.Province, o.Province},
		{&n.Country, o.Country},
	} {
		if f.v != "" {
			*f.dst = []string{f.v}
		}
	}
	return n
}

// GenerateSelfSigned creates an RSA key and a self-signed certificate for
// AS2 signing and encryption: key usages digitalSignature, keyEncipherment
// and dataEncipherment, no extended key usage (AS2 certificates are not TLS
// certificates, and some partners reject unexpected EKUs), not a CA.
func GenerateSelfSigned(opts SelfSignedOptions) (*rsa.PrivateKey, *x509.Certificate, error) {
	if err := opts.validate(); err != nil {
		return nil, nil, fmt.Errorf("pki: %w", err)
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	key, err := rsa.GenerateKey(rand.Reader, opts.KeyBits)
	if err != nil {
		return nil, nil, fmt.Errorf("pki: generating RSA key: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               opts.name(),
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              now.AddDate(opts.ValidYears, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageDataEncipherment,
		BasicConstraintsValid: true,
		SubjectKeyId:          subjectKeyID(&key.PublicKey),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("pki: creating certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("pki: parsing new certificate: %w", err)
	}
	return key, cert, nil
}

// randomSerial returns a random positive 128-bit serial number. Setting the
// top bit keeps it exactly 128 bits long, so it is never zero and never
// shorter than partners expect.
func randomSerial() (*big.Int, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("pki: generating serial number: %w", err)
	}
	b[0] |= 0x80
	return new(big.Int).SetBytes(b), nil
}

// subjectKeyID derives the key identifier by RFC 7093 method 1: the leftmost
// 160 bits of the SHA-256 hash of the subjectPublicKey bits, which for RSA
// are the PKCS#1 public key.
func subjectKeyID(pub *rsa.PublicKey) []byte {
	sum := sha256.Sum256(x509.MarshalPKCS1PublicKey(pub))
	return sum[:20]
}

// EncodeCertPEM encodes certs as consecutive "CERTIFICATE" PEM blocks.
func EncodeCertPEM(certs ...*x509.Certificate) []byte {
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}

// EncodeKeyPEM encodes key as an unencrypted PKCS#8 "PRIVATE KEY" PEM block.
func EncodeKeyPEM(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("pki: encoding private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}
