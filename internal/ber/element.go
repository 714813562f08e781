package ber

import (
	"fmt"
	"io"
)

// ReadDER reads the rest of the element whose header h was just read and
// returns its complete DER encoding: indefinite lengths become definite and
// constructed universal strings become primitive, so that encoding/asn1 can
// parse the result. The element may take at most max bytes of input, its
// header, every nested header and end-of-contents octets included: empty
// elements cost no content, and a hostile stream of them would otherwise
// keep ReadDER looping and its result growing. So the number of elements
// is bounded by max/2, their nesting by MaxDepth.
func (r *Reader) ReadDER(h Header, max int) ([]byte, error) {
	stop := r.off - int64(h.headerLen) + int64(max)
	if r.off > stop {
		return nil, ErrTooLarge
	}
	der, err := r.readDER(h, stop, 0)
	if err == nil && r.off > stop { // end-of-contents octets
		return nil, ErrTooLarge
	}
	return der, err
}

// ExpectDER reads the next element, checks its class and tag and returns it
// as DER (see ReadDER).
func (r *Reader) ExpectDER(class, tag int, max int) ([]byte, error) {
	h, err := r.Next()
	if err != nil {
		return nil, err
	}
	if !h.Is(class, tag) {
		return nil, fmt.Errorf("%w: expected class %d tag %d, got %v", ErrMalformed, class, tag, h)
	}
	return r.ReadDER(h, max)
}

// Expect reads the next header and checks its class, tag and form.
func (r *Reader) Expect(class, tag int, constructed bool) (Header, error) {
	h, err := r.Next()
	if err != nil {
		return h, err
	}
	if !h.Is(class, tag) || h.Constructed != constructed {
		return h, fmt.Errorf("%w: expected class %d tag %d, got %v", ErrMalformed, class, tag, h)
	}
	return h, nil
}

func isStringType(h Header) bool {
	if h.Class != ClassUniversal {
		return false
	}
	switch h.Tag {
	case TagBitString, TagOctetString, TagUTF8String, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 30:
		return true
	}
	return false
}

// take reads n content bytes, which must end by the offset stop.
func (r *Reader) take(n int64, stop int64) ([]byte, error) {
	if n > stop-r.off {
		return nil, ErrTooLarge
	}
	b := make([]byte, n)
	if err := r.readFull(b); err != nil {
		return nil, err
	}
	return b, nil
}

// nextWithin reads the next header, which must end by the offset stop.
func (r *Reader) nextWithin(stop int64) (Header, error) {
	h, err := r.Next()
	if err == nil && r.off > stop {
		return h, ErrTooLarge
	}
	return h, err
}

func (r *Reader) readDER(h Header, stop int64, depth int) ([]byte, error) {
	if depth > MaxDepth {
		return nil, ErrTooDeep
	}
	if !h.Constructed {
		content, err := r.take(h.Length, stop)
		if err != nil {
			return nil, err
		}
		return AppendElement(nil, h.Class, h.Tag, false, content), nil
	}
	if isStringType(h) {
		content, err := r.readStringContent(h, stop, depth)
		if err != nil {
			return nil, err
		}
		return AppendElement(nil, h.Class, h.Tag, false, content), nil
	}
	if err := r.Enter(h); err != nil {
		return nil, err
	}
	var content []byte
	for {
		more, err := r.More()
		if err != nil {
			return nil, err
		}
		if !more {
			break
		}
		ch, err := r.nextWithin(stop)
		if err != nil {
			return nil, err
		}
		child, err := r.readDER(ch, stop, depth+1)
		if err != nil {
			return nil, err
		}
		content = append(content, child...)
	}
	if err := r.Leave(); err != nil {
		return nil, err
	}
	return AppendElement(nil, h.Class, h.Tag, true, content), nil
}

// readStringContent concatenates the segments of a constructed string.
func (r *Reader) readStringContent(h Header, stop int64, depth int) ([]byte, error) {
	if depth > MaxDepth {
		return nil, ErrTooDeep
	}
	if !h.Constructed {
		return r.take(h.Length, stop)
	}
	if err := r.Enter(h); err != nil {
		return nil, err
	}
	var content []byte
	unusedBits := -1
	for {
		more, err := r.More()
		if err != nil {
			return nil, err
		}
		if !more {
			break
		}
		ch, err := r.nextWithin(stop)
		if err != nil {
			return nil, err
		}
		seg, err := r.readStringContent(ch, stop, depth+1)
		if err != nil {
			return nil, err
		}
		if h.Tag == TagBitString {
			// Each segment carries its own unused-bits octet; only the
			// last may be non-zero.
			if len(seg) == 0 || unusedBits > 0 {
				return nil, fmt.Errorf("%w: bad BIT STRING segment", ErrMalformed)
			}
			if unusedBits < 0 {
				content = append(content, 0)
			}
			unusedBits = int(seg[0])
			seg = seg[1:]
		}
		content = append(content, seg...)
	}
	if h.Tag == TagBitString {
		if unusedBits < 0 {
			content = []byte{0}
		} else {
			content[0] = byte(unusedBits)
		}
	}
	return content, r.Leave()
}

// OctetString returns a reader of the content of the string element whose
// header h was just read, primitive or constructed to any depth. Any tag is
// accepted because CMS uses IMPLICIT tags ([0] for encryptedContent). The
// element is fully consumed when the reader returns io.EOF.
func (r *Reader) OctetString(h Header) io.Reader {
	s := &stringReader{r: r, base: len(r.stack)}
	if h.Constructed {
		s.err = r.Enter(h)
	} else {
		s.remaining = h.Length
		s.primitiveTop = true
	}
	return s
}

type stringReader struct {
	r            *Reader
	base         int   // stack depth before the string was entered
	remaining    int64 // bytes left in the current primitive segment
	primitiveTop bool  // the string itself is primitive: done when remaining hits 0
	err          error
}

func (s *stringReader) Read(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	for s.remaining == 0 {
		if s.primitiveTop {
			s.err = io.EOF
			return 0, io.EOF
		}
		if err := s.advance(); err != nil {
			s.err = err
			return 0, err
		}
	}
	if int64(len(p)) > s.remaining {
		p = p[:s.remaining]
	}
	n, err := s.r.r.Read(p)
	s.r.off += int64(n)
	s.remaining -= int64(n)
	if err == io.EOF {
		if s.remaining > 0 {
			err = ErrTruncated
		} else {
			err = nil
		}
	}
	if err != nil {
		s.err = err
	}
	return n, err
}

// advance moves to the next primitive segment, closing finished
// constructed segments; io.EOF when the whole string is consumed.
func (s *stringReader) advance() error {
	for {
		if len(s.r.stack) == s.base {
			return io.EOF
		}
		more, err := s.r.More()
		if err != nil {
			return err
		}
		if !more {
			if err := s.r.Leave(); err != nil {
				return err
			}
			continue
		}
		h, err := s.r.Next()
		if err != nil {
			return err
		}
		if h.Constructed {
			if err := s.r.Enter(h); err != nil {
				return err
			}
			continue
		}
		if h.Length > 0 {
			s.remaining = h.Length
			return nil
		}
	}
}
