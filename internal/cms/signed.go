package cms

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"hash"
	"io"
	"math/big"
	"sort"
	"time"

	"github.com/as2gate/as2gate/internal/ber"
)

// Signer makes detached SignedData (the application/pkcs7-signature part of
// multipart/signed). The caller hashes the content with NewHash, as it
// streams, and passes the digest to Sign.
type Signer struct {
	Key    crypto.Signer     // an RSA private key
	Cert   *x509.Certificate // the certificate of Key, embedded in the signature
	Chain  []*x509.Certificate
	Digest crypto.Hash // SHA-1, SHA-224, SHA-256, SHA-384 or SHA-512
	Scheme SignatureScheme
	// PSSSaltLength is the RSASSA-PSS salt length; zero means the digest
	// length, which interoperates best.
	PSSSaltLength int
	// AlgorithmProtection adds the CMSAlgorithmProtection attribute
	// (RFC 6211). Off by default: IBM Sterling, DataPower and Mendelson are
	// known to reject it.
	AlgorithmProtection bool
	Rand                io.Reader        // nil: crypto/rand
	Now                 func() time.Time // nil: time.Now
}

func (s *Signer) check() (*rsa.PublicKey, error) {
	if s.Key == nil || s.Cert == nil {
		return nil, fmt.Errorf("cms: signer needs a key and a certificate")
	}
	pub, ok := s.Key.Public().(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%w: only RSA keys sign AS2 messages", ErrUnsupportedAlgorithm)
	}
	if certPub, ok := s.Cert.PublicKey.(*rsa.PublicKey); !ok || !certPub.Equal(pub) {
		return nil, fmt.Errorf("cms: the signing certificate does not belong to the signing key")
	}
	if _, err := digestAlgorithm(s.Digest); err != nil {
		return nil, err
	}
	return pub, nil
}

// NewHash returns the hash of the signing digest, for the caller to feed the content through.
func (s *Signer) NewHash() hash.Hash { return s.Digest.New() }

// Size is the exact length of what Sign returns, so that the sender can
// compute a message's size before it is signed.
func (s *Signer) Size() (int, error) {
	pub, err := s.check()
	if err != nil {
		return 0, err
	}
	out, err := s.build(make([]byte, s.Digest.Size()), s.now(), func([]byte) ([]byte, error) {
		return make([]byte, pub.Size()), nil
	})
	return len(out), err
}

// Sign returns the DER ContentInfo of a detached SignedData over content
// whose digest (with s.Digest) is given.
func (s *Signer) Sign(digest []byte) ([]byte, error) {
	if _, err := s.check(); err != nil {
		return nil, err
	}
	if len(digest) != s.Digest.Size() {
		return nil, fmt.Errorf("cms: digest has %d bytes, %v needs %d", len(digest), s.Digest, s.Digest.Size())
	}
	return s.build(digest, s.now(), func(attrs []byte) ([]byte, error) {
		h := s.Digest.New()
		h.Write(attrs)
		var opts crypto.SignerOpts = s.Digest
		if s.Scheme == PSS {
			opts = &rsa.PSSOptions{SaltLength: s.saltLength(), Hash: s.Digest}
		}
		return s.Key.Sign(s.rand(), h.Sum(nil), opts)
	})
}

func (s *Signer) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Signer) rand() io.Reader {
	if s.Rand != nil {
		return s.Rand
	}
	return rand.Reader
}

func (s *Signer) saltLength() int {
	if s.PSSSaltLength > 0 {
		return s.PSSSaltLength
	}
	return s.Digest.Size()
}

func (s *Signer) signatureAlgorithm() (pkix.AlgorithmIdentifier, error) {
	if s.Scheme != PSS {
		return pkix.AlgorithmIdentifier{Algorithm: oidRSAEncryption, Parameters: asn1NULL}, nil
	}
	hashAlg := pkix.AlgorithmIdentifier{Algorithm: digestOIDs[s.Digest], Parameters: asn1NULL}
	params, err := asn1.Marshal(pssParams{
		Hash:       hashAlg,
		MGF:        pkix.AlgorithmIdentifier{Algorithm: oidMGF1, Parameters: rawOf(hashAlg)},
		SaltLength: s.saltLength(),
	})
	if err != nil {
		return pkix.AlgorithmIdentifier{}, err
	}
	return pkix.AlgorithmIdentifier{Algorithm: oidRSASSAPSS, Parameters: asn1.RawValue{FullBytes: params}}, nil
}

