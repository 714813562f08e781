package cms

import (
	"crypto"
	_ "crypto/md5" // verify-only digest of legacy partners
	_ "crypto/sha1"
	_ "crypto/sha256"
	_ "crypto/sha512"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"strings"
)

var asn1NULL = asn1.RawValue{Tag: asn1.TagNull}

// digestOIDs maps the digests we sign with to their identifiers; MD5 is
// accepted on verification only.
var digestOIDs = map[crypto.Hash]asn1.ObjectIdentifier{
	crypto.SHA1:   oidSHA1,
	crypto.SHA224: oidSHA224,
	crypto.SHA256: oidSHA256,
	crypto.SHA384: oidSHA384,
	crypto.SHA512: oidSHA512,
}

// SigningDigests are the digests as2gate signs with.
var SigningDigests = []crypto.Hash{crypto.SHA1, crypto.SHA224, crypto.SHA256, crypto.SHA384, crypto.SHA512}

func digestAlgorithm(h crypto.Hash) (pkix.AlgorithmIdentifier, error) {
	oid, ok := digestOIDs[h]
	if !ok {
		return pkix.AlgorithmIdentifier{}, fmt.Errorf("%w: digest %v for signing", ErrUnsupportedAlgorithm, h)
	}
	return pkix.AlgorithmIdentifier{Algorithm: oid}, nil
}

// hashFromOID accepts the digest identifiers and, because some products put
// them in the digestAlgorithm field, the combined RSA signature identifiers.
func hashFromOID(oid asn1.ObjectIdentifier) (crypto.Hash, error) {
	for _, m := range []struct {
		oid  asn1.ObjectIdentifier
		hash crypto.Hash
	}{
		{oidSHA1, crypto.SHA1}, {oidSHA224, crypto.SHA224}, {oidSHA256, crypto.SHA256},
		{oidSHA384, crypto.SHA384}, {oidSHA512, crypto.SHA512}, {oidMD5, crypto.MD5},
		{oidSHA1WithRSA, crypto.SHA1}, {oidSHA224WithRSA, crypto.SHA224}, {oidSHA256WithRSA, crypto.SHA256},
		{oidSHA384WithRSA, crypto.SHA384}, {oidSHA512WithRSA, crypto.SHA512}, {oidMD5WithRSA, crypto.MD5},
	} {
		if oid.Equal(m.oid) {
			return m.hash, nil
		}
	}
	return 0, fmt.Errorf("%w: digest %v", ErrUnsupportedAlgorithm, oid)
}

// DigestName is the lower-case name of a digest as the CLI and the
// configuration spell it: sha1, sha224, sha256, sha384, sha512, md5.
func DigestName(h crypto.Hash) string {
	switch h {
	case crypto.MD5:
		return "md5"
	case crypto.SHA1:
		return "sha1"
	case crypto.SHA224:
		return "sha224"
	case crypto.SHA256:
		return "sha256"
	case crypto.SHA384:
		return "sha384"
	case crypto.SHA512:
		return "sha512"
	}
	return h.String()
}

// ParseDigest reads a digest name in any of the spellings the field uses:
// sha256, SHA256, sha-256, SHA-256; sha1, sha-1; md5.
func ParseDigest(name string) (crypto.Hash, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	n = strings.ReplaceAll(n, "-", "")
	n = strings.ReplaceAll(n, "_", "")
	switch n {
	case "md5":
		return crypto.MD5, nil
	case "sha1", "sha":
		return crypto.SHA1, nil
	case "sha224":
		return crypto.SHA224, nil
	case "sha256":
		return crypto.SHA256, nil
	case "sha384":
		return crypto.SHA384, nil
	case "sha512":
		return crypto.SHA512, nil
	}
	return 0, fmt.Errorf("%w: digest %q", ErrUnsupportedAlgorithm, name)
}

// SignatureScheme is the RSA signature padding.
type SignatureScheme int

const (
	PKCS1v15 SignatureScheme = iota // RSASSA-PKCS1-v1_5, what most AS2 products send
	PSS                             // RSASSA-PSS (RFC 4055)
)

func (s SignatureScheme) String() string {
	if s == PSS {
		return "rsassa-pss"
	}
	return "rsassa-pkcs1-v1_5"
}

// Cipher is a content-encryption algorithm.
type Cipher int

// Content-encryption algorithms. DES and RC2 are decrypt-only, for legacy partners.
const (
	TripleDESCBC Cipher = iota + 1
	AES128CBC
	AES192CBC
	AES256CBC
	AES128GCM
	AES192GCM
	AES256GCM
	DESCBC
	RC2CBC
)

var cipherNames = map[Cipher]string{
	TripleDESCBC: "3des", AES128CBC: "aes128-cbc", AES192CBC: "aes192-cbc", AES256CBC: "aes256-cbc",
	AES128GCM: "aes128-gcm", AES192GCM: "aes192-gcm", AES256GCM: "aes256-gcm", DESCBC: "des", RC2CBC: "rc2",
}

