// Package ber reads BER-encoded ASN.1 (X.690) as a stream and writes the DER
// headers that the CMS encoder needs.
//
// AS2 peers send CMS structures in DER and in BER with indefinite lengths and
// constructed (chunked) OCTET STRINGs (Mendelson, Bouncy Castle, libas2). The
// content of those structures can be many GiB, so the Reader never holds more
// than one TLV header and the small elements a caller asks for: payload bytes
// stream through OctetString readers.
package ber

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// Tag classes.
const (
	ClassUniversal   = 0
	ClassApplication = 1
	ClassContext     = 2
	ClassPrivate     = 3
)

// Universal tags used by CMS.
const (
	TagBoolean     = 1
	TagInteger     = 2
	TagBitString   = 3
	TagOctetString = 4
	TagNull        = 5
	TagOID         = 6
	TagUTF8String  = 12
	TagSequence    = 16
	TagSet         = 17
)

// MaxDepth bounds nesting so that hostile input cannot exhaust the stack.
const MaxDepth = 64

// Errors. They wrap ErrMalformed so a caller can treat every structural
// problem alike.
var (
	ErrMalformed = errors.New("ber: malformed encoding")
	ErrTooLarge  = fmt.Errorf("%w: element too large", ErrMalformed)
	ErrTooDeep   = fmt.Errorf("%w: nesting too deep", ErrMalformed)
	ErrTruncated = fmt.Errorf("%w: truncated input", ErrMalformed)
)

// Header is the identifier and length of one TLV.
type Header struct {
	Class       int
	Tag         int
	Constructed bool
	Length      int64 // content length; -1 for the indefinite form
	headerLen   int   // encoded bytes of identifier and length
}

// Indefinite reports whether the element uses the indefinite length form.
func (h Header) Indefinite() bool { return h.Length < 0 }

// Is reports whether the header has the given class and tag.
func (h Header) Is(class, tag int) bool { return h.Class == class && h.Tag == tag }

func (h Header) String() string {
	names := [...]string{"universal", "application", "context", "private"}
	form := "primitive"
	if h.Constructed {
		form = "constructed"
	}
	return fmt.Sprintf("[%s %d %s len=%d]", names[h.Class&3], h.Tag, form, h.Length)
}

// frame is one open constructed element.
type frame struct {
	end        int64 // offset just past the content; -1 when indefinite
	indefinite bool
}

// Reader reads TLVs from a stream. The zero value is not usable; call NewReader.
type Reader struct {
	r     *bufio.Reader
	off   int64
	stack []frame
}

// NewReader returns a Reader reading from r. Input that knows its length
// (a bytes.Reader: a signature) gets a buffer of that size only.
func NewReader(r io.Reader) *Reader {
	size := 64 << 10
	if l, ok := r.(interface{ Len() int }); ok && l.Len() < size {
		size = max(l.Len()+1, 16)
	}
	br, ok := r.(*bufio.Reader)
	if !ok || br.Size() < size {
		br = bufio.NewReaderSize(r, size)
	}
	return &Reader{r: br}
}

// Offset is the number of bytes consumed so far.
func (r *Reader) Offset() int64 { return r.off }

// Depth is the number of open constructed elements.
func (r *Reader) Depth() int { return len(r.stack) }

func (r *Reader) readByte() (byte, error) {
	b, err := r.r.ReadByte()
	if err != nil {
		if err == io.EOF {
			return 0, ErrTruncated
		}
		return 0, err
	}
	r.off++
	return b, nil
}

func (r *Reader) limit() int64 {
	for i := len(r.stack) - 1; i >= 0; i-- {
		if !r.stack[i].indefinite {
			return r.stack[i].end
		}
	}
	return -1
}

