package mime

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"
)

// splitResult is everything a PartReader produced.
type splitResult struct {
	preamble []byte
	parts    [][]byte
	err      error // the first error other than the final io.EOF
}

// split reads every part of r completely.
func split(r io.Reader, boundary string, limits Limits) splitResult {
	var res splitResult
	pr := NewPartReader(r, boundary, limits)
	for {
		part, err := pr.NextPart()
		res.preamble = pr.Preamble()
		if err != nil {
			if err != io.EOF {
				res.err = err
			}
			return res
		}
		b, err := io.ReadAll(part)
		res.parts = append(res.parts, b)
		if err != nil {
			res.err = err
			return res
		}
	}
}

// readers wraps an input in every read pattern the splitter must be blind to.
func readers(data []byte) map[string]io.Reader {
	return map[string]io.Reader{
		"whole":   bytes.NewReader(data),
		"onebyte": iotest.OneByteReader(bytes.NewReader(data)),
		"half":    iotest.HalfReader(bytes.NewReader(data)),
		"dataerr": iotest.DataErrReader(bytes.NewReader(data)),
		"chunks":  &chunkReader{data: data, rnd: rand.New(rand.NewPCG(uint64(len(data)), 7))},
	}
}

// chunkReader returns random small chunks (0 to 16 bytes, some empty reads).
type chunkReader struct {
	data []byte
	rnd  *rand.Rand
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), len(c.data), c.rnd.IntN(17))
	copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

// splitAtReader returns data in two reads, the first of k bytes.
type splitAtReader struct {
	data []byte
	k    int
}

func (s *splitAtReader) Read(p []byte) (int, error) {
	if len(s.data) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), len(s.data))
	if s.k > 0 {
		n = min(n, s.k)
		s.k -= n
	}
	copy(p, s.data[:n])
	s.data = s.data[n:]
	return n, nil
}

func strs(parts [][]byte) []string {
	s := make([]string, len(parts))
	for i, p := range parts {
		s[i] = string(p)
	}
	return s
}

func TestPartReaderSplits(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		preamble string
		parts    []string
	}{
		{"crlf", "--b\r\nA\r\n--b\r\nB\r\n--b--\r\n", "", []string{"A", "B"}},
		{"bare lf", "--b\nA\n--b\nB\n--b--\n", "", []string{"A", "B"}},
		{"mixed", "--b\r\nA\n--b\r\nB\r\n--b--", "", []string{"A", "B"}},
		{"part headers kept", "--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b--\r\n", "",
			[]string{"Content-Type: text/plain\r\n\r\nhi"}},
		{"preamble and epilogue", "pre\r\namble\r\n--b\r\nA\r\n--b--\r\nepilogue\r\n--b\r\nX\r\n",
			"pre\r\namble", []string{"A"}},
		{"line break opens the body", "\r\n--b\r\nA\r\n--b--\r\n", "", []string{"A"}},
		{"lf opens the body", "\n--b\nA\n--b--", "", []string{"A"}},
		{"stray header in preamble", "Date: today\r\n\r\n--b\r\nA\r\n--b--", "Date: today\r\n", []string{"A"}},
		{"boundary inside a line", "--b\r\nx--b\r\ny --b--\r\n--b--", "", []string{"x--b\r\ny --b--"}},
		{"prefix lookalikes", "--b\r\nA\r\n--bX\r\n--b-\r\n--b--x\r\n--b -\r\n--bb--\r\nB\r\n--b--", "",
			[]string{"A\r\n--bX\r\n--b-\r\n--b--x\r\n--b -\r\n--bb--\r\nB"}},
		{"lookalike in preamble", "--bc\r\n--b\r\nA\r\n--b--", "--bc", []string{"A"}},
		{"empty parts", "--b\r\n\r\n--b\r\n\r\n--b--\r\n", "", []string{"", ""}},
		{"delimiters back to back", "--b\r\n--b\r\n--b--", "", []string{"", ""}},
		{"part ends with blank lines", "--b\r\nA\r\n\r\n\r\n--b--", "", []string{"A\r\n\r\n"}},
		{"transport padding", "--b \t\r\nA\r\n--b  \r\nB\r\n--b-- \t\r\n", "", []string{"A", "B"}},
		{"close delimiter ends with cr", "--b\r\nA\r\n--b--\r", "", []string{"A"}},
		{"cr without lf is data", "--b\r\nA\r--b\r\n--b\rX\r\n--b--", "", []string{"A\r--b\r\n--b\rX"}},
		{"cr before an lf delimiter", "--b\r\nA\r\r\n--b--", "", []string{"A\r"}},
		{"only the last cr belongs to the delimiter", "--b\nA\r\r\n\r\n--b--", "", []string{"A\r\r\n"}},
		{"dashes and newlines", "--b\r\n\n-\n--\n--c\r\n-\r\n--b--", "", []string{"\n-\n--\n--c\r\n-"}},
		{"binary", "--b\r\n\x00\xff\r\n\x00--b\x00\r\n--b--", "", []string{"\x00\xff\r\n\x00--b\x00"}},
		{"close delimiter first", "x\r\n--b--\r\n", "x", nil},
	}
	for _, tc := range tests {
		for rname, r := range readers([]byte(tc.in)) {
			t.Run(tc.name+"/"+rname, func(t *testing.T) {
				res := split(r, "b", Limits{})
				if res.err != nil {
					t.Fatalf("error %v", res.err)
				}
				if string(res.preamble) != tc.preamble {
					t.Errorf("preamble %q, want %q", res.preamble, tc.preamble)
				}
				if got := strs(res.parts); fmt.Sprint(got) != fmt.Sprint(tc.parts) || len(got) != len(tc.parts) {
					t.Errorf("parts %q, want %q", got, tc.parts)
				}
			})
		}
	}
}

