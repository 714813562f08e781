package mime

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSafeFilename(t *testing.T) {
	long := strings.Repeat("a", 300)
	tests := []struct{ in, want string }{
		{"order.x12", "order.x12"},
		{"Müller Bestellung.edi", "Müller Bestellung.edi"},
		{".profile", ".profile"},
		{"..hidden", "..hidden"},
		// Traversal.
		{"../../etc/passwd", "passwd"},
		{`..\..\boot.ini`, "boot.ini"},
		{"/abs", "abs"},
		{"/etc/", ""},
		{`C:\x`, "x"},
		{"C:x", "C_x"},
		{`\\server\share\f.txt`, "f.txt"},
		{"a/b\\c/d", "d"},
		{"%2e%2e%2fetc%2fpasswd", "%2e%2e%2fetc%2fpasswd"},
		{"..%2f..%2f", "..%2f..%2f"},
		{".", ""},
		{"..", ""},
		{"...", ""},
		{"../..", ""},
		{". .", ""},
		{"", ""},
		{"   ", ""},
		{"/", ""},
		// Control and format characters.
		{"a\x00b.txt", "ab.txt"},
		{"..\x00", ""},
		{".\x00.", ""},
		{"line\r\nbreak\t.txt", "linebreak.txt"},
		{"del\x7f\u0085.txt", "del.txt"},
		{"invoice\u202egpj.exe", "invoicegpj.exe"},
		{"zero\u200bwidth", "zerowidth"},
		// Windows.
		{`a<b>c:d"e|f?g*h`, "a_b_c_d_e_f_g_h"},
		{"name.txt.", "name.txt"},
		{"name.txt . .", "name.txt"},
		{"  spaced  ", "spaced"},
		{"CON", "_CON"},
		{"nul.txt", "_nul.txt"},
		{"Com1.edi", "_Com1.edi"},
		{"LPT9", "_LPT9"},
		{"COM0", "COM0"},
		{"CONSOLE.txt", "CONSOLE.txt"},
		// Invalid UTF-8.
		{"bad\xff\xfename", "bad_name"},
		// Length.
		{long, long[:200]},
		{long + ".edi", long[:196] + ".edi"},
		{strings.Repeat("é", 150), strings.Repeat("é", 100)},
		{"x" + strings.Repeat("é", 150), "x" + strings.Repeat("é", 99)},
		{strings.Repeat("a", 190) + strings.Repeat(".", 20) + "b.edi", strings.Repeat("a", 190) + ".edi"},
		{long + "." + long, long[:200]},
	}
	for _, tc := range tests {
		if got := SafeFilename(tc.in); got != tc.want {
			t.Errorf("SafeFilename(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestFilename(t *testing.T) {
	tests := []struct {
		name   string
		fields [][2]string
		want   string
	}{
		{"disposition", [][2]string{{"Content-Disposition", `attachment; filename="order.x12"`}}, "order.x12"},
		{"unquoted", [][2]string{{"Content-Disposition", `attachment; filename=payload.txt`}}, "payload.txt"},
		{"content-type name", [][2]string{{"Content-Type", `application/edi-x12; name=order.x12`}}, "order.x12"},
		{"disposition wins", [][2]string{
			{"Content-Type", `application/edi-x12; name=ct.x12`},
			{"Content-Disposition", `attachment; filename="cd.x12"`},
		}, "cd.x12"},
		{"empty filename falls back", [][2]string{
			{"Content-Type", `application/edi-x12; name=ct.x12`},
			{"Content-Disposition", `attachment; filename=""`},
		}, "ct.x12"},
		{"none", [][2]string{{"Content-Type", "application/edi-x12"}}, ""},
		{"no header", nil, ""},
		{"rfc 2231 utf-8", [][2]string{{"Content-Disposition", `attachment; filename*=UTF-8''M%C3%BCller.edi`}}, "Müller.edi"},
		{"rfc 2231 latin-1", [][2]string{{"Content-Disposition", `attachment; filename*=ISO-8859-1''M%FCller.edi`}}, "Müller.edi"},
		{"rfc 2231 continuation", [][2]string{{"Content-Disposition",
			`attachment; filename*0*=UTF-8''Bestellung%20; filename*1="M"; filename*2*=%C3%BCller.edi`}}, "Bestellung Müller.edi"},
		{"rfc 2047 base64", [][2]string{{"Content-Disposition", `attachment; filename="=?UTF-8?B?TcO8bGxlci5lZGk=?="`}}, "Müller.edi"},
		{"rfc 2047 latin-1 q", [][2]string{{"Content-Type", `application/octet-stream; name="=?ISO-8859-1?Q?M=FCller=2Eedi?="`}}, "Müller.edi"},
		{"rfc 2047 unknown charset", [][2]string{{"Content-Disposition", `attachment; filename="=?x-unknown?Q?a?="`}}, "=_x-unknown_Q_a_="},
		// Traversal, plain and encoded.
		{"traversal", [][2]string{{"Content-Disposition", `attachment; filename="../../etc/passwd"`}}, "passwd"},
		{"windows traversal", [][2]string{{"Content-Disposition", `attachment; filename="..\\..\\boot.ini"`}}, "boot.ini"},
		{"rfc 2047 traversal", [][2]string{{"Content-Disposition", `attachment; filename="=?UTF-8?B?Li4vLi4vZXRjL3Bhc3N3ZA==?="`}}, "passwd"},
		{"rfc 2047 q traversal", [][2]string{{"Content-Disposition", `attachment; filename="=?UTF-8?Q?=2E=2E=5C=2E=2E?="`}}, ""},
		{"rfc 2231 traversal", [][2]string{{"Content-Disposition", `attachment; filename*=UTF-8''%2E%2E%2F%2E%2E%2Fetc%2Fpasswd`}}, "passwd"},
		{"rfc 2231 continuation traversal", [][2]string{{"Content-Disposition",
			`attachment; filename*0*=UTF-8''%2e%2e%2f; filename*1=..; filename*2*=%2f`}}, ""},
		{"rfc 2231 nul", [][2]string{{"Content-Disposition", `attachment; filename*=UTF-8''a%00.txt`}}, "a.txt"},
		{"percent stays literal", [][2]string{{"Content-Disposition", `attachment; filename="%2e%2e%2fx"`}}, "%2e%2e%2fx"},
		{"dot dot", [][2]string{{"Content-Disposition", `attachment; filename=".."`}}, ""},
	}
	for _, tc := range tests {
		var h Header
		for _, f := range tc.fields {
			h.Add(f[0], f[1])
		}
		if got := Filename(h); got != tc.want {
			t.Errorf("%s: Filename = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestFormatFilenameParam(t *testing.T) {
	tests := []struct{ in, want string }{
		{"order.x12", `filename="order.x12"`},
		{"with space.edi", `filename="with space.edi"`},
		{"Müller.edi", `filename="M_ller.edi"; filename*=UTF-8''M%C3%BCller.edi`},
		{"€ 100%.txt", `filename="_ 100%.txt"; filename*=UTF-8''%E2%82%AC%20100%25.txt`},
		{`quote"back\slash`, `filename="slash"`},
		{"a\r\nInjected: x", `filename="aInjected_ x"`},
		{"../..", ""},
	}
	for _, tc := range tests {
		got := FormatFilenameParam(tc.in)
		if got != tc.want {
			t.Errorf("FormatFilenameParam(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if got == "" {
			continue
		}
		// What we write, we read back as the safe name.
		var h Header
		h.Add("Content-Disposition", "attachment; "+got)
		if back := Filename(h); back != SafeFilename(tc.in) {
			t.Errorf("read back %q as %q, want %q", got, back, SafeFilename(tc.in))
		}
	}
}

func FuzzSafeFilename(f *testing.F) {
	for _, s := range []string{
		"../../etc/passwd", `..\..\boot.ini`, "/abs", `C:\x`, "%2e%2e%2f", ".", "..", ". .", "..\x00", "CON.txt",
		"=?UTF-8?B?Li4vLi4vZXRjL3Bhc3N3ZA==?=", strings.Repeat("é", 150) + ".edi", "a\u202eb", "bad\xff",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		for _, got := range []string{SafeFilename(in), Filename(Header{Fields: []Field{
			{Name: "Content-Disposition", Value: "attachment; filename*=UTF-8''" + in},
			{Name: "Content-Type", Value: `application/octet-stream; name="` + in + `"`},
		}})} {
			if strings.ContainsAny(got, "/\\\x00") || got == "." || got == ".." || len(got) > maxFilenameBytes {
				t.Fatalf("unsafe result %q for %q", got, in)
			}
			if !utf8.ValidString(got) {
				t.Fatalf("invalid UTF-8 %q for %q", got, in)
			}
			for _, r := range got {
				if r < 32 || r == 127 {
					t.Fatalf("control character in %q for %q", got, in)
				}
			}
			if SafeFilename(got) != got {
				t.Fatalf("not idempotent: %q -> %q", got, SafeFilename(got))
			}
		}
		if p := FormatFilenameParam(in); strings.ContainsAny(p, "\r\n\x00") {
			t.Fatalf("FormatFilenameParam(%q) = %q", in, p)
		}
	})
}
