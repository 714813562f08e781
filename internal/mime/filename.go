package mime

import (
	stdmime "mime"
	"strings"
	"unicode"
	"unicode/utf8"
)

const (
	// maxFilenameBytes bounds SafeFilename's result, below every common file system's limit.
	maxFilenameBytes = 200
	// maxKeptExtension is the longest extension (dot included) kept when a name is shortened.
	maxKeptExtension = 16
)

// Filename returns the file name an entity's header suggests, made safe with
// SafeFilename, or "". It takes Content-Disposition's filename (RFC 2231
// extended values and continuations included) and falls back to Content-Type's
// name, then decodes RFC 2047 encoded words.
func Filename(h Header) string {
	name := param(h, "Content-Disposition", "filename")
	if name == "" {
		name = param(h, "Content-Type", "name")
	}
	var dec stdmime.WordDecoder
	if decoded, err := dec.DecodeHeader(name); err == nil {
		name = decoded
	}
	return SafeFilename(name)
}

func param(h Header, field, name string) string {
	_, params, err := ParseMediaType(h.Get(field))
	if err != nil {
		return ""
	}
	return params[name]
}

// SafeFilename makes name safe as one path element on Unix and Windows: it
// keeps what follows the last '/' or '\', replaces invalid UTF-8 and the
// characters Windows forbids (<>:"|?*) with '_', drops control and Unicode
// format characters (bidi overrides can disguise an extension), trims white
// space at both ends and dots at the end (so "." and ".." become empty, while
// ".profile" stays), prefixes Windows device names (CON, NUL.txt, ...) with '_'
// and shortens the result to 200 bytes on a rune boundary, keeping a short
// extension. Percent escapes are not decoded. It returns "" when nothing is
// left: the caller picks a default name.
func SafeFilename(name string) string {
	name = strings.ToValidUTF8(name, "_")
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		switch {
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r):
			return -1
		case strings.ContainsRune(`<>:"|?*`, r):
			return '_'
		}
		return r
	}, name)
	name = trimName(name)
	if isWindowsDevice(name) {
		name = "_" + name
	}
	return shorten(name)
}

// trimName trims white space at both ends and dots at the end, which Windows
// drops silently (so "x.txt." would alias "x.txt").
func trimName(name string) string {
	name = strings.TrimLeftFunc(name, unicode.IsSpace)
	return strings.TrimRightFunc(name, func(r rune) bool { return r == '.' || unicode.IsSpace(r) })
}

// isWindowsDevice reports names that Windows maps to a device whatever their extension.
func isWindowsDevice(name string) bool {
	stem, _, _ := strings.Cut(name, ".")
	stem = strings.ToUpper(strings.TrimRightFunc(stem, unicode.IsSpace))
	switch stem {
	case "CON", "PRN", "AUX", "NUL":
		return true
	}
	return len(stem) == 4 && (strings.HasPrefix(stem, "COM") || strings.HasPrefix(stem, "LPT")) &&
		stem[3] >= '1' && stem[3] <= '9'
}

// shorten cuts name to maxFilenameBytes on a rune boundary, keeping a short
// extension so that the file type survives.
func shorten(name string) string {
	if len(name) <= maxFilenameBytes {
		return name
	}
	ext := ""
	if i := strings.LastIndexByte(name, '.'); i > 0 && len(name)-i <= maxKeptExtension {
		name, ext = name[:i], name[i:]
	}
	return trimName(cutRunes(name, maxFilenameBytes-len(ext))) + ext
}

// cutRunes returns the longest prefix of the valid UTF-8 string s that has at
// most n bytes and ends on a rune boundary.
func cutRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// FormatFilenameParam returns a Content-Disposition filename parameter for
// name, made safe with SafeFilename first (so it cannot hold quotes, back
// slashes or line breaks). ASCII names are quoted; other names get an ASCII
// fallback for old readers (non-ASCII runes as '_') and the RFC 2231 form:
//
//	filename="order.x12"
//	filename="M_ller.edi"; filename*=UTF-8''M%C3%BCller.edi
//
// It returns "" when nothing safe is left; the caller then omits the parameter.
func FormatFilenameParam(name string) string {
	name = SafeFilename(name)
	if name == "" {
		return ""
	}
	ascii := strings.Map(func(r rune) rune {
		if r >= utf8.RuneSelf {
			return '_'
		}
		return r
	}, name)
	if ascii == name {
		return `filename="` + name + `"`
	}
	var b strings.Builder
	b.WriteString(`filename="` + ascii + `"; filename*=UTF-8''`)
	const hexDigits = "0123456789ABCDEF"
	for i := 0; i < len(name); i++ {
		if c := name[i]; isAttrChar(c) {
			b.WriteByte(c)
		} else {
			b.Write([]byte{'%', hexDigits[c>>4], hexDigits[c&15]})
		}
	}
	return b.String()
}

// isAttrChar reports the characters RFC 5987 allows unencoded in an extended value.
func isAttrChar(c byte) bool {
	return isASCIILetter(c) || isDigit(c) || strings.IndexByte("!#$&+-.^_`|~", c) >= 0
}
