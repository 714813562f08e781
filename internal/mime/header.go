package mime

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Field is one header field as received.
type Field struct {
	Name  string // as received, case kept
	Value string // unfolded (the line breaks of continuation lines removed) and trimmed
	Raw   []byte // the exact bytes received, line end(s) included; "Name: Value\r\n" for built fields
}

// Header is a header block; the order of its fields is kept.
type Header struct {
	Fields []Field
}

// Get returns the value of the first field called name (case-insensitive), or "".
func (h Header) Get(name string) string {
	if i := h.index(name); i >= 0 {
		return h.Fields[i].Value
	}
	return ""
}

// Values returns the values of all fields called name (case-insensitive), in order.
func (h Header) Values(name string) []string {
	var vs []string
	for _, f := range h.Fields {
		if strings.EqualFold(f.Name, name) {
			vs = append(vs, f.Value)
		}
	}
	return vs
}

// Set replaces the first field called name and removes the others, or appends
// a new field when there is none.
func (h *Header) Set(name, value string) {
	i := h.index(name)
	if i < 0 {
		h.Add(name, value)
		return
	}
	h.Fields[i] = builtField(name, value)
	rest := slices.DeleteFunc(h.Fields[i+1:], func(f Field) bool { return strings.EqualFold(f.Name, name) })
	h.Fields = h.Fields[:i+1+len(rest)]
}

// Add appends a field.
func (h *Header) Add(name, value string) {
	h.Fields = append(h.Fields, builtField(name, value))
}

// Del removes every field called name.
func (h *Header) Del(name string) {
	h.Fields = slices.DeleteFunc(h.Fields, func(f Field) bool { return strings.EqualFold(f.Name, name) })
}

// Raw returns the concatenated raw bytes of all fields: the block as received,
// without its terminating empty line.
func (h Header) Raw() []byte {
	var b []byte
	for _, f := range h.Fields {
		b = append(b, f.Raw...)
	}
	return b
}

func (h Header) index(name string) int {
	return slices.IndexFunc(h.Fields, func(f Field) bool { return strings.EqualFold(f.Name, name) })
}

func builtField(name, value string) Field {
	return Field{Name: name, Value: value, Raw: []byte(name + ": " + value + "\r\n")}
}

// ReadHeader reads a header block up to and including the empty line that ends
// it, and returns the parsed fields with the exact bytes it consumed. Lines may
// end in CRLF or bare LF, mixed; lines starting with a space or tab continue
// the previous field. It reads nothing past the empty line.
func ReadHeader(r *bufio.Reader, limits Limits) (Header, []byte, error) {
	limits = limits.orDefaults()
	var (
		h     Header
		raw   []byte
		value []byte // unfolded value of the field being read
		start = -1   // offset in raw of the field being read
	)
	finish := func() {
		if start >= 0 {
			h.Fields[len(h.Fields)-1].Raw = raw[start:len(raw):len(raw)]
			h.Fields[len(h.Fields)-1].Value = string(bytes.Trim(value, " \t"))
		}
	}
	for {
		line, err := readLine(r, limits.MaxHeaderBytes-len(raw))
		if err != nil {
			return Header{}, nil, err
		}
		content := trimEOL(line)
		switch {
		case len(content) == 0: // the empty line that ends the block
			finish()
			raw = append(raw, line...)
			return h, raw, nil
		case content[0] == ' ' || content[0] == '\t':
			if start < 0 {
				return Header{}, nil, fmt.Errorf("%w: continuation line before any field", ErrMalformedHeader)
			}
			value = append(value, content...)
		default:
			name, v, err := splitField(content)
			if err != nil {
				return Header{}, nil, err
			}
			if len(h.Fields) == limits.MaxFields {
				return Header{}, nil, fmt.Errorf("%w: more than %d fields", ErrHeaderTooLarge, limits.MaxFields)
			}
			finish()
			start = len(raw)
			value = append(value[:0], v...)
			h.Fields = append(h.Fields, Field{Name: name})
		}
		raw = append(raw, line...)
	}
}

// readLine reads one line, its line end included, of at most limit bytes.
func readLine(r *bufio.Reader, limit int) ([]byte, error) {
	var line []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if len(line)+len(chunk) > limit {
			return nil, fmt.Errorf("%w: header block over the limit", ErrHeaderTooLarge)
		}
		line = append(line, chunk...)
		switch {
		case err == nil:
			return line, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			return nil, fmt.Errorf("%w: input ends before the empty line ending the header block: %w",
				ErrMalformedHeader, io.ErrUnexpectedEOF)
		default:
			return nil, err
		}
	}
}

