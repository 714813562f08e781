// Package pki loads, generates and describes the private keys and X.509
// certificates that AS2 partners exchange.
//
// Partners hand over keys and certificates in every format: PEM with any
// number of blocks, DER, PKCS#12 (legacy RC2/3DES or modern PBES2/AES),
// encrypted PKCS#8 and legacy "Proc-Type: 4,ENCRYPTED" PEM. [Parse] sniffs the
// format. Every input is treated as hostile: sizes and key-derivation
// iteration counts are bounded so that a malicious upload stays cheap.
package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
)

// MaxInputSize is the largest input Parse accepts. Key and certificate files
// are a few kilobytes; a chain with a dozen certificates stays far below this.
const MaxInputSize = 1 << 20

// maxKeyDER bounds the DER encoding of a single private key. A 16384-bit RSA
// key needs about 9.5 KiB; anything larger is not a key we would ever use and
// only costs CPU to validate.
const maxKeyDER = 16 << 10

var (
	// ErrBadPassword means the password is wrong, or missing for an
	// encrypted input.
	ErrBadPassword = errors.New("wrong or missing password")
	// ErrUnknownFormat means the input holds no certificate or private key
	// in a format we recognise.
	ErrUnknownFormat = errors.New("no certificate or private key found")
	// ErrTooLarge means the input, or a key in it, exceeds the size limits.
	ErrTooLarge = errors.New("input too large")
	// ErrUnsupported means the input is recognised but uses an algorithm,
	// key type or parameter we do not accept.
	ErrUnsupported = errors.New("unsupported")
	// ErrKeyMismatch means a private key does not belong to a certificate.
	ErrKeyMismatch = errors.New("private key does not match the certificate")
	// ErrInvalidOptions means GenerateSelfSigned was given unusable options.
	ErrInvalidOptions = errors.New("invalid options")
	// ErrExpired means a certificate's validity period has ended.
	ErrExpired = errors.New("certificate expired")
	// ErrNotYetValid means a certificate's validity period has not begun.
	ErrNotYetValid = errors.New("certificate not yet valid")
)

// errNotKey means some bytes are no private key encoding we know.
var errNotKey = errors.New("not a PKCS#8, PKCS#1 or SEC 1 private key")

// Bundle is what a file or an upload held.
type Bundle struct {
	// Key is nil when the input held no private key. It is an
	// *rsa.PrivateKey or an *ecdsa.PrivateKey.
	Key crypto.Signer
	// Certs holds the certificates in input order, except that the
	// certificate matching Key, when there is one, comes first.
	Certs []*x509.Certificate
}

// ParseFile reads the file at path and parses it like Parse.
func ParseFile(path, password string) (*Bundle, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("pki: %w", err)
	}
	defer f.Close()
	// Read one byte more than allowed so that parse sees an oversized file
	// without us reading all of it.
	data, err := io.ReadAll(io.LimitReader(f, MaxInputSize+1))
	if err != nil {
		return nil, fmt.Errorf("pki: %s: %w", path, err)
	}
	b, err := parse(data, password)
	if err != nil {
		return nil, fmt.Errorf("pki: %s: %w", path, err)
	}
	return b, nil
}

// Parse reads keys and certificates from data. It accepts PEM (any number of
// blocks in any order; unrelated blocks such as "EC PARAMETERS" are skipped),
// a DER certificate or certificate sequence, a DER private key (PKCS#8,
// encrypted PKCS#8, PKCS#1, SEC 1) and PKCS#12. password decrypts whatever
// is encrypted and is ignored otherwise.
//
// A wrong or missing password gives ErrBadPassword; an input with nothing
// recognisable gives ErrUnknownFormat. A key with no matching certificate is
// not an error: the certificates are kept as given.
func Parse(data []byte, password string) (*Bundle, error) {
	b, err := parse(data, password)
	if err != nil {
		return nil, fmt.Errorf("pki: %w", err)
	}
	return b, nil
}

func parse(data []byte, password string) (*Bundle, error) {
	if len(data) > MaxInputSize {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, MaxInputSize)
	}
	var (
		b   *Bundle
		err error
	)
	if block, _ := pem.Decode(data); block != nil {
		b, err = parsePEM(data, password)
	} else {
		b, err = parseDER(data, password)
	}
	if err != nil {
		return nil, err
	}
	b.putLeafFirst()
	return b, nil
}

func parsePEM(data []byte, password string) (*Bundle, error) {
	b := &Bundle{}
	for n := 1; ; n++ {
		block, rest := pem.Decode(data)
		if block == nil {
			break
		}
		data = rest
		if err := b.addPEMBlock(block, password); err != nil {
			return nil, fmt.Errorf("PEM block %d (%s): %w", n, block.Type, err)
		}
	}
	if b.Key == nil && len(b.Certs) == 0 {
		return nil, ErrUnknownFormat
	}
	return b, nil
}

