package mime

import (
	"bytes"
	"errors"
	"regexp"
	"testing"
)

func TestNewBoundary(t *testing.T) {
	re := regexp.MustCompile(`\A----=_Part_[0-9a-f]{24}\z`)
	seen := map[string]bool{}
	for range 100 {
		b := NewBoundary()
		if !re.MatchString(b) || len(b) != BoundaryLen || !validBoundary(b) || seen[b] {
			t.Fatalf("boundary %q (len %d, seen %v)", b, len(b), seen[b])
		}
		seen[b] = true
	}
}

func TestPartWriter(t *testing.T) {
	parts := [][]byte{
		[]byte("Content-Type: application/edi-x12\r\n\r\nISA*00*~\r\n"),
		{},
		[]byte("Content-Type: application/pkcs7-signature\r\n\r\n\x30\x82--b\r\n"),
	}
	for n := 1; n <= len(parts); n++ {
		var buf bytes.Buffer
		pw := NewPartWriter(&buf, "b")
		sizes := make([]int64, n)
		for i, p := range parts[:n] {
			if err := pw.NextPart(); err != nil {
				t.Fatal(err)
			}
			buf.Write(p)
			sizes[i] = int64(len(p))
		}
		if err := pw.Close(); err != nil {
			t.Fatal(err)
		}
		if got := MultipartSize("b", sizes...); got != int64(buf.Len()) {
			t.Errorf("%d parts: MultipartSize %d, wrote %d", n, got, buf.Len())
		}
		// The documented bytes, and a round trip through the reader.
		want := "--b\r\n" + string(parts[0])
		for _, p := range parts[1:n] {
			want += "\r\n--b\r\n" + string(p)
		}
		want += "\r\n--b--\r\n"
		if buf.String() != want {
			t.Errorf("%d parts: wrote %q, want %q", n, buf.String(), want)
		}
		res := split(&buf, "b", Limits{})
		if res.err != nil || len(res.parts) != n || len(res.preamble) != 0 {
			t.Fatalf("%d parts: read back %d, %v", n, len(res.parts), res.err)
		}
		for i := range n {
			if !bytes.Equal(res.parts[i], parts[i]) {
				t.Errorf("part %d read back as %q", i, res.parts[i])
			}
		}
	}
}

func TestPartWriterErrors(t *testing.T) {
	var buf bytes.Buffer
	if err := NewPartWriter(&buf, "b").Close(); err == nil || buf.Len() != 0 || MultipartSize("b") != 0 {
		t.Errorf("Close without parts: %v, wrote %q", err, buf.String())
	}
	for _, b := range []string{"", "with space ", "bad\r\nline", "semi;colon", string(make([]byte, 71))} {
		if err := NewPartWriter(&buf, b).NextPart(); !errors.Is(err, ErrNoBoundary) || buf.Len() != 0 {
			t.Errorf("boundary %q: %v, wrote %q", b, err, buf.String())
		}
	}
	pw := NewPartWriter(&buf, "b")
	if pw.NextPart() != nil || pw.Close() != nil || pw.NextPart() == nil {
		t.Error("NextPart after Close succeeded")
	}
}
