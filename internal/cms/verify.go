package cms

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/subtle"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/as2gate/as2gate/internal/ber"
)

// MaxSignatureSize bounds a SignedData read into memory (a detached
// signature with its certificate chain is a few KiB).
const MaxSignatureSize = 1 << 20

// ErrDigestNotComputed: Verify was not given the digest of the content with
// the algorithm the signer used; the caller should hash again with it.
var ErrDigestNotComputed = errors.New("cms: content digest not computed with the signer's algorithm")

// SignedData is a parsed detached SignedData.
type SignedData struct {
	Certificates []*x509.Certificate // embedded certificates (unverified)
	Signers      []SignerInfo
}

// SignerInfo is one signature of a SignedData.
type SignerInfo struct {
	Digest      crypto.Hash
	Scheme      SignatureScheme
	SigningTime time.Time // zero when absent
	// AlgorithmProtection: the CMSAlgorithmProtection attribute is present.
	AlgorithmProtection bool

	issuer        []byte // raw Name, when identified by issuer and serial
	serial        *big.Int
	subjectKeyID  []byte
	signedAttrs   []byte // DER SET OF Attribute, nil when absent
	contentType   asn1.ObjectIdentifier
	messageDigest []byte
	pssHash       crypto.Hash // zero: same as Digest
	signature     []byte
}

type contentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue `asn1:"explicit,optional,tag:0"`
}

type signedDataIn struct {
	Version          int
	DigestAlgorithms asn1.RawValue
	EncapContentInfo struct {
		ContentType asn1.ObjectIdentifier
		Content     asn1.RawValue `asn1:"explicit,optional,tag:0"`
	}
	Certificates asn1.RawValue  `asn1:"optional,tag:0"`
	CRLs         asn1.RawValue  `asn1:"optional,tag:1"`
	SignerInfos  []signerInfoIn `asn1:"set"`
}

type signerInfoIn struct {
	Version            int
	SID                asn1.RawValue
	DigestAlgorithm    pkix.AlgorithmIdentifier
	SignedAttrs        asn1.RawValue `asn1:"optional,tag:0"`
	SignatureAlgorithm pkix.AlgorithmIdentifier
	Signature          []byte
	UnsignedAttrs      asn1.RawValue `asn1:"optional,tag:1"`
}

// ParseSignedData reads a ContentInfo holding a SignedData, in BER or DER.
func ParseSignedData(data []byte) (*SignedData, error) {
	r := ber.NewReader(bytes.NewReader(data))
	h, err := r.Next()
	if err != nil {
		return nil, fmt.Errorf("cms: reading signature: %w", err)
	}
	der, err := r.ReadDER(h, MaxSignatureSize)
	if err != nil {
		return nil, fmt.Errorf("cms: reading signature: %w", err)
	}
	var ci contentInfo
	if rest, err := asn1.Unmarshal(der, &ci); err != nil || len(rest) > 0 {
		return nil, fmt.Errorf("%w: signature is not a ContentInfo", ErrMalformed)
	}
	if !ci.ContentType.Equal(oidSignedData) {
		return nil, fmt.Errorf("%w: expected signed-data, got content type %v", ErrMalformed, ci.ContentType)
	}
	var sd signedDataIn
	if rest, err := asn1.Unmarshal(ci.Content.Bytes, &sd); err != nil || len(rest) > 0 {
		return nil, fmt.Errorf("%w: bad SignedData: %v", ErrMalformed, err)
	}
	out := &SignedData{}
	if len(sd.Certificates.Bytes) > 0 {
		out.Certificates = parseCertificateSet(sd.Certificates.Bytes)
	}
	if len(sd.SignerInfos) == 0 {
		return nil, fmt.Errorf("%w: SignedData without signers", ErrMalformed)
	}
	for _, in := range sd.SignerInfos {
		si, err := parseSignerInfo(in)
		if err != nil {
			return nil, err
		}
		// The encapsulated content type is not signed; the attribute is
		// (RFC 5652 §5.3, §11.1), and the two must agree.
		if si.signedAttrs != nil && !si.contentType.Equal(sd.EncapContentInfo.ContentType) {
			return nil, fmt.Errorf("%w: signed content type %v, encapsulated content type %v", ErrMalformed,
				si.contentType, sd.EncapContentInfo.ContentType)
		}
		out.Signers = append(out.Signers, si)
	}
	return out, nil
}