// TestPartReaderEveryReadBoundary splits inputs in two reads at every offset,
// so each delimiter is cut at every position.
func TestPartReaderEveryReadBoundary(t *testing.T) {
	in := []byte("pre\r\n--xyz\r\nH: v\r\n\r\nA\r\n--xyzX\r\n\r\n--xyz \r\nB\n--xyz\r\n\r\n--xyz--\r\n")
	want := []string{"H: v\r\n\r\nA\r\n--xyzX\r\n", "B", ""}
	for k := 0; k <= len(in); k++ {
		res := split(&splitAtReader{data: in, k: k}, "xyz", Limits{})
		if res.err != nil || string(res.preamble) != "pre" || fmt.Sprintf("%q", strs(res.parts)) != fmt.Sprintf("%q", want) {
			t.Errorf("cut at %d: preamble %q parts %q err %v", k, res.preamble, strs(res.parts), res.err)
		}
	}
}

// TestPartReaderBufferEdges puts delimiters around the end of the 64 KiB
// look-ahead buffer, where held-back bytes and refills meet.
func TestPartReaderBufferEdges(t *testing.T) {
	for size := readBufferSize - 80; size <= readBufferSize+80; size++ {
		data := bytes.Repeat([]byte("a\r\n--bound"), size/10+1)[:size]
		in := slicesConcat([]byte("--boundary\r\n"), data, []byte("\r\n--boundary\r\n\r\n--boundary--\r\n"))
		for rname, r := range map[string]io.Reader{
			"whole":  bytes.NewReader(in),
			"chunks": &chunkReader{data: in, rnd: rand.New(rand.NewPCG(uint64(size), 1))},
			"cut":    &splitAtReader{data: in, k: readBufferSize - 1},
		} {
			res := split(r, "boundary", Limits{})
			if res.err != nil || len(res.parts) != 2 || !bytes.Equal(res.parts[0], data) || len(res.parts[1]) != 0 {
				t.Fatalf("size %d %s: %d parts, err %v", size, rname, len(res.parts), res.err)
			}
		}
	}
}

