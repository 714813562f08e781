package pki

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"hash"
)

// maxIterations bounds every password-based key derivation. Real files use
// 2048 (OpenSSL, Windows) to 600000 (the most careful tools); a hostile file
// asking for 2^31 would burn CPU for minutes. One million PBKDF2-HMAC-SHA1
// rounds take about half a second.
const maxIterations = 1_000_000

// Object identifiers from RFC 8018 (PKCS #5), RFC 8018 appendix B.1 (PRFs),
// NIST (AES) and RFC 7292 (PKCS #12 PBE).
var (
	oidPBES2      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	oidPBKDF2     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	oidPBMAC1     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 14}
	oidHMACSHA1   = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 7}
	oidHMACSHA224 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 8}
	oidHMACSHA256 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}
	oidHMACSHA384 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 10}
	oidHMACSHA512 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 11}
	oidAES128CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 2}
	oidAES192CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 22}
	oidAES256CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}
	oidDESEDE3CBC = asn1.ObjectIdentifier{1, 2, 840, 113549, 3, 7}
	oidPKCS12PBE  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 1} // arc of pbeWithSHAAnd...
)

// encryptedPrivateKeyInfo is RFC 5958's EncryptedPrivateKeyInfo.
type encryptedPrivateKeyInfo struct {
	Algorithm     pkix.AlgorithmIdentifier
	EncryptedData []byte
}

// pbes2Params is RFC 8018's PBES2-params.
type pbes2Params struct {
	KeyDerivationFunc pkix.AlgorithmIdentifier
	EncryptionScheme  pkix.AlgorithmIdentifier
}

// pbkdf2Params is RFC 8018's PBKDF2-params with a specified salt (the
// otherSource choice is reserved and never used).
type pbkdf2Params struct {
	Salt           []byte
	IterationCount int
	KeyLength      int                      `asn1:"optional"`
	PRF            pkix.AlgorithmIdentifier `asn1:"optional"`
}

// pbmac1Params is RFC 8018's PBMAC1-params.
type pbmac1Params struct {
	KeyDerivationFunc pkix.AlgorithmIdentifier
	MessageAuthScheme pkix.AlgorithmIdentifier
}

// pkcs12PBEParams is RFC 7292's pkcs-12PbeParams.
type pkcs12PBEParams struct {
	Salt       []byte
	Iterations int
}

func checkIterations(n int) error {
	if n < 1 || n > maxIterations {
		return fmt.Errorf("%w: %d key-derivation iterations (limit %d)", ErrUnsupported, n, maxIterations)
	}
	return nil
}

// isEncryptedPKCS8 reports whether der has the shape of an
// EncryptedPrivateKeyInfo, which no other input we accept shares.
func isEncryptedPKCS8(der []byte) bool {
	var info encryptedPrivateKeyInfo
	return unmarshalDER(der, &info) == nil && len(info.Algorithm.Algorithm) > 0
}

// decryptPKCS8 decrypts an EncryptedPrivateKeyInfo protected with PBES2,
// which is what OpenSSL 1.1+ and most current tools write. Go's standard
// library cannot read these.
func decryptPKCS8(der []byte, password string) (crypto.Signer, error) {
	var info encryptedPrivateKeyInfo
	if err := unmarshalDER(der, &info); err != nil {
		return nil, fmt.Errorf("encrypted PKCS#8: %w", err)
	}
	if !info.Algorithm.Algorithm.Equal(oidPBES2) {
		return nil, fmt.Errorf("%w: encrypted PKCS#8 with algorithm %s (only PBES2 is supported)", ErrUnsupported, info.Algorithm.Algorithm)
	}
	plain, err := decryptPBES2(info.Algorithm.Parameters.FullBytes, info.EncryptedData, password)
	if err != nil {
		return nil, err
	}
	key, err := x509.ParsePKCS8PrivateKey(plain)
	if err != nil {
		// A wrong password passes the padding check about once in 256
		// tries and then yields random bytes, not DER. Well-formed DER
		// means the password was right and the key itself is the problem.
		var raw asn1.RawValue
		if unmarshalDER(plain, &raw) != nil {
			return nil, ErrBadPassword
		}
		return nil, fmt.Errorf("decrypted PKCS#8 key: %w", err)
	}
	return asSigner(key)
}

