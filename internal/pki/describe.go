package pki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// CertInfo is what the console and the API show about a certificate. Serial
// and fingerprints are formatted like `openssl x509 -serial -fingerprint` so
// that users can compare them with what a partner reads out.
type CertInfo struct {
	Subject           string    `json:"subject"`
	Issuer            string    `json:"issuer"`
	CommonName        string    `json:"common_name"`
	SerialHex         string    `json:"serial_hex"`
	FingerprintSHA256 string    `json:"fingerprint_sha256"`
	FingerprintSHA1   string    `json:"fingerprint_sha1"`
	NotBefore         time.Time `json:"not_before"`
	NotAfter          time.Time `json:"not_after"`
	KeyAlgorithm      string    `json:"key_algorithm"`
	KeyBits           int       `json:"key_bits"`
	SelfSigned        bool      `json:"self_signed"`
}

// Describe summarises c.
func Describe(c *x509.Certificate) CertInfo {
	sha256Sum := sha256.Sum256(c.Raw)
	sha1Sum := sha1.Sum(c.Raw)
	return CertInfo{
		Subject:           formatName(c.RawSubject, c.Subject),
		Issuer:            formatName(c.RawIssuer, c.Issuer),
		CommonName:        c.Subject.CommonName,
		SerialHex:         serialHex(c),
		FingerprintSHA256: colonHex(sha256Sum[:]),
		FingerprintSHA1:   colonHex(sha1Sum[:]),
		NotBefore:         c.NotBefore.UTC(),
		NotAfter:          c.NotAfter.UTC(),
		KeyAlgorithm:      c.PublicKeyAlgorithm.String(),
		KeyBits:           keyBits(c.PublicKey),
		SelfSigned:        isSelfSigned(c),
	}
}

// attributeNames are RFC 4514's short names plus the ones OpenSSL uses for
// attributes common in AS2 certificates. pkix.Name.String shows
// emailAddress, which many AS2 certificates carry, as an OID with hex.
var attributeNames = map[string]string{
	"2.5.4.3":                    "CN",
	"2.5.4.5":                    "serialNumber",
	"2.5.4.6":                    "C",
	"2.5.4.7":                    "L",
	"2.5.4.8":                    "ST",
	"2.5.4.9":                    "street",
	"2.5.4.10":                   "O",
	"2.5.4.11":                   "OU",
	"2.5.4.17":                   "postalCode",
	"0.9.2342.19200300.100.1.1":  "UID",
	"0.9.2342.19200300.100.1.25": "DC",
	"1.2.840.113549.1.9.1":       "emailAddress",
}

// formatName renders a DER Name as RFC 4514 does (most specific RDN first),
// which is also what `openssl x509 -nameopt RFC2253` prints.
func formatName(raw []byte, parsed pkix.Name) string {
	var seq pkix.RDNSequence
	if unmarshalDER(raw, &seq) != nil {
		return parsed.String() // encoding/asn1 is stricter than crypto/x509 on some strings
	}
	rdns := make([]string, 0, len(seq))
	for i := len(seq) - 1; i >= 0; i-- {
		atvs := make([]string, len(seq[i]))
		for j, atv := range seq[i] {
			name, ok := attributeNames[atv.Type.String()]
			if !ok {
				name = atv.Type.String()
			}
			atvs[j] = name + "=" + formatValue(atv.Value)
		}
		rdns = append(rdns, strings.Join(atvs, "+"))
	}
	return strings.Join(rdns, ",")
}

// formatValue escapes a string value as RFC 4514 section 2.4 requires and
// writes any other value as '#' and its DER in hex.
func formatValue(v any) string {
	s, ok := v.(string)
	if !ok {
		der, err := asn1.Marshal(v)
		if err != nil {
			return "#"
		}
		return "#" + hex.EncodeToString(der)
	}
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == 0:
			b.WriteString(`\00`)
			continue
		case strings.ContainsRune(`,+"\<>;`, r),
			r == '#' && i == 0,
			r == ' ' && (i == 0 || i == len(s)-1):
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// serialHex writes the serial in upper-case hex with an even number of
// digits, as OpenSSL does; old certificates may carry negative serials.
func serialHex(c *x509.Certificate) string {
	if c.SerialNumber == nil {
		return ""
	}
	s := fmt.Sprintf("%X", c.SerialNumber.Bytes()) // magnitude, no sign
	if s == "" {
		s = "00"
	}
	if c.SerialNumber.Sign() < 0 {
		s = "-" + s
	}
	return s
}

func colonHex(b []byte) string {
	parts := make([]string, len(b))
	for i, v := range b {
		parts[i] = fmt.Sprintf("%02X", v)
	}
	return strings.Join(parts, ":")
}

func keyBits(pub crypto.PublicKey) int {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return k.N.BitLen()
	case *ecdsa.PublicKey:
		return k.Curve.Params().BitSize
	case ed25519.PublicKey:
		return 256
	}
	return 0
}

// isSelfSigned reports whether c names itself as issuer and its signature
// verifies with its own key. SHA-1 signatures count: many AS2 partner
// certificates still use them.
func isSelfSigned(c *x509.Certificate) bool {
	return bytes.Equal(c.RawSubject, c.RawIssuer) &&
		c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil
}

// CheckValidity returns ErrExpired or ErrNotYetValid, with the dates in the
// message, when now lies outside c's validity period (both ends inclusive,
// as in RFC 5280).
func CheckValidity(c *x509.Certificate, now time.Time) error {
	const layout = "2006-01-02 15:04:05 MST"
	name := c.Subject.CommonName
	if name == "" {
		name = c.Subject.String()
	}
	switch {
	case now.Before(c.NotBefore):
		return fmt.Errorf("pki: %w: %q is valid from %s (now %s)", ErrNotYetValid, name,
			c.NotBefore.UTC().Format(layout), now.UTC().Format(layout))
	case now.After(c.NotAfter):
		return fmt.Errorf("pki: %w: %q expired on %s (now %s)", ErrExpired, name,
			c.NotAfter.UTC().Format(layout), now.UTC().Format(layout))
	}
	return nil
}

// KeyMatchesCert reports whether key is the private key of cert's public key.
func KeyMatchesCert(key crypto.Signer, cert *x509.Certificate) bool {
	if key == nil || cert == nil {
		return false
	}
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	return ok && pub.Equal(cert.PublicKey)
}
