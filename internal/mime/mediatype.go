package mime

import (
	"fmt"
	stdmime "mime"
	"slices"
	"strconv"
	"strings"
)

// maxParamSections bounds the RFC 2231 continuation sections kept per parameter.
const maxParamSections = 100

// ParseMediaType parses a Content-Type or Content-Disposition value into its
// lower-cased media type (or disposition type) and parameters (names
// lower-cased, values as sent). It is as lenient as the AS2 products in the
// field: unquoted values with tspecials (boundary=----=_Part_1), trailing or
// doubled ';', folded lines, parameters without a value (skipped), duplicate
// parameters (the first wins), and RFC 2231 extended values and continuations
// in UTF-8, US-ASCII or ISO-8859-1.
func ParseMediaType(v string) (mediatype string, params map[string]string, err error) {
	// The standard parser is tried first, except for RFC 2231 extended values:
	// it silently drops those in charsets other than UTF-8 and US-ASCII.
	if !strings.Contains(v, "*=") {
		if mt, ps, err := stdmime.ParseMediaType(v); err == nil {
			return mt, ps, nil
		}
	}
	return parseMediaType(v)
}

// section is one RFC 2231 piece of a parameter: "name*" (num -1), "name*N" or "name*N*".
type section struct {
	num   int
	ext   bool // percent-encoded, the first one with a charset'language' prefix
	value string
}

// parseMediaType is the tolerant fallback parser.
func parseMediaType(v string) (string, map[string]string, error) {
	typ, rest, _ := strings.Cut(v, ";")
	typ = strings.ToLower(strings.TrimFunc(typ, isLWSP))
	if !isMediaType(typ) {
		return "", nil, fmt.Errorf("%w: invalid media type %.40q", ErrMalformedHeader, typ)
	}
	params := make(map[string]string)
	sections := make(map[string][]section)
	for {
		rest = strings.TrimLeftFunc(rest, func(r rune) bool { return r == ';' || isLWSP(r) })
		if rest == "" {
			break
		}
		var name, value string
		name, value, rest = nextParam(rest)
		if !isToken(name) {
			continue
		}
		base, s, isSection := splitSection(name, value)
		if !isSection {
			if _, dup := params[name]; !dup {
				params[name] = value
			}
			continue
		}
		if len(sections[base]) < maxParamSections {
			sections[base] = append(sections[base], s)
		}
	}
	// RFC 2231 values win over a plain value sent as a fallback for old readers.
	for base, secs := range sections {
		if v, ok := joinSections(secs); ok {
			params[base] = v
		}
	}
	return typ, params, nil
}

// nextParam reads "name=value" or "name="quoted"" up to the next ';'. For an
// attribute without '=' it returns an empty name, which the caller skips.
func nextParam(s string) (name, value, rest string) {
	i := strings.IndexAny(s, "=;")
	if i < 0 {
		return "", "", ""
	}
	if s[i] == ';' {
		return "", "", s[i+1:]
	}
	name = strings.ToLower(strings.TrimFunc(s[:i], isLWSP))
	s = strings.TrimLeftFunc(s[i+1:], isLWSP)
	if strings.HasPrefix(s, `"`) {
		value, s = unquote(s[1:])
		// Whatever stands between the closing quote and the next ';' is ignored.
		_, s, _ = strings.Cut(s, ";")
		return name, value, s
	}
	j := strings.IndexByte(s, ';')
	if j < 0 {
		j = len(s)
	}
	return name, strings.TrimFunc(s[:j], isLWSP), s[j:]
}

// unquote reads a quoted-string body (after the opening quote) and returns its
// value and what follows the closing quote; an unclosed string runs to the end.
func unquote(s string) (value, rest string) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			return b.String(), s[i+1:]
		case c == '\\' && i+1 < len(s):
			i++
			b.WriteByte(s[i])
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), ""
}

// splitSection recognises the RFC 2231 forms name*, name*N and name*N*.
func splitSection(name, value string) (string, section, bool) {
	base, suffix, found := strings.Cut(name, "*")
	if !found || base == "" {
		return "", section{}, false
	}
	if suffix == "" {
		return base, section{num: -1, ext: true, value: value}, true
	}
	digits, ext := strings.CutSuffix(suffix, "*")
	if digits == "" || len(digits) > 3 || strings.Trim(digits, "0123456789") != "" ||
		(len(digits) > 1 && digits[0] == '0') {
		return "", section{}, false
	}
	n, _ := strconv.Atoi(digits) // cannot fail: one to three digits
	return base, section{num: n, ext: ext, value: value}, true
}

// joinSections assembles a parameter from its RFC 2231 sections: a single
// "name*" wins; otherwise sections 0, 1, ... in order up to the first gap. The
// result is false for a missing section 0, a malformed extended value or an
// unsupported charset.
func joinSections(secs []section) (string, bool) {
	if i := slices.IndexFunc(secs, func(s section) bool { return s.num < 0 }); i >= 0 {
		charset, encoded, ok := splitExtValue(secs[i].value)
		if !ok {
			return "", false
		}
		return decodeCharset(charset, percentDecode(encoded))
	}
	slices.SortStableFunc(secs, func(a, b section) int { return a.num - b.num })
	var (
		buf     []byte
		charset string
		next    int
	)
	for _, s := range secs {
		if s.num < next { // a repeated section: the first one counts
			continue
		}
		if s.num > next {
			break
		}
		v := s.value
		if s.ext {
			if s.num == 0 {
				var ok bool
				if charset, v, ok = splitExtValue(v); !ok {
					return "", false
				}
			}
			buf = append(buf, percentDecode(v)...)
		} else {
			buf = append(buf, v...)
		}
		next++
	}
	if next == 0 {
		return "", false
	}
	return decodeCharset(charset, buf)
}

// splitExtValue splits charset'language'encoded.
func splitExtValue(v string) (charset, encoded string, ok bool) {
	charset, rest, ok := strings.Cut(v, "'")
	if !ok {
		return "", "", false
	}
	_, encoded, ok = strings.Cut(rest, "'")
	return charset, encoded, ok
}

// percentDecode decodes %XX escapes; a '%' not followed by two hex digits stays as it is.
func percentDecode(s string) []byte {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
			continue
		}
		b = append(b, s[i])
	}
	return b
}

func isHex(c byte) bool { return isDigit(c) || c|0x20 >= 'a' && c|0x20 <= 'f' }

func unhex(c byte) byte {
	if isDigit(c) {
		return c - '0'
	}
	return (c | 0x20) - 'a' + 10
}

// decodeCharset turns RFC 2231 bytes into a string. UTF-8 is kept as it is
// (invalid sequences are SafeFilename's concern), ISO-8859-1 maps byte to rune.
func decodeCharset(charset string, b []byte) (string, bool) {
	switch strings.ToLower(charset) {
	case "", "utf-8", "utf8", "us-ascii":
		return string(b), true
	case "iso-8859-1", "latin1":
		r := make([]rune, len(b))
		for i, c := range b {
			r[i] = rune(c)
		}
		return string(r), true
	}
	return "", false
}

// isMediaType accepts "type/subtype" or a bare disposition type like "attachment".
func isMediaType(s string) bool {
	typ, sub, hasSlash := strings.Cut(s, "/")
	return isToken(typ) && (!hasSlash || isToken(sub))
}

// isToken reports whether s is an RFC 2045 token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 127 || strings.IndexByte(`()<>@,;:\"/[]?=`, c) >= 0 {
			return false
		}
	}
	return true
}

func isLWSP(r rune) bool { return r == ' ' || r == '\t' || r == '\r' || r == '\n' }
