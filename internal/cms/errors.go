// Package cms builds and reads the Cryptographic Message Syntax (RFC 5652)
// structures of AS2: detached SignedData, EnvelopedData, AuthEnvelopedData
// with AES-GCM (RFC 5083/5084) and CompressedData (RFC 3274), as streams.
//
// Encryption and compression write DER with definite lengths computed up
// front, so the sender can announce a Content-Length; decryption and
// decompression read BER or DER from a stream. Nothing here holds a payload
// in memory.
package cms

import (
	"errors"

	"github.com/as2gate/as2gate/internal/ber"
)

// Errors, by what the receiver of a message should report.
var (
	// ErrMalformed: the structure is not valid CMS (wraps ber.ErrMalformed
	// for encoding problems).
	ErrMalformed = errors.New("cms: malformed structure")
	// ErrUnsupportedAlgorithm: a valid structure names an algorithm we do
	// not implement (or refuse, such as MD5 for signing).
	ErrUnsupportedAlgorithm = errors.New("cms: unsupported algorithm")
	// ErrNoRecipient: none of the recipients is one of our certificates.
	ErrNoRecipient = errors.New("cms: message is not encrypted for any of our certificates")
	// ErrDecrypt: the key or content could not be decrypted (wrong key,
	// bad padding, failed authentication tag).
	ErrDecrypt = errors.New("cms: decryption failed")
	// ErrUnknownSigner: no certificate for the signer was found.
	ErrUnknownSigner = errors.New("cms: signer certificate not found")
	// ErrSignature: the signature does not verify.
	ErrSignature = errors.New("cms: signature verification failed")
	// ErrDigestMismatch: the content does not match the signed digest.
	ErrDigestMismatch = errors.New("cms: content digest does not match the signature")
	// ErrDecompress: the compressed content is corrupt.
	ErrDecompress = errors.New("cms: decompression failed")
	// ErrTooLarge: a size limit was exceeded.
	ErrTooLarge = errors.New("cms: size limit exceeded")
)

// IsMalformed reports whether err is a structural (encoding) problem.
func IsMalformed(err error) bool {
	return errors.Is(err, ErrMalformed) || errors.Is(err, ber.ErrMalformed)
}