// TestPartReaderFullBufferEdges puts the first delimiter across the end of
// the first, full, buffer load.
func TestPartReaderFullBufferEdges(t *testing.T) {
	for size := readBufferSize - 40; size <= readBufferSize+40; size++ {
		pre := bytes.Repeat([]byte("p"), size)
		in := slicesConcat(pre, []byte("\r\n--boundary \r\nA\r\n--boundary--"))
		res := split(bytes.NewReader(in), "boundary", Limits{MaxPreambleBytes: 2 * readBufferSize})
		if res.err != nil || !bytes.Equal(res.preamble, pre) || len(res.parts) != 1 || string(res.parts[0]) != "A" {
			t.Fatalf("preamble of %d bytes: got %d bytes, %d parts, err %v", size, len(res.preamble), len(res.parts), res.err)
		}
	}
}

func slicesConcat(bs ...[]byte) []byte { return bytes.Join(bs, nil) }

// TestPartReaderPaddingLimit: a delimiter line with more than maxPadding
// spaces or tabs is data.
func TestPartReaderPaddingLimit(t *testing.T) {
	ok := strings.Repeat(" \t", maxPadding/2)
	for _, tc := range []struct {
		name, in string
		parts    []string
	}{
		{"at the limit", "--b" + ok + "\r\nA\r\n--b" + ok + "\r\nB\r\n--b--" + ok + "\r\n", []string{"A", "B"}},
		{"over the limit", "--b\r\nA\r\n--b" + ok + " \r\nB\r\n--b--", []string{"A\r\n--b" + ok + " \r\nB"}},
		{"over the limit at a part start", "--b\r\n--b" + ok + "\t\r\nB\r\n--b--", []string{"--b" + ok + "\t\r\nB"}},
		{"longer than the buffer", "--b\r\nA\r\n--b" + strings.Repeat(" ", readBufferSize+10) + "\r\nB\r\n--b--",
			[]string{"A\r\n--b" + strings.Repeat(" ", readBufferSize+10) + "\r\nB"}},
	} {
		for rname, r := range readers([]byte(tc.in)) {
			res := split(r, "b", Limits{})
			if res.err != nil || fmt.Sprintf("%q", strs(res.parts)) != fmt.Sprintf("%q", tc.parts) {
				t.Errorf("%s/%s: got %d parts, err %v", tc.name, rname, len(res.parts), res.err)
			}
		}
	}
}

func TestPartReaderErrors(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name     string
		r        io.Reader
		boundary string
		limits   Limits
		parts    int // parts returned before the error
		want     error
	}{
		{"no delimiter", strings.NewReader("just data\r\n--bb\r\n"), "b", Limits{}, 0, ErrNoBoundary},
		{"empty body", strings.NewReader(""), "b", Limits{}, 0, ErrNoBoundary},
		{"empty boundary", strings.NewReader("--\r\nA\r\n----"), "", Limits{}, 0, ErrNoBoundary},
		{"boundary with line break", strings.NewReader("--a\r\nb"), "a\r\nb", Limits{}, 0, ErrNoBoundary},
		{"boundary too long", strings.NewReader(""), strings.Repeat("x", maxBoundaryLen+1), Limits{}, 0, ErrNoBoundary},
		{"preamble over the limit", strings.NewReader("0123456789X\r\n--b\r\nA\r\n--b--"), "b",
			Limits{MaxPreambleBytes: 10}, 0, ErrNoBoundary},
		{"missing close delimiter", strings.NewReader("--b\r\nA\r\n"), "b", Limits{}, 1, ErrMissingCloseDelimiter},
		{"open delimiter at the end", strings.NewReader("--b\r\nA\r\n--b\r\n"), "b", Limits{}, 2, ErrMissingCloseDelimiter},
		{"open delimiter without line end", strings.NewReader("--b\r\nA\r\n--b"), "b", Limits{}, 2, ErrMissingCloseDelimiter},
		{"too many parts", strings.NewReader("--b\r\n1\r\n--b\r\n2\r\n--b\r\n3\r\n--b--"), "b",
			Limits{MaxParts: 2}, 2, ErrTooManyParts},
		{"read error", io.MultiReader(strings.NewReader("--b\r\nA\r\n"), iotest.ErrReader(boom)), "b", Limits{}, 1, boom},
		{"read error in preamble", iotest.ErrReader(boom), "b", Limits{}, 0, boom},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := split(tc.r, tc.boundary, tc.limits)
			if !errors.Is(res.err, tc.want) || len(res.parts) != tc.parts {
				t.Fatalf("%d parts, error %v; want %d parts, %v", len(res.parts), res.err, tc.parts, tc.want)
			}
		})
	}
}