func (b *Bundle) addPEMBlock(block *pem.Block, password string) error {
	switch block.Type {
	case "CERTIFICATE", "X509 CERTIFICATE":
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return err
		}
		b.Certs = append(b.Certs, c)
		return nil
	case "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY":
		if err := checkKeySize(block.Bytes); err != nil {
			return err
		}
		//lint:ignore SA1019 legacy PEM encryption is still what older tools write
		if x509.IsEncryptedPEMBlock(block) {
			return b.setKey(decryptLegacyPEM(block, password))
		}
		return b.setKey(parsePlainKey(block.Bytes))
	case "ENCRYPTED PRIVATE KEY":
		if err := checkKeySize(block.Bytes); err != nil {
			return err
		}
		return b.setKey(decryptPKCS8(block.Bytes, password))
	}
	// Other blocks (EC PARAMETERS, PUBLIC KEY, CERTIFICATE REQUEST, ...)
	// often ride along in key files and carry nothing we need.
	return nil
}

// setKey records key, passing through the error of the parser that made it.
func (b *Bundle) setKey(key crypto.Signer, err error) error {
	if err != nil {
		return err
	}
	if b.Key != nil {
		// Two keys leave no way to tell which one the user meant.
		return fmt.Errorf("%w: more than one private key", ErrUnsupported)
	}
	b.Key = key
	return nil
}

func parseDER(der []byte, password string) (*Bundle, error) {
	if certs, err := x509.ParseCertificates(der); err == nil && len(certs) > 0 {
		return &Bundle{Certs: certs}, nil
	}
	if len(der) <= maxKeyDER {
		key, err := parsePlainKey(der)
		if err == nil {
			return &Bundle{Key: key}, nil
		}
		if !errors.Is(err, errNotKey) {
			return nil, err
		}
		if isEncryptedPKCS8(der) {
			key, err := decryptPKCS8(der, password)
			if err != nil {
				return nil, err
			}
			return &Bundle{Key: key}, nil
		}
	}
	return parsePKCS12(der, password)
}

func checkKeySize(der []byte) error {
	if len(der) > maxKeyDER {
		return fmt.Errorf("%w: private key of %d bytes (limit %d)", ErrTooLarge, len(der), maxKeyDER)
	}
	return nil
}

// parsePlainKey parses an unencrypted private key in any of the DER
// encodings in use; labels on PEM blocks are too often wrong to trust them.
func parsePlainKey(der []byte) (crypto.Signer, error) {
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		return asSigner(k)
	}
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return k, nil
	}
	if k, err := x509.ParseECPrivateKey(der); err == nil {
		return k, nil
	}
	return nil, errNotKey
}

// asSigner accepts the key types as2gate can use: RSA for AS2, ECDSA for TLS.
func asSigner(key any) (crypto.Signer, error) {
	switch k := key.(type) {
	case *rsa.PrivateKey:
		return k, nil
	case *ecdsa.PrivateKey:
		return k, nil
	}
	return nil, fmt.Errorf("%w: private key of type %T", ErrUnsupported, key)
}

func decryptLegacyPEM(block *pem.Block, password string) (crypto.Signer, error) {
	//lint:ignore SA1019 legacy PEM encryption is still what older tools write
	der, err := x509.DecryptPEMBlock(block, []byte(password))
	if errors.Is(err, x509.IncorrectPasswordError) {
		return nil, ErrBadPassword
	}
	if err != nil {
		return nil, fmt.Errorf("legacy encrypted PEM: %w", err)
	}
	key, err := parsePlainKey(der)
	if errors.Is(err, errNotKey) {
		// The padding check lets about one wrong password in 256 through;
		// the garbage it yields is no key.
		return nil, ErrBadPassword
	}
	return key, err
}

// putLeafFirst moves the certificate matching b.Key to the front, keeping
// the others in their order.
func (b *Bundle) putLeafFirst() {
	if b.Key == nil {
		return
	}
	for i, c := range b.Certs {
		if KeyMatchesCert(b.Key, c) {
			copy(b.Certs[1:i+1], b.Certs[:i])
			b.Certs[0] = c
			return
		}
	}
}

// unmarshalDER parses exactly one DER value into out; trailing bytes are an
// error because they would hide a malformed or spliced input.
func unmarshalDER(der []byte, out any) error {
	rest, err := asn1.Unmarshal(der, out)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return fmt.Errorf("%d trailing bytes after ASN.1 value", len(rest))
	}
	return nil
}