// pssParams is RSASSA-PSS-params (RFC 4055) as we write it.
type pssParams struct {
	Hash       pkix.AlgorithmIdentifier `asn1:"explicit,tag:0"`
	MGF        pkix.AlgorithmIdentifier `asn1:"explicit,tag:1"`
	SaltLength int                      `asn1:"explicit,tag:2"`
}

func rawOf(v any) asn1.RawValue {
	b, err := asn1.Marshal(v)
	if err != nil {
		panic(err) // only called with fixed, marshalable types
	}
	return asn1.RawValue{FullBytes: b}
}

type attribute struct {
	Type   asn1.ObjectIdentifier
	Values asn1.RawValue // SET OF
}

type issuerAndSerial struct {
	Issuer asn1.RawValue
	Serial *big.Int
}

type signerInfoOut struct {
	Version            int
	SID                issuerAndSerial
	DigestAlgorithm    pkix.AlgorithmIdentifier
	SignedAttrs        asn1.RawValue
	SignatureAlgorithm pkix.AlgorithmIdentifier
	Signature          []byte
}

func (s *Signer) build(digest []byte, t time.Time, sign func(attrs []byte) ([]byte, error)) ([]byte, error) {
	digestAlg, err := digestAlgorithm(s.Digest)
	if err != nil {
		return nil, err
	}
	sigAlg, err := s.signatureAlgorithm()
	if err != nil {
		return nil, err
	}
	attrs := []attribute{
		{oidAttrContentType, setOf(oidData)},
		{oidAttrSigningTime, setOf(t.UTC().Truncate(time.Second))},
		{oidAttrMessageDigest, setOf(digest)},
	}
	if s.AlgorithmProtection {
		sigRaw, err := asn1.Marshal(sigAlg)
		if err != nil {
			return nil, err
		}
		sigRaw[0] = 0xa1 // [1] IMPLICIT
		attrs = append(attrs, attribute{oidAttrAlgProtection, setOf(struct {
			Digest pkix.AlgorithmIdentifier
			Sig    asn1.RawValue
		}{digestAlg, asn1.RawValue{FullBytes: sigRaw}})})
	}
	attrSet, err := derSetOf(attrs)
	if err != nil {
		return nil, err
	}
	signature, err := sign(attrSet)
	if err != nil {
		return nil, fmt.Errorf("cms: signing: %w", err)
	}
	implicitAttrs := append([]byte{}, attrSet...)
	implicitAttrs[0] = 0xa0 // [0] IMPLICIT SET OF Attribute
	si, err := asn1.Marshal(signerInfoOut{
		Version:            1,
		SID:                issuerAndSerial{asn1.RawValue{FullBytes: s.Cert.RawIssuer}, s.Cert.SerialNumber},
		DigestAlgorithm:    digestAlg,
		SignedAttrs:        asn1.RawValue{FullBytes: implicitAttrs},
		SignatureAlgorithm: sigAlg,
		Signature:          signature,
	})
	if err != nil {
		return nil, err
	}
	digestAlgRaw, err := asn1.Marshal(digestAlg)
	if err != nil {
		return nil, err
	}
	dataOID, _ := asn1.Marshal(oidData)
	version, _ := asn1.Marshal(1)
	var certs []byte
	for _, c := range append([]*x509.Certificate{s.Cert}, s.Chain...) {
		certs = append(certs, c.Raw...)
	}
	signedData := ber.Sequence(
		version,
		ber.Set(digestAlgRaw),
		ber.Sequence(dataOID),
		ber.AppendElement(nil, ber.ClassContext, 0, true, certs),
		ber.Set(si),
	)
	signedOID, _ := asn1.Marshal(oidSignedData)
	return ber.Sequence(signedOID, ber.Explicit(0, signedData)), nil
}

// setOf returns the DER SET OF with the single value v.
func setOf(v any) asn1.RawValue {
	return asn1.RawValue{FullBytes: ber.Set(rawOf(v).FullBytes)}
}

// derSetOf encodes attributes as a DER SET OF, sorted as X.690 §11.6 requires.
func derSetOf(attrs []attribute) ([]byte, error) {
	encoded := make([][]byte, len(attrs))
	for i, a := range attrs {
		b, err := asn1.Marshal(a)
		if err != nil {
			return nil, err
		}
		encoded[i] = b
	}
	sort.Slice(encoded, func(i, j int) bool { return bytes.Compare(encoded[i], encoded[j]) < 0 })
	return ber.Set(encoded...), nil
}
