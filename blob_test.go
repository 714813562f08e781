package as2gate

import (
	"strings"
	"testing"
	"time"
)

func TestKeyElement(t *testing.T) {
	for _, in := range []string{"ACME", "my station", "../../etc", "a/b\\c", ".hidden", "..", ".", "", "x%2Fy", "ünï", "\x00\n", "A-Z_0.9~+=@,!()", "order 1.x12", " lead", "trail ", "bad\xffutf8"} {
		e := KeyElement(in)
		if strings.ContainsAny(e, "/\\\x00") || e == "." || e == ".." || strings.HasPrefix(e, ".") || e == "" {
			t.Errorf("KeyElement(%q) = %q is not a safe element", in, e)
		}
		back, err := ParseKeyElement(e)
		if err != nil || back != in {
			t.Errorf("ParseKeyElement(%q) = %q, %v; want %q", e, back, err, in)
		}
	}
	for _, readable := range []string{"ACME-1", "order 1.x12", "Bestellung-ü.edi"} {
		if KeyElement(readable) != readable {
			t.Errorf("%q must stay readable, got %q", readable, KeyElement(readable))
		}
	}
}

func TestKeysFor(t *testing.T) {
	k := KeysFor("../st", "pa rt", Inbound, NewFolderName(time.UnixMilli(1594924300560)))
	if !strings.HasPrefix(k.Folder, "AS2/files/%2E.%2Fst/pa rt/inbox/1594924300560-") {
		t.Fatalf("folder %q", k.Folder)
	}
	name := strings.TrimPrefix(k.Folder, "AS2/files/")
	if k.Raw != "AS2/raw-message/"+name+".raw" || k.MDN != "AS2/raw-mdn/"+name+".raw" {
		t.Fatalf("raw %q, MDN %q: not one file each beside the others of the box", k.Raw, k.MDN)
	}
	for _, key := range []string{k.Folder, k.Raw, k.MDN} {
		for _, el := range strings.Split(key, "/") {
			if el == ".." || el == "." || el == "" {
				t.Fatalf("unsafe key %q", key)
			}
		}
	}
}

func TestAS2IDMustMakeAFolderName(t *testing.T) {
	tests := []struct {
		id string
		ok bool
	}{
		{"ACME", true},
		{strings.Repeat("A", 128), true},
		{strings.Repeat(";", 85), true},  // 255 bytes as a folder name
		{strings.Repeat(";", 86), false}, // 258
		{"", false},
	}
	for _, tt := range tests {
		st := &Station{AS2ID: tt.id, CertID: "c"}
		p := &Partner{AS2ID: tt.id, URL: "https://example.com/as2"}
		p.Defaults()
		for _, err := range []error{st.Validate(), p.Validate()} {
			if (err == nil) != tt.ok {
				t.Errorf("AS2 ID %q: error %v, want ok=%v", tt.id, err, tt.ok)
			}
		}
	}
}