// Next reads the header of the next element. Inside an open constructed
// element it must only be called while More reports true.
func (r *Reader) Next() (Header, error) {
	start := r.off
	b, err := r.readByte()
	if err != nil {
		return Header{}, err
	}
	h := Header{Class: int(b >> 6), Constructed: b&0x20 != 0, Tag: int(b & 0x1f)}
	if h.Tag == 0x1f {
		h.Tag = 0
		for i := 0; ; i++ {
			if i >= 4 {
				return Header{}, fmt.Errorf("%w: tag number too large", ErrMalformed)
			}
			b, err := r.readByte()
			if err != nil {
				return Header{}, err
			}
			h.Tag = h.Tag<<7 | int(b&0x7f)
			if b&0x80 == 0 {
				break
			}
		}
	}
	b, err = r.readByte()
	if err != nil {
		return Header{}, err
	}
	switch {
	case b < 0x80:
		h.Length = int64(b)
	case b == 0x80:
		if !h.Constructed {
			return Header{}, fmt.Errorf("%w: indefinite length on a primitive element", ErrMalformed)
		}
		h.Length = -1
	case b == 0xff:
		return Header{}, fmt.Errorf("%w: reserved length octet", ErrMalformed)
	default:
		n := int(b & 0x7f)
		if n > 8 {
			return Header{}, ErrTooLarge
		}
		var l uint64
		for i := 0; i < n; i++ {
			b, err := r.readByte()
			if err != nil {
				return Header{}, err
			}
			l = l<<8 | uint64(b)
		}
		if l > 1<<62 {
			return Header{}, ErrTooLarge
		}
		h.Length = int64(l)
	}
	h.headerLen = int(r.off - start)
	if lim := r.limit(); lim >= 0 && h.Length >= 0 && r.off+h.Length > lim {
		return Header{}, fmt.Errorf("%w: element of %d bytes overruns its container", ErrMalformed, h.Length)
	}
	if lim := r.limit(); lim >= 0 && r.off > lim {
		return Header{}, fmt.Errorf("%w: header overruns its container", ErrMalformed)
	}
	return h, nil
}

// More reports whether the innermost open element (or, at top level, the
// input) has another element before its end.
func (r *Reader) More() (bool, error) {
	if len(r.stack) == 0 {
		_, err := r.r.Peek(1)
		if err == io.EOF {
			return false, nil
		}
		return err == nil, err
	}
	f := r.stack[len(r.stack)-1]
	if !f.indefinite {
		return r.off < f.end, nil
	}
	p, err := r.r.Peek(2)
	if err != nil {
		if err == io.EOF {
			return false, ErrTruncated
		}
		return false, err
	}
	return !(p[0] == 0 && p[1] == 0), nil
}

// Enter opens the constructed element whose header was just read.
func (r *Reader) Enter(h Header) error {
	if !h.Constructed {
		return fmt.Errorf("%w: expected a constructed element, got %v", ErrMalformed, h)
	}
	if len(r.stack) >= MaxDepth {
		return ErrTooDeep
	}
	f := frame{end: -1, indefinite: h.Indefinite()}
	if !f.indefinite {
		f.end = r.off + h.Length
	}
	r.stack = append(r.stack, f)
	return nil
}

// Leave skips what is left of the innermost open element and closes it.
func (r *Reader) Leave() error {
	if len(r.stack) == 0 {
		return fmt.Errorf("ber: Leave without Enter")
	}
	f := r.stack[len(r.stack)-1]
	if !f.indefinite {
		if r.off > f.end {
			return fmt.Errorf("%w: content overruns its container", ErrMalformed)
		}
		if err := r.discard(f.end - r.off); err != nil {
			return err
		}
		r.stack = r.stack[:len(r.stack)-1]
		return nil
	}
	for {
		more, err := r.More()
		if err != nil {
			return err
		}
		if !more {
			break
		}
		h, err := r.Next()
		if err != nil {
			return err
		}
		if err := r.Skip(h); err != nil {
			return err
		}
	}
	if err := r.discard(2); err != nil { // end-of-contents octets
		return err
	}
	r.stack = r.stack[:len(r.stack)-1]
	return nil
}

func (r *Reader) discard(n int64) error {
	for n > 0 {
		step := n
		if step > 1<<30 {
			step = 1 << 30
		}
		d, err := r.r.Discard(int(step))
		r.off += int64(d)
		n -= int64(d)
		if err != nil {
			if err == io.EOF {
				return ErrTruncated
			}
			return err
		}
	}
	return nil
}

// Skip skips the content of the element whose header was just read.
func (r *Reader) Skip(h Header) error {
	if !h.Indefinite() {
		return r.discard(h.Length)
	}
	if err := r.Enter(h); err != nil {
		return err
	}
	return r.Leave()
}

// readFull reads exactly len(p) bytes.
func (r *Reader) readFull(p []byte) error {
	n, err := io.ReadFull(r.r, p)
	r.off += int64(n)
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return ErrTruncated
	}
	return err
}
