package gateway

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/as2gate/as2gate"
)

func TestStoredName(t *testing.T) {
	long := func(s string, n int) string { return strings.Repeat(s, n) }
	tests := []struct {
		name, want string
	}{
		{"order.x12", "order.x12"},
		{long(";", 200) + ".edi", long(";", 78) + ".edi"}, // ';' takes three bytes as a key
		{long("é", 100) + ".xml", long("é", 100) + ".xml"},
		{long("é", 130) + ".xml", long("é", 118) + ".xml"},
		{"a." + long("%", 100), "a." + long("%", 79)}, // no extension that long: cut at the end
	}
	for _, tt := range tests {
		got := storedName(tt.name, map[string]bool{})
		if got != tt.want {
			t.Errorf("storedName(%q) = %q, want %q", tt.name, got, tt.want)
		}
		if n := len(as2gate.KeyElement(got)); n > maxNameKeyBytes || !utf8.ValidString(got) {
			t.Errorf("storedName(%q): key element of %d bytes, valid UTF-8 %v", tt.name, n, utf8.ValidString(got))
		}
	}
	used := map[string]bool{}
	name := long(";", 200) + ".edi"
	first, second := storedName(name, used), storedName(name, used)
	if first == second || len(as2gate.KeyElement(second)) > 255 {
		t.Errorf("two files of one name: %q and %q", first, second)
	}
}
