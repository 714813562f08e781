// Package as2gate holds the vocabulary of the gateway: stations, partners,
// certificates, messages and the jobs that move them, the interfaces of
// the stores that keep them, and the error codes every front-end maps to
// its own protocol (HTTP status, MDN disposition, SFTP or S3 error).
//
// Implementations live in packages named after what they depend on
// (internal/sqlstore, internal/fsblob); the service that puts them to work
// is internal/gateway.
package as2gate

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Code classifies an error for every front-end.
type Code string

// Error codes.
const (
	EInvalid      Code = "invalid"      // bad input; Field names the culprit
	ENotFound     Code = "not_found"    // no such record
	EConflict     Code = "conflict"     // already exists, in use, or changed meanwhile
	EUnauthorized Code = "unauthorized" // not authenticated
	EForbidden    Code = "forbidden"    // authenticated, not allowed
	ETooLarge     Code = "too_large"    // over a configured limit
	ERateLimited  Code = "rate_limited" // too many attempts; try again later
	EUnavailable  Code = "unavailable"  // a dependency is down; try again
	EInternal     Code = "internal"     // a bug or an unexpected failure
)

// Error is an error with a code, a message fit for users and, for
// validation errors, the field concerned.
type Error struct {
	Code    Code
	Message string
	Field   string
	Err     error // the cause, for logs; not shown to users
}

func (e *Error) Error() string {
	msg := e.Message
	if e.Field != "" {
		msg = e.Field + ": " + msg
	}
	if e.Err != nil {
		return msg + ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf makes an Error with a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid makes a validation error about a field.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: EInvalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Wrap attaches a code and message to a cause.
func Wrap(code Code, err error, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: err}
}

// ErrorCode returns the code of err: EInternal for errors without one.
func ErrorCode(err error) Code {
	var e *Error
	if err == nil {
		return ""
	}
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// ErrorMessage returns the message of err fit for users: the internal
// details of errors without a code are hidden.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		if e.Field != "" {
			return e.Field + ": " + e.Message
		}
		return e.Message
	}
	return "internal error"
}

var idEncoding = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// NewID returns a new record identifier: 26 characters that sort by
// creation time (48 bits of milliseconds, then 80 random bits). Within one
// process they strictly increase: an ID made in the same millisecond as the
// one before is that one plus one, so lists and cursors keep their order.
func NewID() string {
	idMu.Lock()
	defer idMu.Unlock()
	ms := uint64(time.Now().UnixMilli())
	var b [16]byte
	if ms <= lastIDMillis {
		b = lastID
		for i := 15; i >= 6; i-- { // add one to the 80-bit random part
			b[i]++
			if b[i] != 0 {
				break
			}
		}
	} else {
		binary.BigEndian.PutUint64(b[:8], ms<<16)
		rand.Read(b[6:])
		b[6] &= 0x7f // leave room to count up within the millisecond
		lastIDMillis = ms
	}
	lastID = b
	return idEncoding.EncodeToString(b[:])
}

// IDFloor returns the smallest ID of the millisecond of t: IDs made at t or
// later sort at or after it, IDs made before t sort before it. A time
// window is thus a range of IDs, which the primary key of a table serves.
// Times before 1970 give the floor of 1970, times beyond the 48 bits of
// milliseconds (the year 10889) the floor of the last millisecond.
func IDFloor(t time.Time) string {
	ms := min(max(t.UnixMilli(), 0), 1<<48-1)
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(ms)<<16)
	return idEncoding.EncodeToString(b[:])
}

var (
	idMu         sync.Mutex
	lastID       [16]byte
	lastIDMillis uint64
)

// IsID reports whether s looks like an identifier made by NewID.
func IsID(s string) bool {
	if len(s) != 26 {
		return false
	}
	for _, c := range s {
		if !strings.ContainsRune("0123456789abcdefghjkmnpqrstvwxyz", c) {
			return false
		}
	}
	return true
}
