package as2

import (
	"errors"
	"fmt"

	"github.com/as2gate/as2gate/internal/ber"
	"github.com/as2gate/as2gate/internal/cms"
	"github.com/as2gate/as2gate/internal/mime"
)

// Failure is the processed/error modifier an MDN reports (RFC 4130 §7.4.3).
type Failure string

const (
	DecryptionFailed          Failure = "decryption-failed"
	AuthenticationFailed      Failure = "authentication-failed"
	IntegrityCheckFailed      Failure = "integrity-check-failed"
	DecompressionFailed       Failure = "decompression-failed"
	InsufficientSecurity      Failure = "insufficient-message-security"
	UnexpectedProcessingError Failure = "unexpected-processing-error"
)

// Error is a failure to process a message, with the disposition it maps to.
type Error struct {
	Failure Failure
	Err     error
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %v", e.Failure, e.Err) }
func (e *Error) Unwrap() error { return e.Err }

func fail(f Failure, format string, args ...any) *Error {
	return &Error{Failure: f, Err: fmt.Errorf(format, args...)}
}

// FailureOf maps any error from parsing a message to its disposition
// modifier: one table for every front-end that reports it.
func FailureOf(err error) Failure {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Failure
	case errors.Is(err, cms.ErrNoRecipient), errors.Is(err, cms.ErrDecrypt):
		return DecryptionFailed
	case errors.Is(err, cms.ErrSignature), errors.Is(err, cms.ErrUnknownSigner):
		return AuthenticationFailed
	case errors.Is(err, cms.ErrDigestMismatch):
		return IntegrityCheckFailed
	case errors.Is(err, cms.ErrDecompress):
		return DecompressionFailed
	}
	return UnexpectedProcessingError
}

// wrapLayer attaches the failure of a layer to errors that the generic
// mapping cannot place (a malformed envelope is a decryption failure, a
// malformed signature an authentication failure).
func wrapLayer(f Failure, err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	if FailureOf(err) != UnexpectedProcessingError {
		return &Error{Failure: FailureOf(err), Err: err}
	}
	if cms.IsMalformed(err) || errors.Is(err, cms.ErrUnsupportedAlgorithm) || errors.Is(err, ber.ErrMalformed) ||
		errors.Is(err, mime.ErrMalformedHeader) {
		return &Error{Failure: f, Err: err}
	}
	return err
}

// IsMessageError reports whether err is about the message itself, to be
// reported in an error MDN, rather than a local failure (disk, database,
// a broken connection) after which the sender should simply try again.
func IsMessageError(err error) bool {
	var e *Error
	return errors.As(err, &e) || cms.IsMalformed(err) || errors.Is(err, cms.ErrUnsupportedAlgorithm) ||
		errors.Is(err, cms.ErrNoRecipient) || errors.Is(err, cms.ErrDecrypt) || errors.Is(err, cms.ErrUnknownSigner) ||
		errors.Is(err, cms.ErrSignature) || errors.Is(err, cms.ErrDigestMismatch) || errors.Is(err, cms.ErrDecompress) ||
		errors.Is(err, cms.ErrTooLarge) || errors.Is(err, mime.ErrMalformedHeader) || errors.Is(err, mime.ErrHeaderTooLarge) ||
		errors.Is(err, mime.ErrNoBoundary) || errors.Is(err, mime.ErrMissingCloseDelimiter) || errors.Is(err, mime.ErrTooManyParts)
}
