package mime

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"testing/iotest"
)

func TestReadHeader(t *testing.T) {
	type nv struct{ name, value string }
	tests := []struct {
		name   string
		in     string
		fields []nv
		raw    string // the header block; the rest of in is the body
	}{
		{"crlf", "A: 1\r\nB: two words \r\n\r\nbody", []nv{{"A", "1"}, {"B", "two words"}}, "A: 1\r\nB: two words \r\n\r\n"},
		{"lf", "A: 1\nB:2\n\nbody\n", []nv{{"A", "1"}, {"B", "2"}}, "A: 1\nB:2\n\n"},
		{"mixed, crlf end", "a: 1\nb: 2\r\n\r\n", []nv{{"a", "1"}, {"b", "2"}}, "a: 1\nb: 2\r\n\r\n"},
		{"mixed, lf end", "a: 1\r\nb: 2\r\n\nx", []nv{{"a", "1"}, {"b", "2"}}, "a: 1\r\nb: 2\r\n\n"},
		{"empty block", "\r\nbody", nil, "\r\n"},
		{"folded", "Content-Type: multipart/report;\r\n\tboundary=\"x\"\r\n  ;a=b\r\nX: y\r\n\r\n",
			[]nv{{"Content-Type", "multipart/report;\tboundary=\"x\"  ;a=b"}, {"X", "y"}},
			"Content-Type: multipart/report;\r\n\tboundary=\"x\"\r\n  ;a=b\r\nX: y\r\n\r\n"},
		{"blank continuation line", "A: 1\r\n \r\n\r\n", []nv{{"A", "1"}}, "A: 1\r\n \r\n\r\n"},
		{"space before colon", "Subject : hi\r\n\r\n", []nv{{"Subject", "hi"}}, "Subject : hi\r\n\r\n"},
		{"empty value", "A:\r\nB: \r\n\r\n", []nv{{"A", ""}, {"B", ""}}, "A:\r\nB: \r\n\r\n"},
		{"colon in value", "Date: 12:00:01\r\n\r\n", []nv{{"Date", "12:00:01"}}, "Date: 12:00:01\r\n\r\n"},
		{"duplicates kept in order", "C: 1\r\nc: 2\r\n\r\n", []nv{{"C", "1"}, {"c", "2"}}, "C: 1\r\nc: 2\r\n\r\n"},
	}
	for _, tc := range tests {
		for rname, r := range map[string]io.Reader{
			"whole":   strings.NewReader(tc.in),
			"onebyte": iotest.OneByteReader(strings.NewReader(tc.in)),
		} {
			t.Run(tc.name+"/"+rname, func(t *testing.T) {
				br := bufio.NewReaderSize(r, 16) // the smallest size: long lines span reads
				h, raw, err := ReadHeader(br, Limits{})
				if err != nil {
					t.Fatal(err)
				}
				if string(raw) != tc.raw {
					t.Errorf("raw %q, want %q", raw, tc.raw)
				}
				var got []nv
				for _, f := range h.Fields {
					got = append(got, nv{f.Name, f.Value})
				}
				if len(got) != len(tc.fields) || (len(got) > 0 && !equalNV(got, tc.fields)) {
					t.Errorf("fields %q, want %q", got, tc.fields)
				}
				if !bytes.HasPrefix([]byte(tc.raw), h.Raw()) || len(tc.raw)-len(h.Raw()) > 2 {
					t.Errorf("Raw() %q is not the block without its end", h.Raw())
				}
				if rest, _ := io.ReadAll(br); string(rest) != tc.in[len(tc.raw):] {
					t.Errorf("left %q unread, want %q", rest, tc.in[len(tc.raw):])
				}
			})
		}
	}
}

func equalNV[T comparable](a, b []T) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return len(a) == len(b)
}

func TestReadHeaderFieldRaw(t *testing.T) {
	in := "A: 1\r\nB: 2\n\tmore\r\nC: 3\n\n"
	h, _, err := ReadHeader(bufio.NewReader(strings.NewReader(in)), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"A: 1\r\n", "B: 2\n\tmore\r\n", "C: 3\n"}
	for i, f := range h.Fields {
		if string(f.Raw) != want[i] {
			t.Errorf("field %d raw %q, want %q", i, f.Raw, want[i])
		}
	}
}