func TestPartReaderLimitsExact(t *testing.T) {
	in := "0123456789\r\n--b\r\n1\r\n--b\r\n2\r\n--b--"
	res := split(strings.NewReader(in), "b", Limits{MaxPreambleBytes: 10, MaxParts: 2})
	if res.err != nil || string(res.preamble) != "0123456789" || len(res.parts) != 2 {
		t.Fatalf("preamble %q, %d parts, err %v", res.preamble, len(res.parts), res.err)
	}
}

func TestPartReaderErrorsAreFinal(t *testing.T) {
	pr := NewPartReader(strings.NewReader("--b\r\nA"), "b", Limits{})
	part, err := pr.NextPart()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(part); !errors.Is(err, ErrMissingCloseDelimiter) || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("ReadAll: %v", err)
	}
	for range 2 {
		if _, err := pr.NextPart(); !errors.Is(err, ErrMissingCloseDelimiter) {
			t.Fatalf("NextPart: %v", err)
		}
	}
}

func TestPartReaderSkipsUnreadParts(t *testing.T) {
	in := "--b\r\n" + strings.Repeat("first part ", 20000) + "\r\n--b\r\nsecond\r\n--b--\r\n"
	pr := NewPartReader(strings.NewReader(in), "b", Limits{})
	first, err := pr.NextPart()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := first.Read(make([]byte, 5)); err != nil {
		t.Fatal(err)
	}
	second, err := pr.NextPart()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := first.Read(make([]byte, 5)); err == nil || err == io.EOF {
		t.Errorf("read from a skipped part: %v, want an error", err)
	}
	if b, err := io.ReadAll(second); err != nil || string(b) != "second" {
		t.Errorf("second part %q, %v", b, err)
	}
	if _, err := pr.NextPart(); err != io.EOF {
		t.Errorf("after the last part: %v, want io.EOF", err)
	}
	if _, err := pr.NextPart(); err != io.EOF {
		t.Errorf("again: %v, want io.EOF", err)
	}
}

// countingReader counts the bytes read from it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// endless yields 'x' forever.
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	return len(p), nil
}

func TestPartReaderStopsAfterCloseDelimiter(t *testing.T) {
	msg := "--b\r\nA\r\n--b--\r\n"
	cr := &countingReader{r: io.MultiReader(strings.NewReader(msg), endless{})}
	res := split(cr, "b", Limits{})
	if res.err != nil || len(res.parts) != 1 {
		t.Fatalf("%d parts, err %v", len(res.parts), res.err)
	}
	if cr.n > int64(len(msg)+readBufferSize) {
		t.Errorf("read %d bytes of an endless epilogue", cr.n)
	}
}

// pattern yields n bytes of a repeating line, without allocating.
type pattern struct {
	line []byte
	off  int
	n    int64
}

func (p *pattern) Read(b []byte) (int, error) {
	if p.n == 0 {
		return 0, io.EOF
	}
	b = b[:min(int64(len(b)), p.n)]
	for i := range b {
		b[i] = p.line[p.off]
		p.off = (p.off + 1) % len(p.line)
	}
	p.n -= int64(len(b))
	return len(b), nil
}

func TestPartReaderConstantMemory(t *testing.T) {
	size := int64(256 << 20)
	if testing.Short() {
		size = 16 << 20
	}
	// Base64-like lines with delimiter lookalikes: the splitter must look at every line start.
	body := &pattern{line: []byte("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=\r\n--bound\r\n--boundaryX\r\n"), n: size}
	in := io.MultiReader(strings.NewReader("--boundary\r\n"), body, strings.NewReader("\r\n--boundary--\r\n"))

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	pr := NewPartReader(in, "boundary", Limits{})
	part, err := pr.NextPart()
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, part)
	if err != nil || n != size {
		t.Fatalf("copied %d bytes, %v", n, err)
	}
	if _, err := pr.NextPart(); err != io.EOF {
		t.Fatalf("NextPart: %v", err)
	}
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
		t.Errorf("allocated %d bytes for a %d-byte part", alloc, size)
	}
}

