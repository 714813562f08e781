// Package password hashes and checks user passwords with argon2id, encoded
// in the PHC string format:
//
//	$argon2id$v=19$m=49152,t=2,p=2$<salt>$<hash>
//
// The parameters travel with each hash, so they can be raised later without
// invalidating stored hashes. Those of Hash (48 MiB, 2 passes, 2 lanes) took
// 45-70 ms on the 2-vCPU development machine: slow enough to make guessing
// expensive, fast enough for an interactive login.
package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// MaxLength bounds a password in bytes: argon2 itself takes any length, but
// an unbounded one would let a client make every login hash megabytes.
const MaxLength = 1024

// The parameters of new hashes.
const (
	memoryKiB = 48 * 1024
	passes    = 2
	lanes     = 2
	saltLen   = 16
	keyLen    = 32
)

// Bounds on the parameters Verify accepts, so that a tampered hash in the
// database cannot make a login allocate gigabytes or spin for minutes.
const (
	maxMemoryKiB = 256 * 1024
	maxPasses    = 16
	maxLanes     = 16
	minSaltLen   = 8
	maxSaltLen   = 64
	minKeyLen    = 16
	maxKeyLen    = 64
)

// ErrTooLong is returned by Hash for a password over MaxLength bytes.
var ErrTooLong = fmt.Errorf("password: longer than %d bytes", MaxLength)

// ErrMalformed is wrapped by every error Verify returns for an encoded hash it
// cannot read.
var ErrMalformed = errors.New("password: malformed hash")

var b64 = base64.RawStdEncoding.Strict()

// Hash returns the encoded argon2id hash of password with a fresh random salt.
func Hash(password string) (string, error) {
	if len(password) > MaxLength {
		return "", ErrTooLong
	}
	salt := make([]byte, saltLen)
	rand.Read(salt) // never fails: crypto/rand crashes the program instead
	key := argon2.IDKey([]byte(password), salt, passes, memoryKiB, lanes, keyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, memoryKiB, passes, lanes, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Verify reports whether password matches the encoded hash. It returns an
// error (wrapping ErrMalformed) only when encoded cannot be read; a password
// over MaxLength bytes simply does not match, as Hash never accepted one.
func Verify(password, encoded string) (bool, error) {
	p, err := decode(encoded)
	if err != nil {
		return false, err
	}
	if len(password) > MaxLength {
		return false, nil
	}
	key := argon2.IDKey([]byte(password), p.salt, p.passes, p.memoryKiB, p.lanes, uint32(len(p.key)))
	return subtle.ConstantTimeCompare(key, p.key) == 1, nil
}

type params struct {
	memoryKiB, passes uint32
	lanes             uint8
	salt, key         []byte
}

func decode(encoded string) (*params, error) {
	fields := strings.Split(encoded, "$")
	if len(fields) != 6 || fields[0] != "" {
		return nil, malformed("want $argon2id$v=19$m=...,t=...,p=...$salt$hash")
	}
	if fields[1] != "argon2id" {
		return nil, malformed("algorithm %q is not argon2id", fields[1])
	}
	if fields[2] != "v="+strconv.Itoa(argon2.Version) {
		return nil, malformed("version %q is not v=%d", fields[2], argon2.Version)
	}
	var p params
	kv := strings.Split(fields[3], ",")
	if len(kv) != 3 {
		return nil, malformed("parameters %q are not m=...,t=...,p=...", fields[3])
	}
	m, err := param(kv[0], "m=", 1, maxMemoryKiB)
	if err != nil {
		return nil, err
	}
	t, err := param(kv[1], "t=", 1, maxPasses)
	if err != nil {
		return nil, err
	}
	l, err := param(kv[2], "p=", 1, maxLanes)
	if err != nil {
		return nil, err
	}
	// Argon2 needs at least 8 KiB per lane (RFC 9106 §3.1).
	if m < 8*l {
		return nil, malformed("m=%d is below 8 KiB per lane for p=%d", m, l)
	}
	p.memoryKiB, p.passes, p.lanes = m, t, uint8(l)
	if p.salt, err = b64.DecodeString(fields[4]); err != nil {
		return nil, malformed("salt: %v", err)
	}
	if len(p.salt) < minSaltLen || len(p.salt) > maxSaltLen {
		return nil, malformed("salt of %d bytes, want %d to %d", len(p.salt), minSaltLen, maxSaltLen)
	}
	if p.key, err = b64.DecodeString(fields[5]); err != nil {
		return nil, malformed("hash: %v", err)
	}
	if len(p.key) < minKeyLen || len(p.key) > maxKeyLen {
		return nil, malformed("hash of %d bytes, want %d to %d", len(p.key), minKeyLen, maxKeyLen)
	}
	return &p, nil
}

// param reads one "name=value" parameter within [lo, hi].
func param(field, prefix string, lo, hi uint32) (uint32, error) {
	digits, ok := strings.CutPrefix(field, prefix)
	if !ok {
		return 0, malformed("parameter %q, want %s...", field, prefix)
	}
	n, err := strconv.ParseUint(digits, 10, 32)
	if err != nil || n < uint64(lo) || n > uint64(hi) {
		return 0, malformed("parameter %q, want %s%d to %s%d", field, prefix, lo, prefix, hi)
	}
	return uint32(n), nil
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// alphabet leaves out the characters people confuse when reading a password
// aloud or from a screen: 0/o, 1/l/i. Lower case only, so it types easily.
const alphabet = "23456789abcdefghjkmnpqrstuvwxyz"

// GeneratedLength is the length of Generate's passwords: 24 characters of a
// 31-letter alphabet carry about 118 bits.
const GeneratedLength = 24

// Generate returns a random password, used for the first administrator.
func Generate() string {
	out := make([]byte, 0, GeneratedLength)
	// Bytes at or above the largest multiple of len(alphabet) are dropped,
	// so every character is equally likely.
	limit := byte(256 - 256%len(alphabet))
	buf := make([]byte, 2*GeneratedLength)
	for len(out) < GeneratedLength {
		rand.Read(buf)
		for _, b := range buf {
			if b < limit && len(out) < GeneratedLength {
				out = append(out, alphabet[int(b)%len(alphabet)])
			}
		}
	}
	return string(out)
}
