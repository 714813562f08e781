package as2

import "testing"

func TestDetectContentType(t *testing.T) {
	for _, tt := range []struct{ name, head, want string }{
		{"po.x12", "", "application/edi-x12"},
		{"orders.edi", "ISA*00*          *00*", "application/edi-x12"},
		{"orders.edi", "UNA:+.? 'UNB+UNOA:2", "application/edifact"},
		{"orders.dat", "\r\nUNB+UNOC:3", "application/edifact"},
		{"orders.edifact", "", "application/edifact"},
		{"invoice", "<?xml version=\"1.0\"?>", "application/xml"},
		{"notes.txt", "hello", "text/plain"},
		{"blob.bin", "\x00\x01", "application/octet-stream"},
	} {
		if got := DetectContentType(tt.name, []byte(tt.head)); got != tt.want {
			t.Errorf("%s %q: %s, want %s", tt.name, tt.head, got, tt.want)
		}
	}
}
