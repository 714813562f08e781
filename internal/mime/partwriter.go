package mime

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
)

// BoundaryLen is the length of every NewBoundary result.
const BoundaryLen = len(boundaryPrefix) + 24

const boundaryPrefix = "----=_Part_"

// NewBoundary returns a random boundary, "----=_Part_" and 24 hex digits
// (BoundaryLen bytes). It contains '=', so the Content-Type parameter must be
// quoted: boundary="...".
func NewBoundary() string {
	var b [12]byte
	rand.Read(b[:]) // never fails (crypto/rand, Go 1.24+)
	return boundaryPrefix + hex.EncodeToString(b[:])
}

// PartWriter writes the delimiter lines of a multipart body; the caller writes
// each part's raw bytes (header block and body) to the same writer between
// them. The exact bytes, for a boundary b:
//
//	first NextPart:  "--" b "\r\n"          len(b)+4 bytes
//	later NextPart:  "\r\n--" b "\r\n"      len(b)+6 bytes
//	Close:           "\r\n--" b "--\r\n"    len(b)+8 bytes
//
// MultipartSize adds them up. Preamble and epilogue are left empty.
type PartWriter struct {
	w        io.Writer
	boundary string
	parts    int
	closed   bool
}

// NewPartWriter returns a PartWriter for boundary, which NextPart checks
// against RFC 2046: 1 to 70 characters from letters, digits and '()+_,-./:=?
// and space, not ending in a space.
func NewPartWriter(w io.Writer, boundary string) *PartWriter {
	return &PartWriter{w: w, boundary: boundary}
}

// NextPart writes the delimiter line that opens the next part.
func (pw *PartWriter) NextPart() error {
	if pw.closed {
		return errors.New("mime: NextPart after Close")
	}
	if !validBoundary(pw.boundary) {
		return fmt.Errorf("%w: invalid boundary %.80q", ErrNoBoundary, pw.boundary)
	}
	line := "\r\n--" + pw.boundary + "\r\n"
	if pw.parts == 0 {
		line = line[2:]
	}
	if _, err := io.WriteString(pw.w, line); err != nil {
		return err
	}
	pw.parts++
	return nil
}

// Close writes the close delimiter. A multipart body needs at least one part,
// so Close without a part writes nothing and fails.
func (pw *PartWriter) Close() error {
	if pw.closed {
		return nil
	}
	if pw.parts == 0 {
		return errors.New("mime: multipart body closed without a part")
	}
	pw.closed = true
	_, err := io.WriteString(pw.w, "\r\n--"+pw.boundary+"--\r\n")
	return err
}

// MultipartSize returns the number of bytes a PartWriter with boundary writes,
// delimiters plus the caller's parts, for parts of the given sizes: 0 when
// there are none (Close then fails).
func MultipartSize(boundary string, partSizes ...int64) int64 {
	if len(partSizes) == 0 {
		return 0
	}
	b := int64(len(boundary))
	n := (b + 4) + int64(len(partSizes)-1)*(b+6) + (b + 8)
	for _, s := range partSizes {
		n += s
	}
	return n
}

// validBoundary checks RFC 2046 §5.1.1 bchars and length.
func validBoundary(b string) bool {
	if len(b) == 0 || len(b) > 70 || b[len(b)-1] == ' ' {
		return false
	}
	for i := 0; i < len(b); i++ {
		if c := b[i]; !isASCIILetter(c) && !isDigit(c) && !isBChar(c) {
			return false
		}
	}
	return true
}

func isBChar(c byte) bool {
	switch c {
	case '\'', '(', ')', '+', '_', ',', '-', '.', '/', ':', '=', '?', ' ':
		return true
	}
	return false
}