func decryptPBES2(params, ciphertext []byte, password string) ([]byte, error) {
	var p pbes2Params
	if err := unmarshalDER(params, &p); err != nil {
		return nil, fmt.Errorf("PBES2 parameters: %w", err)
	}
	kdf, prf, err := parsePBKDF2(p.KeyDerivationFunc)
	if err != nil {
		return nil, err
	}
	keyLen, newCipher, err := pbes2Cipher(p.EncryptionScheme.Algorithm)
	if err != nil {
		return nil, err
	}
	if kdf.KeyLength != 0 && kdf.KeyLength != keyLen {
		return nil, fmt.Errorf("PBKDF2 key length %d does not fit cipher %s", kdf.KeyLength, p.EncryptionScheme.Algorithm)
	}
	var iv []byte
	if err := unmarshalDER(p.EncryptionScheme.Parameters.FullBytes, &iv); err != nil {
		return nil, fmt.Errorf("PBES2 IV: %w", err)
	}
	key, err := pbkdf2.Key(prf, password, kdf.Salt, kdf.IterationCount, keyLen)
	if err != nil {
		return nil, fmt.Errorf("PBKDF2: %w", err)
	}
	block, err := newCipher(key)
	if err != nil {
		return nil, err
	}
	bs := block.BlockSize()
	if len(iv) != bs {
		return nil, fmt.Errorf("PBES2 IV of %d bytes, want %d", len(iv), bs)
	}
	if len(ciphertext) == 0 || len(ciphertext)%bs != 0 {
		return nil, fmt.Errorf("PBES2 ciphertext of %d bytes is not a whole number of blocks", len(ciphertext))
	}
	plain := make([]byte, len(ciphertext))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(plain, ciphertext)
	plain, ok := unpad(plain, bs)
	if !ok {
		return nil, ErrBadPassword
	}
	return plain, nil
}

// parsePBKDF2 checks a PBKDF2 AlgorithmIdentifier, including its iteration
// count, and returns its parameters and pseudo-random function.
func parsePBKDF2(alg pkix.AlgorithmIdentifier) (*pbkdf2Params, func() hash.Hash, error) {
	if !alg.Algorithm.Equal(oidPBKDF2) {
		return nil, nil, fmt.Errorf("%w: key derivation function %s (only PBKDF2 is supported)", ErrUnsupported, alg.Algorithm)
	}
	var p pbkdf2Params
	if err := unmarshalDER(alg.Parameters.FullBytes, &p); err != nil {
		return nil, nil, fmt.Errorf("PBKDF2 parameters: %w", err)
	}
	if err := checkIterations(p.IterationCount); err != nil {
		return nil, nil, err
	}
	var prf func() hash.Hash
	switch oid := p.PRF.Algorithm; {
	case len(oid) == 0, oid.Equal(oidHMACSHA1): // absent means the DEFAULT, HMAC-SHA1
		prf = sha1.New
	case oid.Equal(oidHMACSHA224):
		prf = sha256.New224
	case oid.Equal(oidHMACSHA256):
		prf = sha256.New
	case oid.Equal(oidHMACSHA384):
		prf = sha512.New384
	case oid.Equal(oidHMACSHA512):
		prf = sha512.New
	default:
		return nil, nil, fmt.Errorf("%w: PBKDF2 PRF %s", ErrUnsupported, oid)
	}
	return &p, prf, nil
}

func pbes2Cipher(oid asn1.ObjectIdentifier) (keyLen int, newCipher func([]byte) (cipher.Block, error), err error) {
	switch {
	case oid.Equal(oidAES128CBC):
		return 16, aes.NewCipher, nil
	case oid.Equal(oidAES192CBC):
		return 24, aes.NewCipher, nil
	case oid.Equal(oidAES256CBC):
		return 32, aes.NewCipher, nil
	case oid.Equal(oidDESEDE3CBC):
		return 24, des.NewTripleDESCipher, nil
	}
	return 0, nil, fmt.Errorf("%w: PBES2 cipher %s", ErrUnsupported, oid)
}

// unpad strips PKCS#7 padding; false means the padding is malformed, which
// after decryption almost always means the password was wrong.
func unpad(b []byte, blockSize int) ([]byte, bool) {
	if len(b) == 0 {
		return nil, false
	}
	n := int(b[len(b)-1])
	if n == 0 || n > blockSize || n > len(b) {
		return nil, false
	}
	for _, c := range b[len(b)-n:] {
		if int(c) != n {
			return nil, false
		}
	}
	return b[:len(b)-n], true
}

// checkPBECost rejects a password-based encryption or MAC algorithm whose
// key derivation would run more than maxIterations rounds. Algorithms it
// does not know derive no key here and pass.
func checkPBECost(alg pkix.AlgorithmIdentifier) error {
	switch oid := alg.Algorithm; {
	case oid.Equal(oidPBES2):
		var p pbes2Params
		if err := unmarshalDER(alg.Parameters.FullBytes, &p); err != nil {
			return fmt.Errorf("PBES2 parameters: %w", err)
		}
		_, _, err := parsePBKDF2(p.KeyDerivationFunc)
		return err
	case oid.Equal(oidPBMAC1):
		var p pbmac1Params
		if err := unmarshalDER(alg.Parameters.FullBytes, &p); err != nil {
			return fmt.Errorf("PBMAC1 parameters: %w", err)
		}
		_, _, err := parsePBKDF2(p.KeyDerivationFunc)
		return err
	case len(oid) == len(oidPKCS12PBE)+1 && oid[:len(oidPKCS12PBE)].Equal(oidPKCS12PBE):
		var p pkcs12PBEParams
		if err := unmarshalDER(alg.Parameters.FullBytes, &p); err != nil {
			return fmt.Errorf("PKCS#12 PBE parameters: %w", err)
		}
		return checkIterations(p.Iterations)
	}
	return nil
}
