// Package mime reads and writes raw MIME entities for AS2.
//
// Signatures and MICs cover the exact bytes a partner sent, so nothing here
// canonicalises or re-serialises what it reads: ReadHeader returns the bytes
// it consumed, and PartReader yields every body part exactly as received,
// header block included. Everything that parses is bounded by Limits and
// treats its input as hostile.
package mime

import "errors"

// Sentinel errors, always wrapped with context; test with errors.Is.
var (
	// ErrMalformedHeader: a header block, field or media type that cannot be parsed.
	ErrMalformedHeader = errors.New("mime: malformed header")
	// ErrHeaderTooLarge: a header block over Limits.MaxHeaderBytes or Limits.MaxFields.
	ErrHeaderTooLarge = errors.New("mime: header too large")
	// ErrNoBoundary: an invalid boundary, or no first delimiter within Limits.MaxPreambleBytes.
	ErrNoBoundary = errors.New("mime: no multipart boundary")
	// ErrMissingCloseDelimiter: the input ended inside a multipart body.
	ErrMissingCloseDelimiter = errors.New("mime: missing multipart close delimiter")
	// ErrTooManyParts: more body parts than Limits.MaxParts.
	ErrTooManyParts = errors.New("mime: too many multipart parts")
)

// Limits bounds what a reader accepts. A zero field means the DefaultLimits value.
type Limits struct {
	MaxHeaderBytes   int // a header block, terminating empty line included
	MaxFields        int // fields in one header block
	MaxParts         int // body parts in one multipart entity
	MaxPreambleBytes int // bytes before the first delimiter
}

// DefaultLimits are generous for AS2 messages and MDNs while keeping memory small.
var DefaultLimits = Limits{
	MaxHeaderBytes:   64 << 10,
	MaxFields:        200,
	MaxParts:         1000,
	MaxPreambleBytes: 64 << 10,
}

// orDefaults replaces zero (or negative) fields with the defaults.
func (l Limits) orDefaults() Limits {
	pick := func(v, def int) int {
		if v <= 0 {
			return def
		}
		return v
	}
	return Limits{
		MaxHeaderBytes:   pick(l.MaxHeaderBytes, DefaultLimits.MaxHeaderBytes),
		MaxFields:        pick(l.MaxFields, DefaultLimits.MaxFields),
		MaxParts:         pick(l.MaxParts, DefaultLimits.MaxParts),
		MaxPreambleBytes: pick(l.MaxPreambleBytes, DefaultLimits.MaxPreambleBytes),
	}
}