func (c Cipher) String() string {
	if n, ok := cipherNames[c]; ok {
		return n
	}
	return fmt.Sprintf("cipher(%d)", int(c))
}

// ParseCipher reads a cipher name: 3des, aes128-cbc (or aes128), aes192-cbc,
// aes256-cbc, aes128-gcm, aes192-gcm, aes256-gcm, and the decrypt-only des and
// rc2. Spellings such as AES256_CBC and DES_EDE3_CBC are accepted.
func ParseCipher(name string) (Cipher, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	n = strings.NewReplacer("_", "-", " ", "-").Replace(n)
	switch n {
	case "3des", "des3", "des-ede3", "des-ede3-cbc", "tripledes", "3des-cbc":
		return TripleDESCBC, nil
	case "aes128", "aes-128", "aes128-cbc", "aes-128-cbc":
		return AES128CBC, nil
	case "aes192", "aes-192", "aes192-cbc", "aes-192-cbc":
		return AES192CBC, nil
	case "aes256", "aes-256", "aes256-cbc", "aes-256-cbc":
		return AES256CBC, nil
	case "aes128-gcm", "aes-128-gcm":
		return AES128GCM, nil
	case "aes192-gcm", "aes-192-gcm":
		return AES192GCM, nil
	case "aes256-gcm", "aes-256-gcm":
		return AES256GCM, nil
	case "des", "des-cbc":
		return DESCBC, nil
	case "rc2", "rc2-cbc", "rc2-40", "rc2-128":
		return RC2CBC, nil
	}
	return 0, fmt.Errorf("%w: cipher %q", ErrUnsupportedAlgorithm, name)
}

// CanEncrypt reports whether as2gate encrypts with c (DES and RC2 are
// accepted from legacy partners but never sent).
func (c Cipher) CanEncrypt() bool { return c >= TripleDESCBC && c <= AES256GCM }

// AEAD reports whether c is an authenticated cipher (AuthEnvelopedData).
func (c Cipher) AEAD() bool { return c == AES128GCM || c == AES192GCM || c == AES256GCM }

func (c Cipher) keySize() int {
	switch c {
	case TripleDESCBC:
		return 24
	case AES128CBC, AES128GCM:
		return 16
	case AES192CBC, AES192GCM:
		return 24
	case AES256CBC, AES256GCM:
		return 32
	case DESCBC:
		return 8
	}
	return 0
}

func (c Cipher) blockSize() int {
	switch c {
	case TripleDESCBC, DESCBC, RC2CBC:
		return 8
	}
	return 16
}

func (c Cipher) oid() asn1.ObjectIdentifier {
	switch c {
	case TripleDESCBC:
		return oidDESEDE3CBC
	case AES128CBC:
		return oidAES128CBC
	case AES192CBC:
		return oidAES192CBC
	case AES256CBC:
		return oidAES256CBC
	case AES128GCM:
		return oidAES128GCM
	case AES192GCM:
		return oidAES192GCM
	case AES256GCM:
		return oidAES256GCM
	case DESCBC:
		return oidDESCBC
	case RC2CBC:
		return oidRC2CBC
	}
	return nil
}

func cipherFromOID(oid asn1.ObjectIdentifier) (Cipher, error) {
	for c := TripleDESCBC; c <= RC2CBC; c++ {
		if oid.Equal(c.oid()) {
			return c, nil
		}
	}
	return 0, fmt.Errorf("%w: content encryption %v", ErrUnsupportedAlgorithm, oid)
}

// KeyTransport is how the content-encryption key travels to a recipient.
type KeyTransport struct {
	OAEP bool        // RSAES-OAEP instead of RSAES-PKCS1-v1_5
	Hash crypto.Hash // OAEP hash, also used for MGF1 (SHA-1 when zero)
}

func (k KeyTransport) String() string {
	if !k.OAEP {
		return "rsa-pkcs1-v1_5"
	}
	return "rsaes-oaep-" + DigestName(k.oaepHash())
}

func (k KeyTransport) oaepHash() crypto.Hash {
	if k.Hash == 0 {
		return crypto.SHA1
	}
	return k.Hash
}

// ParseKeyTransport reads "rsa" (or "pkcs1v15", "" for the default) and
// "oaep", "oaep-sha1", "oaep-sha256", "oaep-sha512" or a bare OAEP digest
// name (as in --oaep sha256).
func ParseKeyTransport(name string) (KeyTransport, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	switch n {
	case "", "rsa", "pkcs1", "pkcs1v15", "pkcs1-v1_5", "rsa-pkcs1-v1_5":
		return KeyTransport{}, nil
	case "oaep":
		return KeyTransport{OAEP: true, Hash: crypto.SHA1}, nil
	}
	n = strings.TrimPrefix(strings.TrimPrefix(n, "rsaes-"), "oaep-")
	h, err := ParseDigest(n)
	if err != nil || h == crypto.MD5 || h == crypto.SHA224 {
		return KeyTransport{}, fmt.Errorf("%w: key transport %q", ErrUnsupportedAlgorithm, name)
	}
	return KeyTransport{OAEP: true, Hash: h}, nil
}
