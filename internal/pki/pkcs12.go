package pki

import (
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"

	"software.sslmate.com/src/go-pkcs12"
)

// Object identifiers from RFC 7292 (PKCS #12) and RFC 5652 (CMS).
var (
	oidData           = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidEncryptedData  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 6}
	oidShroudedKeyBag = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 2}
)

// pfxVersion is the only PFX version RFC 7292 defines.
const pfxVersion = 3

// The types below follow the ASN.1 of RFC 7292 only as far as needed to find
// every iteration count that go-pkcs12 would use before it decrypts anything.

type pfxPDU struct {
	Version  int
	AuthSafe contentInfo
	MacData  macData `asn1:"optional"`
}

type contentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue `asn1:"tag:0,explicit,optional"`
}

type macData struct {
	Mac struct {
		Algorithm pkix.AlgorithmIdentifier
		Digest    []byte
	}
	MacSalt    []byte
	Iterations int `asn1:"optional,default:1"`
}

type encryptedData struct {
	Version              int
	EncryptedContentInfo struct {
		ContentType      asn1.ObjectIdentifier
		Algorithm        pkix.AlgorithmIdentifier
		EncryptedContent asn1.RawValue `asn1:"tag:0,optional"`
	}
}

type safeBag struct {
	ID         asn1.ObjectIdentifier
	Value      asn1.RawValue `asn1:"tag:0,explicit"`
	Attributes asn1.RawValue `asn1:"optional"`
}

// parsePKCS12 decodes a PFX holding one private key and its certificates.
// It returns ErrUnknownFormat when der does not have the shape of a PFX.
func parsePKCS12(der []byte, password string) (*Bundle, error) {
	var pfx pfxPDU
	if err := unmarshalDER(der, &pfx); err != nil || pfx.Version != pfxVersion {
		return nil, ErrUnknownFormat
	}
	if err := checkPFXCost(&pfx); err != nil {
		return nil, fmt.Errorf("PKCS#12: %w", err)
	}
	key, leaf, chain, err := pkcs12.DecodeChain(der, password)
	if errors.Is(err, pkcs12.ErrIncorrectPassword) || errors.Is(err, pkcs12.ErrDecryption) {
		return nil, ErrBadPassword
	}
	if err != nil {
		return nil, fmt.Errorf("PKCS#12: %w", err)
	}
	signer, err := asSigner(key)
	if err != nil {
		return nil, fmt.Errorf("PKCS#12: %w", err)
	}
	return &Bundle{Key: signer, Certs: append([]*x509.Certificate{leaf}, chain...)}, nil
}

// checkPFXCost bounds the key derivations of the MAC, of every encrypted
// safe and of every shrouded key bag that is visible without decryption.
// (A key bag hidden inside an encrypted safe is only seen by go-pkcs12.)
func checkPFXCost(pfx *pfxPDU) error {
	if mac := pfx.MacData.Mac.Algorithm; len(mac.Algorithm) > 0 {
		if !mac.Algorithm.Equal(oidPBMAC1) { // PBMAC1 ignores Iterations and carries its own
			if err := checkIterations(pfx.MacData.Iterations); err != nil {
				return err
			}
		}
		if err := checkPBECost(mac); err != nil {
			return err
		}
	}
	if !pfx.AuthSafe.ContentType.Equal(oidData) {
		return nil // go-pkcs12 refuses public-key integrity mode without deriving keys
	}
	var safes []contentInfo
	if err := unmarshalOctets(pfx.AuthSafe.Content.Bytes, &safes); err != nil {
		return fmt.Errorf("authenticated safe: %w", err)
	}
	for _, ci := range safes {
		switch {
		case ci.ContentType.Equal(oidData):
			var bags []safeBag
			if err := unmarshalOctets(ci.Content.Bytes, &bags); err != nil {
				return fmt.Errorf("safe contents: %w", err)
			}
			for _, bag := range bags {
				if !bag.ID.Equal(oidShroudedKeyBag) {
					continue
				}
				var info encryptedPrivateKeyInfo
				if err := unmarshalDER(bag.Value.Bytes, &info); err != nil {
					return fmt.Errorf("shrouded key bag: %w", err)
				}
				if err := checkPBECost(info.Algorithm); err != nil {
					return err
				}
			}
		case ci.ContentType.Equal(oidEncryptedData):
			var ed encryptedData
			if err := unmarshalDER(ci.Content.Bytes, &ed); err != nil {
				return fmt.Errorf("encrypted safe: %w", err)
			}
			if err := checkPBECost(ed.EncryptedContentInfo.Algorithm); err != nil {
				return err
			}
		}
	}
	return nil
}

// unmarshalOctets parses the DER value wrapped in the OCTET STRING in der.
func unmarshalOctets(der []byte, out any) error {
	var octets []byte
	if err := unmarshalDER(der, &octets); err != nil {
		return err
	}
	return unmarshalDER(octets, out)
}

// EncodePKCS12 writes key, cert and chain as a PKCS#12 file protected by
// password, with PBES2/AES-256-CBC encryption and an HMAC-SHA-256 MAC (as
// OpenSSL 3 does). Windows before Server 2019 and Java before 12 cannot
// read it.
func EncodePKCS12(key crypto.Signer, cert *x509.Certificate, chain []*x509.Certificate, password string) ([]byte, error) {
	if cert == nil {
		return nil, errors.New("pki: EncodePKCS12 needs a certificate")
	}
	if !KeyMatchesCert(key, cert) {
		return nil, fmt.Errorf("pki: %w", ErrKeyMismatch)
	}
	der, err := pkcs12.Modern.Encode(key, cert, chain, password)
	if err != nil {
		return nil, fmt.Errorf("pki: encoding PKCS#12: %w", err)
	}
	return der, nil
}