// parseCertificateSet keeps the X.509 certificates of a CertificateSet and
// ignores other choices (attribute certificates) and unparsable entries.
func parseCertificateSet(b []byte) []*x509.Certificate {
	var certs []*x509.Certificate
	for len(b) > 0 {
		var raw asn1.RawValue
		rest, err := asn1.Unmarshal(b, &raw)
		if err != nil {
			break
		}
		b = rest
		if raw.Class != asn1.ClassUniversal || raw.Tag != asn1.TagSequence {
			continue
		}
		if c, err := x509.ParseCertificate(raw.FullBytes); err == nil {
			certs = append(certs, c)
		}
	}
	return certs
}

func parseSignerInfo(in signerInfoIn) (SignerInfo, error) {
	si := SignerInfo{signature: in.Signature}
	var err error
	if si.Digest, err = hashFromOID(in.DigestAlgorithm.Algorithm); err != nil {
		return si, err
	}
	switch {
	case in.SID.Class == asn1.ClassUniversal && in.SID.Tag == asn1.TagSequence:
		var ias struct {
			Issuer asn1.RawValue
			Serial *big.Int
		}
		if _, err := asn1.Unmarshal(in.SID.FullBytes, &ias); err != nil {
			return si, fmt.Errorf("%w: bad signer identifier", ErrMalformed)
		}
		si.issuer, si.serial = ias.Issuer.FullBytes, ias.Serial
	case in.SID.Class == asn1.ClassContextSpecific && in.SID.Tag == 0:
		si.subjectKeyID = in.SID.Bytes
	default:
		return si, fmt.Errorf("%w: bad signer identifier", ErrMalformed)
	}
	alg := in.SignatureAlgorithm.Algorithm
	switch {
	case alg.Equal(oidRSASSAPSS):
		si.Scheme = PSS
		if si.pssHash, err = parsePSSParams(in.SignatureAlgorithm.Parameters); err != nil {
			return si, err
		}
	case alg.Equal(oidRSAEncryption):
	default:
		if _, err := hashFromOID(alg); err != nil {
			return si, fmt.Errorf("%w: signature algorithm %v", ErrUnsupportedAlgorithm, alg)
		}
	}
	if len(in.SignedAttrs.FullBytes) > 0 {
		si.signedAttrs = append([]byte{}, in.SignedAttrs.FullBytes...)
		si.signedAttrs[0] = 0x31 // signed over as SET OF, not [0] IMPLICIT
		if err := si.readAttributes(); err != nil {
			return si, err
		}
	}
	return si, nil
}

// parsePSSParams returns the PSS hash, or zero when the parameters are
// absent (pyas2lib writes rsassaPss without parameters and hashes with the
// digest algorithm). The salt length is not needed: verification accepts any.
func parsePSSParams(p asn1.RawValue) (crypto.Hash, error) {
	if len(p.FullBytes) == 0 || p.Tag == asn1.TagNull {
		return 0, nil
	}
	var params struct {
		Hash pkix.AlgorithmIdentifier `asn1:"explicit,optional,tag:0"`
		MGF  pkix.AlgorithmIdentifier `asn1:"explicit,optional,tag:1"`
		Salt int                      `asn1:"explicit,optional,tag:2,default:20"`
	}
	if _, err := asn1.Unmarshal(p.FullBytes, &params); err != nil {
		return 0, fmt.Errorf("%w: bad RSASSA-PSS parameters", ErrMalformed)
	}
	h := crypto.SHA1
	if len(params.Hash.Algorithm) > 0 {
		var err error
		if h, err = hashFromOID(params.Hash.Algorithm); err != nil {
			return 0, err
		}
	}
	mgfHash := crypto.SHA1
	if len(params.MGF.Algorithm) > 0 {
		if !params.MGF.Algorithm.Equal(oidMGF1) {
			return 0, fmt.Errorf("%w: PSS mask generation %v", ErrUnsupportedAlgorithm, params.MGF.Algorithm)
		}
		var mgfAlg pkix.AlgorithmIdentifier
		if _, err := asn1.Unmarshal(params.MGF.Parameters.FullBytes, &mgfAlg); err != nil {
			return 0, fmt.Errorf("%w: bad MGF1 parameters", ErrMalformed)
		}
		var err error
		if mgfHash, err = hashFromOID(mgfAlg.Algorithm); err != nil {
			return 0, err
		}
	}
	if mgfHash != h {
		return 0, fmt.Errorf("%w: PSS with MGF1-%s over %s", ErrUnsupportedAlgorithm, DigestName(mgfHash), DigestName(h))
	}
	return h, nil
}