const fixtureDir = "../../testdata/interop/pyas2lib-fixtures"

// fixtureBody splits a fixture at its first empty line (LF or CRLF, the way
// they were saved) and takes the boundary with a regexp: independent of the
// code under test.
func fixtureBody(t testing.TB, name string) (body []byte, boundary string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(fixtureDir, name))
	if err != nil {
		t.Fatal(err)
	}
	end := regexp.MustCompile(`\n\r?\n`).FindIndex(data)
	m := regexp.MustCompile(`(?i)boundary="?([^";\r\n]+)`).FindSubmatch(data[:end[1]])
	if m == nil {
		t.Fatalf("%s: no boundary", name)
	}
	return data[end[1]:], string(m[1])
}

var multipartFixtures = []string{
	"mecas2_signed.as2", "mecas2_compressed.as2", "mecas2_signed.mdn", "mecas2_unsigned.mdn",
	"sb2bi_signed.mdn", "sb2bi_signed_cmp.msg",
}

// TestPartReaderFixtures compares the splitter with a regexp reference over
// real messages from Mendelson and IBM Sterling.
func TestPartReaderFixtures(t *testing.T) {
	for _, name := range multipartFixtures {
		body, boundary := fixtureBody(t, name)
		delim := regexp.MustCompile(`(?:\A|\r?\n)--` + regexp.QuoteMeta(boundary) + `(--)?[ \t]*(?:\r?\n|\r?\z)`)
		ds := delim.FindAllSubmatchIndex(body, -1)
		if len(ds) != 3 || ds[2][2] < 0 {
			t.Fatalf("%s: reference found %d delimiters", name, len(ds))
		}
		wantPre := body[:ds[0][0]]
		want := [][]byte{body[ds[0][1]:ds[1][0]], body[ds[1][1]:ds[2][0]]}
		for rname, r := range readers(body) {
			res := split(r, boundary, Limits{})
			if res.err != nil || !bytes.Equal(res.preamble, wantPre) || len(res.parts) != 2 ||
				!bytes.Equal(res.parts[0], want[0]) || !bytes.Equal(res.parts[1], want[1]) {
				t.Errorf("%s/%s: preamble %d bytes, %d parts, err %v", name, rname, len(res.preamble), len(res.parts), res.err)
			}
		}
	}
}

// TestPartReaderMendelsonMDN pins part 1 of Mendelson's signed MDN, the
// signed content, to its exact bytes in the file.
func TestPartReaderMendelsonMDN(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(fixtureDir, "mecas2_signed.mdn"))
	if err != nil {
		t.Fatal(err)
	}
	first := bytes.Index(data, []byte("Content-Type: multipart/report"))
	outer := regexp.MustCompile(`\r\n------=_Part_8_1315897558\.1483093497177\r\n`).FindAllIndex(data, -1)
	if first < 0 || len(outer) != 2 {
		t.Fatal("fixture changed")
	}
	want := data[first:outer[1][0]]

	br := bufio.NewReaderSize(bytes.NewReader(data), 64<<10)
	h, _, err := ReadHeader(br, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	_, params, err := ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	pr := NewPartReader(br, params["boundary"], Limits{})
	part, err := pr.NextPart()
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(part)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("part 1: %d bytes (%v), want %d bytes", len(got), err, len(want))
	}

	// The report nested in part 1 splits the same way, reading its header
	// block and its parts from one buffered reader.
	inner := bufio.NewReader(bytes.NewReader(got))
	ih, _, err := ReadHeader(inner, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	mt, ip, err := ParseMediaType(ih.Get("Content-Type"))
	if err != nil || mt != "multipart/report" || ip["report-type"] != "disposition-notification" {
		t.Fatalf("inner type %q %v %v", mt, ip, err)
	}
	res := split(inner, ip["boundary"], Limits{})
	if res.err != nil || len(res.parts) != 2 {
		t.Fatalf("inner: %d parts, %v", len(res.parts), res.err)
	}
	dn := bufio.NewReader(bytes.NewReader(res.parts[1]))
	dh, _, err := ReadHeader(dn, Limits{})
	if err != nil || dh.Get("content-type") != "message/disposition-notification" {
		t.Fatalf("disposition part header %v %v", dh, err)
	}
	rest, _ := io.ReadAll(dn)
	if !bytes.Contains(rest, []byte("Received-Content-MIC: O4bvrm5t2YunRfwvZicNdEUmPaPZ9vUslX8loVLDck0=, sha-256\r\n")) {
		t.Errorf("disposition part lacks the MIC: %q", rest)
	}
}

