package ber

import (
	"bytes"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type sample struct {
	N   int
	Oct []byte
	Seq []int
}

func TestReadDERNormalisesBER(t *testing.T) {
	want, err := asn1.Marshal(sample{N: 5, Oct: []byte("hello world"), Seq: []int{1, 2}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		ber  string
	}{
		{"DER as is", hex.EncodeToString(want)},
		{"indefinite outer", "30 80 020105 040b68656c6c6f20776f726c64 3006020101020102 0000"},
		{"indefinite inner and outer", "30 80 020105 040b68656c6c6f20776f726c64 3080020101020102 0000 0000"},
		{"constructed octet string", "30 80 020105 2480 040568656c6c6f 0406 20776f726c64 0000 3006020101020102 0000"},
		{"nested constructed octet string", "30 80 020105 2480 2480 040568656c6c6f 0000 0406 20776f726c64 0000 3006020101020102 0000"},
		{"definite constructed octet string", "30 22 020105 2415 040568656c6c6f 040420776f72 24 00 2404 0402 6c64 3006020101020102"},
		{"long-form length", "30 81 19 020105 04 81 0b 68656c6c6f20776f726c64 3006020101020102"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := unhex(t, tt.ber)
			for _, wrap := range []func(io.Reader) io.Reader{
				func(r io.Reader) io.Reader { return r }, iotest.OneByteReader, iotest.HalfReader,
			} {
				r := NewReader(wrap(bytes.NewReader(in)))
				h, err := r.Next()
				if err != nil {
					t.Fatal(err)
				}
				got, err := r.ReadDER(h, 1<<10)
				if err != nil {
					t.Fatalf("ReadDER: %v", err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("ReadDER = %x, want %x", got, want)
				}
				if r.Offset() != int64(len(in)) {
					t.Fatalf("consumed %d of %d bytes", r.Offset(), len(in))
				}
				var s sample
				if _, err := asn1.Unmarshal(got, &s); err != nil {
					t.Fatalf("encoding/asn1 rejects the result: %v", err)
				}
			}
		})
	}
}

func TestBitStringSegments(t *testing.T) {
	// Two segments: 0x0a 0x0b with 0 unused bits, then 0xc0 with 6 unused bits.
	r := NewReader(bytes.NewReader(unhex(t, "23 80 0303000a0b 030206c0 0000")))
	h, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.ReadDER(h, 100)
	if err != nil {
		t.Fatal(err)
	}
	if want := unhex(t, "0304060a0bc0"); !bytes.Equal(got, want) {
		t.Fatalf("got %x, want %x", got, want)
	}
}

func TestOctetStringStreams(t *testing.T) {
	tests := []struct {
		name, ber, want string
	}{
		{"primitive", "04 05 6162636465", "abcde"},
		{"implicit context tag", "80 03 616263", "abc"},
		{"empty", "04 00", ""},
		{"indefinite chunks", "24 80 0402 6162 0400 0403 636465 0000", "abcde"},
		{"context constructed", "a0 80 0402 6162 2480 0401 63 0000 0402 6465 0000", "abcde"},
		{"definite chunks", "24 0a 0402 6162 0404 63646566", "abcdef"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := append(unhex(t, tt.ber), 0x05, 0x00) // a NULL follows
			r := NewReader(iotest.OneByteReader(bytes.NewReader(in)))
			h, err := r.Next()
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(r.OctetString(h))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
			h, err = r.Next()
			if err != nil || !h.Is(ClassUniversal, TagNull) {
				t.Fatalf("after the string: %v %v, want NULL", h, err)
			}
		})
	}
}

func TestStructureWalk(t *testing.T) {
	// SEQUENCE(indefinite) { INTEGER 1, [1] EXPLICIT (definite) { NULL }, OCTET STRING "x" }
	in := unhex(t, "3080 020101 a102 0500 040178 0000")
	r := NewReader(bytes.NewReader(in))
	h, _ := r.Next()
	if err := r.Enter(h); err != nil {
		t.Fatal(err)
	}
	var tags []int
	for {
		more, err := r.More()
		if err != nil {
			t.Fatal(err)
		}
		if !more {
			break
		}
		h, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		tags = append(tags, h.Tag)
		if err := r.Skip(h); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Leave(); err != nil {
		t.Fatal(err)
	}
	if want := []int{2, 1, 4}; !equalInts(tags, want) {
		t.Fatalf("tags %v, want %v", tags, want)
	}
	if more, err := r.More(); more || err != nil {
		t.Fatalf("More at end = %v, %v", more, err)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestMalformed(t *testing.T) {
	tests := []struct {
		name string
		ber  string
		max  int
		want error
	}{
		{"truncated content", "04 05 6162", 100, ErrTruncated},
		{"truncated header", "30", 100, ErrTruncated},
		{"truncated long length", "04 82 01", 100, ErrTruncated},
		{"child overruns parent", "30 03 04 05 616263", 100, ErrMalformed},
		{"indefinite primitive", "04 80 0000", 100, ErrMalformed},
		{"missing end of contents", "30 80 0500", 100, ErrTruncated},
		{"too large for budget", "04 05 6162636465", 4, ErrTooLarge},
		{"huge length", "04 88 7fffffffffffffff", 100, ErrTooLarge},
		{"nine length octets", "04 89 010000000000000000", 100, ErrTooLarge},
		{"reserved length", "04 ff", 100, ErrMalformed},
		{"bad bit string segment", "23 80 030206c0 0302000a 0000", 100, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := readFirst(t, tt.ber, tt.max); !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
		})
	}
}

// TestReadDERBudgetCountsEveryByte: the budget bounds the bytes read,
// headers and end-of-contents octets included, so that a run of empty
// elements (each costing no content) cannot make ReadDER loop and grow
// its result without end.
func TestReadDERBudgetCountsEveryByte(t *testing.T) {
	run := func(open, element, close string, n int) string {
		return open + strings.Repeat(element, n) + close
	}
	tests := []struct {
		name string
		ber  string
		max  int
		want error // nil: accepted
	}{
		{"empty elements", run("30 80", "0500", "0000", 100000), 1000, ErrTooLarge},
		{"empty string segments", run("24 80", "0400", "0000", 100000), 1000, ErrTooLarge},
		{"empty constructed segments", run("24 80", "2480 0000", "0000", 100000), 1000, ErrTooLarge},
		{"exactly the budget", "30 06 0500 0500 0500", 8, nil},
		{"one byte over", "30 06 0500 0500 0500", 7, ErrTooLarge},
		{"end of contents counted", "30 80 0500 0500 0000", 8, nil},
		{"end of contents over", "30 80 0500 0500 0000", 7, ErrTooLarge},
		{"header over", "04 02 6162", 3, ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			der, err := readFirst(t, tt.ber, tt.max)
			if !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
			if err == nil && len(der) > tt.max {
				t.Fatalf("%d bytes returned, budget %d", len(der), tt.max)
			}
		})
	}
}

// readFirst reads the first element of BER given in hex as DER, within
// the budget max.
func readFirst(t *testing.T, berHex string, max int) ([]byte, error) {
	r := NewReader(bytes.NewReader(unhex(t, berHex)))
	h, err := r.Next()
	if err != nil {
		return nil, err
	}
	return r.ReadDER(h, max)
}

func TestTooDeep(t *testing.T) {
	in := bytes.Repeat([]byte{0x30, 0x80}, MaxDepth+2)
	r := NewReader(bytes.NewReader(in))
	h, _ := r.Next()
	if _, err := r.ReadDER(h, 1<<20); !errors.Is(err, ErrTooDeep) {
		t.Fatalf("error %v, want ErrTooDeep", err)
	}
}

func TestDERWriters(t *testing.T) {
	for _, n := range []int64{0, 1, 127, 128, 255, 256, 65535, 65536, 1 << 24, 1<<32 + 5} {
		h := AppendHeader(nil, ClassUniversal, TagOctetString, false, n)
		if int64(len(h)) != HeaderSize(n) {
			t.Errorf("n=%d: header %x has %d bytes, HeaderSize says %d", n, h, len(h), HeaderSize(n))
		}
		r := NewReader(bytes.NewReader(h))
		got, err := r.Next()
		if err != nil || got.Length != n || got.Tag != TagOctetString {
			t.Errorf("n=%d: header %x reads back as %v, %v", n, h, got, err)
		}
	}
	// High tag numbers round-trip too.
	h := AppendHeader(nil, ClassContext, 300, true, 0)
	got, err := NewReader(bytes.NewReader(h)).Next()
	if err != nil || got.Tag != 300 || got.Class != ClassContext || !got.Constructed {
		t.Fatalf("tag 300: %x reads back as %v, %v", h, got, err)
	}
	// Sequence/Set/Explicit agree with encoding/asn1.
	i1, _ := asn1.Marshal(1)
	s, _ := asn1.Marshal("x")
	want, _ := asn1.Marshal(struct {
		A int
		B string `asn1:"explicit,tag:2"`
	}{1, "x"})
	if got := Sequence(i1, Explicit(2, s)); !bytes.Equal(got, want) {
		t.Fatalf("Sequence = %x, want %x", got, want)
	}
}

// FuzzReader walks arbitrary input as BER: every element is either read as
// DER (bounded) or streamed as a string. It must never panic or read past
// what the input declares.
func FuzzReader(f *testing.F) {
	f.Add(unhex(f, "3080 020105 2480 040568656c6c6f 0000 3006020101020102 0000"))
	f.Add(unhex(f, "a0 80 0402 6162 2480 0401 63 0000 0402 6465 0000"))
	f.Add(unhex(f, "23 80 0303000a0b 030206c0 0000"))
	f.Add(unhex(f, "30 22 020105 2415 040568656c6c6f 040420776f72 24 00 2404 0402 6c64 3006020101020102"))
	f.Fuzz(func(t *testing.T, in []byte) {
		r := NewReader(bytes.NewReader(in))
		for i := 0; i < 100; i++ {
			h, err := r.Next()
			if err != nil {
				return
			}
			if h.Tag == TagOctetString || h.Class == ClassContext {
				n, err := io.Copy(io.Discard, r.OctetString(h))
				if err == nil && n > int64(len(in)) {
					t.Fatalf("streamed %d bytes from %d bytes of input", n, len(in))
				}
				if err != nil {
					return
				}
				continue
			}
			der, err := r.ReadDER(h, 1<<16)
			if err != nil {
				return
			}
			// What ReadDER returns is DER that the reader reads back whole.
			r2 := NewReader(bytes.NewReader(der))
			h2, err := r2.Next()
			if err != nil {
				t.Fatalf("re-reading own DER %x: %v", der, err)
			}
			again, err := r2.ReadDER(h2, 1<<16)
			if err != nil || !bytes.Equal(again, der) {
				t.Fatalf("DER not stable: %x -> %x (%v)", der, again, err)
			}
		}
	})
}