func (si *SignerInfo) readAttributes() error {
	var attrs []attribute
	if rest, err := asn1.UnmarshalWithParams(si.signedAttrs, &attrs, "set"); err != nil || len(rest) > 0 {
		return fmt.Errorf("%w: bad signed attributes", ErrMalformed)
	}
	for _, a := range attrs {
		var values []asn1.RawValue
		if _, err := asn1.UnmarshalWithParams(a.Values.FullBytes, &values, "set"); err != nil || len(values) == 0 {
			return fmt.Errorf("%w: bad signed attribute %v", ErrMalformed, a.Type)
		}
		v := values[0]
		switch {
		case a.Type.Equal(oidAttrContentType):
			if _, err := asn1.Unmarshal(v.FullBytes, &si.contentType); err != nil {
				return fmt.Errorf("%w: bad content-type attribute", ErrMalformed)
			}
		case a.Type.Equal(oidAttrMessageDigest):
			if _, err := asn1.Unmarshal(v.FullBytes, &si.messageDigest); err != nil {
				return fmt.Errorf("%w: bad message-digest attribute", ErrMalformed)
			}
		case a.Type.Equal(oidAttrSigningTime):
			var t time.Time
			if _, err := asn1.Unmarshal(v.FullBytes, &t); err == nil {
				si.SigningTime = t
			}
		case a.Type.Equal(oidAttrAlgProtection):
			si.AlgorithmProtection = true
		}
	}
	if si.messageDigest == nil {
		return fmt.Errorf("%w: signed attributes without message-digest", ErrMalformed)
	}
	return nil
}

// Digests lists the digest algorithms the signers used, which the content
// must be hashed with.
func (sd *SignedData) Digests() []crypto.Hash {
	var out []crypto.Hash
	for _, s := range sd.Signers {
		if !containsHash(out, s.Digest) {
			out = append(out, s.Digest)
		}
	}
	return out
}

func containsHash(list []crypto.Hash, h crypto.Hash) bool {
	for _, x := range list {
		if x == h {
			return true
		}
	}
	return false
}

// VerifyOptions says what to check a signature against.
type VerifyOptions struct {
	// Trusted are the certificates the signer may use (a partner's
	// current and next certificates). When empty, the embedded certificate
	// is used and the result is marked untrusted.
	Trusted []*x509.Certificate
	// Digests holds the digest of the detached content per algorithm.
	Digests map[crypto.Hash][]byte
}

// Verified describes a valid signature.
type Verified struct {
	Signer      *x509.Certificate
	Digest      crypto.Hash
	Scheme      SignatureScheme
	SigningTime time.Time
	// Trusted: Signer is one of VerifyOptions.Trusted.
	Trusted             bool
	AlgorithmProtection bool
}