// delimRe matches a delimiter line at the start of its input; withBreak
// requires the line break before it.
func delimRe(boundary string, withBreak bool) *regexp.Regexp {
	brk := `(?:\r?\n)?`
	if withBreak {
		brk = `\r?\n`
	}
	return regexp.MustCompile(`\A` + brk + `--` + regexp.QuoteMeta(boundary) + `(--)?` + padding + `(?:\r\n|\n|\r?\z)`)
}

// padding is transport padding in the regexp reference.
var padding = fmt.Sprintf(`[ \t]{0,%d}`, maxPadding)

// checkStructure checks a split against a regexp reference: the preamble, the
// delimiter lines and the parts follow one another in the input, and no
// content holds a delimiter.
func checkStructure(t *testing.T, in []byte, boundary string, res splitResult, closed bool) {
	t.Helper()
	anyDelim := regexp.MustCompile(`\r?\n--` + regexp.QuoteMeta(boundary) + `(?:--)?` + padding + `(?:\r\n|\n|\r?\z)`)
	atLineStart := delimRe(boundary, false)
	pos, lineStart := 0, true
	content := func(what string, b []byte, last bool) {
		if !bytes.HasPrefix(in[pos:], b) {
			t.Fatalf("%s is not the input at %d", what, pos)
		}
		if len(b) > 0 && lineStart && atLineStart.Match(in[pos:]) {
			t.Fatalf("%s at %d starts with a delimiter", what, pos)
		}
		if m := anyDelim.FindIndex(in[pos:]); m != nil && m[0] < len(b) && !(last && res.err != nil) {
			t.Fatalf("%s at %d holds a delimiter at %d", what, pos, pos+m[0])
		}
		pos += len(b)
		lineStart = lineStart && len(b) == 0
	}
	delimiter := func(what string, wantClose bool) {
		m := delimRe(boundary, !lineStart).FindSubmatchIndex(in[pos:])
		if m == nil || (m[2] >= 0) != wantClose {
			t.Fatalf("no %s at %d: %q", what, pos, in[pos:min(len(in), pos+40)])
		}
		pos += m[1]
		lineStart = true
	}
	content("preamble", res.preamble, len(res.parts) == 0)
	for i, p := range res.parts {
		delimiter("delimiter", false)
		content(fmt.Sprintf("part %d", i+1), p, i == len(res.parts)-1)
	}
	if closed {
		delimiter("close delimiter", true)
	}
}