func TestReadHeaderErrors(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		limits Limits
		want   error
	}{
		{"line without colon", "A: 1\r\nnot a field\r\n\r\n", Limits{}, ErrMalformedHeader},
		{"edifact", "UNB+UNOA:2+sender\r\n", Limits{}, ErrMalformedHeader},
		{"space in name", "Bad Name: x\r\n\r\n", Limits{}, ErrMalformedHeader},
		{"empty name", ": x\r\n\r\n", Limits{}, ErrMalformedHeader},
		{"control in name", "A\x01: x\r\n\r\n", Limits{}, ErrMalformedHeader},
		{"continuation first", " A: 1\r\n\r\n", Limits{}, ErrMalformedHeader},
		{"no end", "A: 1\r\nB: 2\r\n", Limits{}, io.ErrUnexpectedEOF},
		{"no line end", "A: 1", Limits{}, ErrMalformedHeader},
		{"empty input", "", Limits{}, ErrMalformedHeader},
		{"too many bytes", "A: " + strings.Repeat("x", 100) + "\r\n\r\n", Limits{MaxHeaderBytes: 50}, ErrHeaderTooLarge},
		{"end line over the limit", "A: 1\r\n\r\n", Limits{MaxHeaderBytes: 7}, ErrHeaderTooLarge},
		{"endless line", "A: " + strings.Repeat("x", 1<<20), Limits{MaxHeaderBytes: 1000}, ErrHeaderTooLarge},
		{"too many fields", "A: 1\r\nB: 2\r\nC: 3\r\n\r\n", Limits{MaxFields: 2}, ErrHeaderTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := ReadHeader(bufio.NewReader(strings.NewReader(tc.in)), tc.limits)
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
		})
	}
}

func TestReadHeaderLimitsExact(t *testing.T) {
	in := "A: 1\r\nB: 2\r\n\r\n" // 14 bytes, 2 fields
	if _, raw, err := ReadHeader(bufio.NewReader(strings.NewReader(in)), Limits{MaxHeaderBytes: 14, MaxFields: 2}); err != nil || len(raw) != 14 {
		t.Fatalf("at the limits: %d bytes, %v", len(raw), err)
	}
}

// TestReadHeaderFixtures reads the HTTP header blocks of the saved messages
// (LF lines, some ending with CRLF) and compares with a regexp split.
func TestReadHeaderFixtures(t *testing.T) {
	var files []string
	for _, pattern := range []string{"*.as2", "*.mdn", "*.msg"} {
		m, err := filepath.Glob(filepath.Join(fixtureDir, pattern))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) != 9 {
		t.Fatalf("found %d fixtures, want 9", len(files))
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		end := regexp.MustCompile(`\n\r?\n`).FindIndex(data)[1]
		ct := regexp.MustCompile(`(?im)^content-type:[ \t]*(.*?)\r?$`).FindSubmatch(data[:end])
		h, raw, err := ReadHeader(bufio.NewReader(bytes.NewReader(data)), Limits{})
		if err != nil || !bytes.Equal(raw, data[:end]) {
			t.Errorf("%s: %d bytes, %v; want %d bytes", filepath.Base(file), len(raw), err, end)
			continue
		}
		if got := h.Get("Content-Type"); !strings.HasPrefix(got, string(ct[1])) {
			t.Errorf("%s: Content-Type %q, want it to start with %q", filepath.Base(file), got, ct[1])
		}
	}
}

func TestHeaderEditing(t *testing.T) {
	var h Header
	h.Add("A", "1")
	h.Add("B", "2")
	h.Add("a", "3")
	h.Add("C", "4")
	h.Add("A", "5")
	if got := h.Values("a"); !equalNV(got, []string{"1", "3", "5"}) {
		t.Errorf("Values %q", got)
	}
	h.Set("A", "new")
	if got := string(h.Raw()); got != "A: new\r\nB: 2\r\nC: 4\r\n" {
		t.Errorf("after Set: %q", got)
	}
	h.Set("D", "6")
	h.Del("b")
	if got := string(h.Raw()); got != "A: new\r\nC: 4\r\nD: 6\r\n" {
		t.Errorf("after Set and Del: %q", got)
	}
	if h.Get("c") != "4" || h.Get("missing") != "" || h.Values("missing") != nil {
		t.Errorf("Get: %q %q %q", h.Get("c"), h.Get("missing"), h.Values("missing"))
	}
}

func TestWriteHeader(t *testing.T) {
	var h Header
	h.Add("Content-Type", `application/pkcs7-mime; smime-type=enveloped-data; name="smime.p7m"`)
	h.Add("AS2-From", "mecas2")
	h.Add("X-Empty", "")
	var buf bytes.Buffer
	if err := WriteHeader(&buf, h); err != nil {
		t.Fatal(err)
	}
	want := "Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name=\"smime.p7m\"\r\nAS2-From: mecas2\r\nX-Empty: \r\n\r\n"
	if buf.String() != want || HeaderSize(h) != len(want) {
		t.Fatalf("wrote %q (size %d), want %q", buf.String(), HeaderSize(h), want)
	}
	back, raw, err := ReadHeader(bufio.NewReader(&buf), Limits{})
	if err != nil || string(raw) != want || back.Get("as2-from") != "mecas2" || len(back.Fields) != 3 {
		t.Errorf("read back: %v %q %v", back, raw, err)
	}
	if HeaderSize(Header{}) != 2 {
		t.Errorf("empty header size %d", HeaderSize(Header{}))
	}
}