// Verify checks the first signer that verifies. Errors: ErrDigestNotComputed,
// ErrDigestMismatch, ErrUnknownSigner, ErrSignature.
func (sd *SignedData) Verify(opts VerifyOptions) (*Verified, error) {
	var firstErr error
	for i := range sd.Signers {
		v, err := sd.verifySigner(&sd.Signers[i], opts)
		if err == nil {
			return v, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return nil, firstErr
}

func (sd *SignedData) verifySigner(si *SignerInfo, opts VerifyOptions) (*Verified, error) {
	digest, ok := opts.Digests[si.Digest]
	if !ok {
		return nil, fmt.Errorf("%w (%s)", ErrDigestNotComputed, DigestName(si.Digest))
	}
	signed := digest
	if si.signedAttrs != nil {
		if subtle.ConstantTimeCompare(si.messageDigest, digest) != 1 {
			return nil, ErrDigestMismatch
		}
		h := si.Digest.New()
		h.Write(si.signedAttrs)
		signed = h.Sum(nil)
	}
	trusted := len(opts.Trusted) > 0
	candidates := opts.Trusted
	if !trusted {
		candidates = sd.Certificates
	}
	matching := si.matching(candidates)
	if len(matching) == 0 && trusted {
		// Issuer names are sometimes re-encoded between products: try
		// every trusted certificate rather than fail on the identifier.
		matching = candidates
	}
	if len(matching) == 0 {
		return nil, fmt.Errorf("%w: no certificate matches the signer %s", ErrUnknownSigner, si.describe())
	}
	var lastErr error
	for _, c := range matching {
		if err := si.verifyWith(c, signed); err != nil {
			lastErr = err
			continue
		}
		return &Verified{Signer: c, Digest: si.Digest, Scheme: si.Scheme, SigningTime: si.SigningTime,
			Trusted: trusted, AlgorithmProtection: si.AlgorithmProtection}, nil
	}
	if trusted && len(si.matching(sd.Certificates)) > 0 && len(si.matching(opts.Trusted)) == 0 {
		c := si.matching(sd.Certificates)[0]
		return nil, fmt.Errorf("%w: signed with %q (serial %x), which is not the partner's certificate",
			ErrUnknownSigner, c.Subject.String(), c.SerialNumber)
	}
	return nil, lastErr
}

func (si *SignerInfo) describe() string {
	if si.serial != nil {
		var name pkix.RDNSequence
		if _, err := asn1.Unmarshal(si.issuer, &name); err == nil {
			return fmt.Sprintf("(issuer %q, serial %x)", name.String(), si.serial)
		}
		return fmt.Sprintf("(serial %x)", si.serial)
	}
	return fmt.Sprintf("(subject key id %x)", si.subjectKeyID)
}

func (si *SignerInfo) matching(certs []*x509.Certificate) []*x509.Certificate {
	var out []*x509.Certificate
	for _, c := range certs {
		if si.serial != nil && c.SerialNumber.Cmp(si.serial) == 0 && bytes.Equal(c.RawIssuer, si.issuer) {
			out = append(out, c)
		} else if si.subjectKeyID != nil && bytes.Equal(c.SubjectKeyId, si.subjectKeyID) {
			out = append(out, c)
		}
	}
	return out
}

func (si *SignerInfo) verifyWith(c *x509.Certificate, signed []byte) error {
	pub, ok := c.PublicKey.(*rsa.PublicKey)
	if !ok {
		return fmt.Errorf("%w: signer key is not RSA", ErrUnsupportedAlgorithm)
	}
	var err error
	if si.Scheme == PSS {
		h := si.pssHash
		if h == 0 {
			h = si.Digest
		}
		if h != si.Digest {
			// The signature is over a digest of the signed attributes made
			// with the PSS hash.
			return fmt.Errorf("%w: PSS hash %s differs from digest %s", ErrUnsupportedAlgorithm, DigestName(h), DigestName(si.Digest))
		}
		err = rsa.VerifyPSS(pub, h, signed, si.signature, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
	} else {
		err = rsa.VerifyPKCS1v15(pub, si.Digest, signed, si.signature)
	}
	if err != nil {
		return fmt.Errorf("%w with certificate %q", ErrSignature, c.Subject.String())
	}
	return nil
}