func FuzzPartReader(f *testing.F) {
	for _, name := range multipartFixtures {
		body, boundary := fixtureBody(f, name)
		f.Add(boundary, body)
	}
	for _, in := range []string{
		"--b\r\nA\r\n--b\r\nB\r\n--b--\r\n", "--b\nA\n--b\nB\n--b--\n", "pre\r\n--b\r\nA\r\n--b--\r\nepi",
		"--b\r\nA\r\n--bX\r\n--b-\r\n--b--x\r\nB\r\n--b--", "--b\r\n--b\r\n--b--", "--b \t\r\nA\r\n--b-- \r",
		"--b\r\nA\r--b\r\n--b\rX\r\n--b--", "--b\r\nA\r\r\n--b--", "--b\r\nA\r\n--b",
	} {
		f.Add("b", []byte(in))
	}
	f.Fuzz(func(t *testing.T, boundary string, in []byte) {
		limits := Limits{MaxParts: 20, MaxPreambleBytes: 1 << 10}
		res := split(bytes.NewReader(in), boundary, limits)
		if boundary == "" || strings.ContainsAny(boundary, "\r\n") || len(boundary) > maxBoundaryLen {
			if !errors.Is(res.err, ErrNoBoundary) {
				t.Fatalf("invalid boundary accepted: %v", res.err)
			}
			return
		}
		total := len(res.preamble)
		for _, p := range res.parts {
			total += len(p)
		}
		if total > len(in) || len(res.parts) > limits.MaxParts || len(res.preamble) > limits.MaxPreambleBytes {
			t.Fatalf("unbounded output: %d bytes, %d parts", total, len(res.parts))
		}
		e := res.err
		if e != nil && !errors.Is(e, ErrNoBoundary) && !errors.Is(e, ErrMissingCloseDelimiter) && !errors.Is(e, ErrTooManyParts) {
			t.Fatalf("unexpected error %v", e)
		}
		// The regexp reference can only spell boundaries in valid UTF-8, and
		// matches U+FFFD in a boundary against any invalid byte.
		if utf8.ValidString(boundary) && !strings.ContainsRune(boundary, utf8.RuneError) {
			checkStructure(t, in, boundary, res, e == nil)
		}

		// The read pattern must not change anything.
		other := split(iotest.OneByteReader(&chunkReader{data: in, rnd: rand.New(rand.NewPCG(1, 2))}), boundary, limits)
		if !bytes.Equal(other.preamble, res.preamble) || fmt.Sprintf("%q", strs(other.parts)) != fmt.Sprintf("%q", strs(res.parts)) ||
			fmt.Sprint(other.err) != fmt.Sprint(res.err) {
			t.Fatalf("chunked reads differ: %q %q %v / %q %q %v",
				res.preamble, strs(res.parts), res.err, other.preamble, strs(other.parts), other.err)
		}
	})
}

func BenchmarkPartReader(b *testing.B) {
	const size = 64 << 20
	rnd := rand.New(rand.NewPCG(1, 1))
	binary := make([]byte, size)
	for i := range binary {
		binary[i] = byte(rnd.Uint32())
	}
	// Base64 lines: a line break every 78 bytes, so every line start is checked.
	lines := bytes.Repeat([]byte("TUlNRS1WZXJzaW9uOiAxLjANCkNvbnRlbnQtVHlwZTogYXBwbGljYXRpb24vZWRpLXgxMg0KDQpJ\r\n"), size/78)
	for _, bc := range []struct {
		name string
		data []byte
	}{{"binary", binary}, {"base64", lines}} {
		const boundary = "----=_Part_0123456789abcdef01234567"
		msg := slicesConcat([]byte("--"+boundary+"\r\nContent-Type: application/octet-stream\r\n\r\n"),
			bc.data, []byte("\r\n--"+boundary+"--\r\n"))
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				pr := NewPartReader(bytes.NewReader(msg), boundary, Limits{})
				part, err := pr.NextPart()
				if err != nil {
					b.Fatal(err)
				}
				if n, err := io.Copy(io.Discard, part); err != nil || n < int64(len(bc.data)) {
					b.Fatal(n, err)
				}
				if _, err := pr.NextPart(); err != io.EOF {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestPartReaderClose: after Close, the reader and its parts refuse to be
// read, and the buffer given back serves the next reader with its own
// input only.
func TestPartReaderClose(t *testing.T) {
	first := NewPartReader(strings.NewReader("--b\r\n\r\nfirst part\r\n--b--\r\n"), "b", Limits{})
	part, err := first.NextPart()
	if err != nil {
		t.Fatal(err)
	}
	first.Close()
	if _, err := part.Read(make([]byte, 10)); !errors.Is(err, errClosed) {
		t.Fatalf("part read after Close: %v", err)
	}
	if _, err := first.NextPart(); !errors.Is(err, errClosed) {
		t.Fatalf("NextPart after Close: %v", err)
	}
	first.Close() // twice is harmless
	for range 3 {
		next := NewPartReader(strings.NewReader("--b\r\n\r\nnext\r\n--b--\r\n"), "b", Limits{})
		part, err := next.NextPart()
		if err != nil {
			t.Fatal(err)
		}
		if got, err := io.ReadAll(part); err != nil || string(got) != "\r\nnext" {
			t.Fatalf("next reader read %q, %v", got, err)
		}
		next.Close()
	}
}
