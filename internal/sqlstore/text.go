package sqlstore

import (
	"strings"
	"unicode/utf8"

	"github.com/as2gate/as2gate"
)

// maxTextBytes bounds a text field of a message.
const maxTextBytes = 4096

// cleanMessageText makes the text of m storable. Much of it comes from a
// partner (a subject, the words of an MDN, a reason quoting them) and may
// be any bytes: PostgreSQL refuses text that is not UTF-8 or holds NUL,
// and a record that cannot be stored would be refused again on every
// retry. Such bytes become U+FFFD, in m too, so that what is kept is what
// is read back.
func cleanMessageText(m *as2gate.Message) {
	for _, s := range []*string{&m.StationAS2ID, &m.PartnerAS2ID, &m.MessageID, &m.Subject, &m.Reason,
		&m.Algorithms, &m.MIC, &m.MDNURL, &m.MDNMessageID, &m.MDNDisposition, &m.MDNStatus} {
		*s = cleanText(*s)
	}
	for i := range m.Files {
		m.Files[i].Name, m.Files[i].ContentType = cleanText(m.Files[i].Name), cleanText(m.Files[i].ContentType)
	}
}

// cleanText returns s as valid UTF-8 without NUL, cut on a rune boundary
// to at most maxTextBytes.
func cleanText(s string) string {
	if len(s) > maxTextBytes {
		n := maxTextBytes
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		s = s[:n]
	}
	if utf8.ValidString(s) && !strings.Contains(s, "\x00") {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}
