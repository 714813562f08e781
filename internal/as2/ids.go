package as2

import (
	"fmt"
	"strings"
)

// MaxIDLength is the longest AS2 identifier (RFC 4130 §6.2).
const MaxIDLength = 128

// CheckID validates an AS2 identifier: 1 to 128 printable ASCII characters.
// Identifiers are names, never paths: callers that build paths from them
// must still encode them.
func CheckID(id string) error {
	if id == "" {
		return fmt.Errorf("as2: empty AS2 identifier")
	}
	if len(id) > MaxIDLength {
		return fmt.Errorf("as2: AS2 identifier longer than %d characters", MaxIDLength)
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c < 0x20 || c > 0x7e {
			return fmt.Errorf("as2: AS2 identifier %q has a character outside printable ASCII", id)
		}
	}
	return nil
}

// FormatID writes an AS2 identifier for AS2-From/AS2-To: as is when it is a
// plain atom, quoted (with \ and " escaped) otherwise (RFC 4130 §6.2).
func FormatID(id string) string {
	if id != "" && !strings.ContainsAny(id, " \t\"\\()<>@,;:[]?=") {
		return id
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(id); i++ {
		if id[i] == '"' || id[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(id[i])
	}
	b.WriteByte('"')
	return b.String()
}

// ParseID reads an AS2-From/AS2-To value: quoted or not.
func ParseID(v string) (string, error) {
	v = strings.TrimSpace(v)
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		var b strings.Builder
		for i := 1; i < len(v)-1; i++ {
			if v[i] == '\\' && i+1 < len(v)-1 {
				i++
			}
			b.WriteByte(v[i])
		}
		v = b.String()
	}
	return v, CheckID(v)
}