// trimEOL removes a trailing LF or CRLF.
func trimEOL(line []byte) []byte {
	line = bytes.TrimSuffix(line, []byte("\n"))
	return bytes.TrimSuffix(line, []byte("\r"))
}

// splitField splits "Name: value"; white space before the colon is tolerated
// (RFC 5322 obsolete syntax, still sent by some products).
func splitField(content []byte) (string, []byte, error) {
	colon := bytes.IndexByte(content, ':')
	if colon < 0 {
		return "", nil, fmt.Errorf("%w: line without a colon: %.40q", ErrMalformedHeader, content)
	}
	name := bytes.TrimRight(content[:colon], " \t")
	if !isFieldName(name) {
		return "", nil, fmt.Errorf("%w: invalid field name %.40q", ErrMalformedHeader, name)
	}
	return string(name), content[colon+1:], nil
}

// isFieldName reports whether b is an RFC 5322 field-name: printable ASCII
// except the colon.
func isFieldName(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c < 33 || c > 126 || c == ':' {
			return false
		}
	}
	return true
}

// LooksLikeHeader reports whether peek, the first bytes of an entity, starts
// with a MIME header block rather than with the payload itself (Mendelson sends
// encrypted EDI with no MIME headers at all). Pass at least a few hundred bytes
// when the entity is that long. It accepts lines like "Name: value" (name of
// letters, digits, '-' and '_', starting with a letter), continuation lines and
// the empty line ending the block; anything else, binary data, and EDI
// interchanges (X12 "ISA*", EDIFACT "UNB+", and "UNA:" whose service string
// advice would otherwise pass) are not headers.
func LooksLikeHeader(peek []byte) bool {
	if len(peek) == 0 || bytes.HasPrefix(peek, []byte("UNA:")) {
		return false
	}
	for first := true; len(peek) > 0; first = false {
		line, rest, complete := bytes.Cut(peek, []byte("\n"))
		peek = rest
		if complete {
			line = bytes.TrimSuffix(line, []byte("\r"))
			if len(line) == 0 {
				return !first
			}
		}
		switch {
		case line[0] == ' ' || line[0] == '\t':
			if first || !isText(line) {
				return false
			}
		case !looksLikeFieldLine(line, !complete && !first):
			return false
		}
	}
	return true
}

// looksLikeFieldLine checks one "Name: value" line. A line cut short by the end
// of the peek passes when what is there fits and partialOK is set.
func looksLikeFieldLine(line []byte, partialOK bool) bool {
	i := 0
	for i < len(line) && (isASCIILetter(line[i]) || i > 0 && (isDigit(line[i]) || line[i] == '-' || line[i] == '_')) {
		i++
	}
	if i == 0 {
		return false
	}
	for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
		i++
	}
	if i == len(line) {
		return partialOK
	}
	return line[i] == ':' && isText(line[i+1:])
}

// isText reports whether b holds no control characters other than tab (and a
// stray CR, which the caller left at a cut line's end).
func isText(b []byte) bool {
	for _, c := range b {
		if (c < 32 && c != '\t' && c != '\r') || c == 127 {
			return false
		}
	}
	return true
}

func isASCIILetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }
func isDigit(c byte) bool       { return c >= '0' && c <= '9' }

// WriteHeader writes each field as "Name: Value\r\n", then "\r\n". It writes
// exactly HeaderSize(h) bytes, or nothing when a field is invalid: a name that
// is not an RFC 5322 field-name, or a value holding CR, LF or NUL (which would
// let a value inject fields).
func WriteHeader(w io.Writer, h Header) error {
	b := make([]byte, 0, HeaderSize(h))
	for _, f := range h.Fields {
		if !isFieldName([]byte(f.Name)) {
			return fmt.Errorf("%w: invalid field name %.40q", ErrMalformedHeader, f.Name)
		}
		if strings.ContainsAny(f.Value, "\r\n\x00") {
			return fmt.Errorf("%w: field %s: value holds CR, LF or NUL", ErrMalformedHeader, f.Name)
		}
		b = append(b, f.Name...)
		b = append(b, ": "...)
		b = append(b, f.Value...)
		b = append(b, "\r\n"...)
	}
	b = append(b, "\r\n"...)
	_, err := w.Write(b)
	return err
}

// HeaderSize returns the number of bytes WriteHeader writes for h.
func HeaderSize(h Header) int {
	n := 2
	for _, f := range h.Fields {
		n += len(f.Name) + len(": ") + len(f.Value) + len("\r\n")
	}
	return n
}