func TestWriteHeaderRejectsInjection(t *testing.T) {
	for _, f := range []Field{
		{Name: "Subject", Value: "hi\r\nBcc: evil"},
		{Name: "Subject", Value: "hi\nX: y"},
		{Name: "Subject", Value: "nul\x00"},
		{Name: "Bad Name", Value: "x"},
		{Name: "", Value: "x"},
		{Name: "A:B", Value: "x"},
	} {
		var buf bytes.Buffer
		err := WriteHeader(&buf, Header{Fields: []Field{{Name: "OK", Value: "1"}, f}})
		if !errors.Is(err, ErrMalformedHeader) || buf.Len() != 0 {
			t.Errorf("%q: %v, wrote %q", f.Name+": "+f.Value, err, buf.String())
		}
	}
}

func TestLooksLikeHeader(t *testing.T) {
	tests := []struct {
		peek string
		want bool
	}{
		{"Content-Type: application/edi-x12\r\n\r\nISA*00*", true},
		{"content-type: text/plain\n\nhello", true},
		{"Content-Type: multipart/report;\r\n\tboundary=x\r\n\r\n", true},
		{"Content-Type:text/plain\r\n", true},
		{"Date: Tue, 4 Jan 2022\r\nContent-Type: app", true}, // cut by the end of the peek
		{"Content-Type: application/octet-stream; name=\"a very long", true},
		{"X_Custom : v\r\n\r\n", true},
		{"UNB+UNOA:2+5790000000000:14+5790000000001:14+200101:1200+1'", false},
		{"UNA:+.? 'UNB+UNOC:3+sender+receiver+200101:1200+1'", false},
		{"UNA:+.? '\nUNB+UNOC:3+sender'\n", false},
		{"ISA*00*          *00*          *ZZ*SENDER         *", false},
		{"<?xml version=\"1.0\"?>", false},
		{"%PDF-1.7\n", false},
		{"\x30\x82\x01\x0a\x06\x09\x2a\x86\x48", false},
		{"Name: va\x00lue\r\n\r\n", false},
		{"A: 1\r\nnot a header line\r\n\r\n", false},
		{"A: 1\r\n\x01\x02\r\n", false},
		{" indented: x\r\n", false},
		{"\r\nbody", false},
		{"Content-Ty", false}, // no colon seen
		{"1abc: x\r\n", false},
		{"Dear sir: hello", false},
		{"", false},
	}
	for _, tc := range tests {
		if got := LooksLikeHeader([]byte(tc.peek)); got != tc.want {
			t.Errorf("LooksLikeHeader(%q) = %v, want %v", tc.peek, got, tc.want)
		}
	}
}

func FuzzReadHeader(f *testing.F) {
	for _, s := range []string{
		"A: 1\r\nB: 2\r\n\r\nbody", "A: 1\nB:\n\tmore\n\n", "Content-Type: multipart/report;\r\n\tboundary=x\r\n\r\n",
		"\r\n", " x\r\n\r\n", "A: 1", "UNB+UNOA:2+x'", "a:\r\n\n",
	} {
		f.Add([]byte(s))
	}
	for _, name := range multipartFixtures {
		data, err := os.ReadFile(filepath.Join(fixtureDir, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		limits := Limits{MaxHeaderBytes: 2048, MaxFields: 20}
		br := bufio.NewReaderSize(bytes.NewReader(in), 16)
		h, raw, err := ReadHeader(br, limits)
		if err != nil {
			if !errors.Is(err, ErrMalformedHeader) && !errors.Is(err, ErrHeaderTooLarge) {
				t.Fatalf("unexpected error %v", err)
			}
		} else {
			if !bytes.HasPrefix(in, raw) || len(raw) > limits.MaxHeaderBytes || len(h.Fields) > limits.MaxFields {
				t.Fatalf("raw %q is not a bounded prefix of the input", raw)
			}
			if end := raw[len(h.Raw()):]; !bytes.HasPrefix(raw, h.Raw()) || (string(end) != "\n" && string(end) != "\r\n") {
				t.Fatalf("fields %q do not make up the block %q", h.Raw(), raw)
			}
			for _, fl := range h.Fields {
				if !bytes.HasPrefix(fl.Raw, []byte(fl.Name)) || fl.Name == "" {
					t.Fatalf("field %q raw %q", fl.Name, fl.Raw)
				}
			}
			if rest, _ := io.ReadAll(br); !bytes.Equal(rest, in[len(raw):]) {
				t.Fatalf("read past the block")
			}
		}
		// What LooksLikeHeader accepts, ReadHeader parses.
		if LooksLikeHeader(in) && (bytes.Contains(in, []byte("\n\n")) || bytes.Contains(in, []byte("\n\r\n"))) {
			if _, _, err := ReadHeader(bufio.NewReader(bytes.NewReader(in)), Limits{MaxHeaderBytes: 1 << 20, MaxFields: 1 << 20}); err != nil {
				t.Fatalf("LooksLikeHeader accepted what ReadHeader rejects: %v", err)
			}
		}
	})
}
