package mime

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
)

const (
	// readBufferSize is the look-ahead buffer: the only memory a PartReader
	// holds, whatever the size of the parts.
	readBufferSize = 64 << 10
	// maxBoundaryLen is lenient (RFC 2046 allows 70) but keeps a delimiter far
	// smaller than the buffer.
	maxBoundaryLen = 256
	// maxPadding bounds the spaces and tabs after a delimiter, far more than
	// any product sends. It keeps a whole delimiter line well within the
	// buffer, so the look-ahead always suffices to decide, and it bounds the
	// bytes examined again when input trickles in byte by byte.
	maxPadding = 512
)

// errPartSkipped is returned by a part's Read once NextPart has moved on.
var errPartSkipped = errors.New("mime: part was skipped by NextPart")

// errClosed is returned by NextPart and a part's Read after Close.
var errClosed = errors.New("mime: PartReader closed")

// readBuffers are the look-ahead buffers of closed PartReaders. A message
// has one or two multiparts and an MDN two: 64 KiB each, zeroed, for every
// message, made a tenth of the garbage a busy receiver or sender produced.
var readBuffers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, readBufferSize) }}

// PartReader splits a multipart body into its parts, streaming, without
// decoding anything: each part is returned exactly as received, header block
// and body, so that signatures and MICs can be checked over its bytes.
//
// It follows RFC 2046 §5.1.1 as leniently as the field requires: a delimiter
// is "--boundary" at the start of a line, and the line break before it (CRLF
// or bare LF) belongs to the delimiter, not to the part. After "--boundary"
// may come "--" (the close delimiter), then up to 512 spaces or tabs, then
// CRLF, LF, or the end of input. Anything else ("--boundaryX") is part data. The first
// delimiter may open the input. Nothing after the close delimiter is read.
type PartReader struct {
	br     *bufio.Reader
	pooled bool   // br comes from readBuffers
	nlDash []byte // "\n--" + boundary, the fixed core of a delimiter
	limits Limits
	err    error // sticky

	eof       bool // the source is exhausted: the buffered bytes are all there is
	lineStart bool // the unread input starts a line that no line break precedes
	avail     int  // content bytes at the front of the buffer known to precede the next delimiter
	delim     int  // length of the delimiter line that follows those avail bytes, 0 if not yet known
	closing   bool // that delimiter line is the close delimiter

	started  bool // the first delimiter has been consumed
	done     bool // the close delimiter has been consumed
	parts    int
	cur      *part
	preamble []byte
}

// NewPartReader returns a reader of the parts of the multipart body r, whose
// boundary (the Content-Type parameter) is boundary. When r is a
// *bufio.Reader of at least 64 KiB it is used directly, so a caller can read
// the top header block and then the parts from one buffered reader.
func NewPartReader(r io.Reader, boundary string, limits Limits) *PartReader {
	p := &PartReader{
		nlDash:    []byte("\n--" + boundary),
		limits:    limits.orDefaults(),
		lineStart: true,
	}
	if br, ok := r.(*bufio.Reader); ok && br.Size() >= readBufferSize {
		p.br = br
	} else {
		p.br, p.pooled = readBuffers.Get().(*bufio.Reader), true
		p.br.Reset(r)
	}
	if boundary == "" || len(boundary) > maxBoundaryLen || strings.ContainsAny(boundary, "\r\n") {
		p.err = fmt.Errorf("%w: invalid boundary %.40q", ErrNoBoundary, boundary)
	}
	return p
}

// Close ends the use of the PartReader and of the parts it returned, whose
// reads fail afterwards, and lets another reuse its buffer. Not closing a
// PartReader leaks nothing: its buffer is then left to the garbage collector.
func (p *PartReader) Close() {
	if p.pooled {
		p.br.Reset(nil)
		readBuffers.Put(p.br)
		p.pooled = false
	}
	p.br, p.err = nil, errClosed
}

// Preamble returns the bytes before the first delimiter (valid once NextPart
// has been called). AS2 products put stray lines there, such as Mendelson's
// "Date:" or OpenAS2's repeated "Content-Type:".
func (p *PartReader) Preamble() []byte { return p.preamble }

// NextPart returns a reader of the next part's raw bytes, or io.EOF after the
// close delimiter. The rest of the previous part, if unread, is discarded. A
// missing first delimiter is ErrNoBoundary, input ending before the close
// delimiter ErrMissingCloseDelimiter, and more than Limits.MaxParts parts
// ErrTooManyParts; errors are final.
func (p *PartReader) NextPart() (io.Reader, error) {
	if p.err != nil {
		return nil, p.err
	}
	if p.done {
		return nil, io.EOF
	}
	if err := p.skipContent(); err != nil {
		p.err = err
		return nil, err
	}
	p.br.Discard(p.delim) // buffered: cannot fail
	p.delim, p.lineStart, p.started, p.cur = 0, true, true, nil
	if p.closing {
		p.done = true
		return nil, io.EOF
	}
	if p.parts == p.limits.MaxParts {
		p.err = fmt.Errorf("%w: more than %d", ErrTooManyParts, p.limits.MaxParts)
		return nil, p.err
	}
	p.parts++
	p.cur = &part{p: p}
	return p.cur, nil
}

// skipContent consumes the content up to the next delimiter: the rest of the
// current part, or the preamble, which it keeps.
func (p *PartReader) skipContent() error {
	for {
		if err := p.find(); err != nil {
			return err
		}
		if p.avail == 0 {
			return nil
		}
		if !p.started {
			// Over the limit, Preamble keeps the first MaxPreambleBytes bytes
			// for diagnostics, however the input was cut into reads.
			room := p.limits.MaxPreambleBytes - len(p.preamble)
			b, _ := p.br.Peek(min(p.avail, room)) // buffered: cannot fail
			p.preamble = append(p.preamble, b...)
			if p.avail > room {
				return fmt.Errorf("%w: no delimiter in the first %d bytes", ErrNoBoundary, p.limits.MaxPreambleBytes)
			}
		}
		p.consume(p.avail)
	}
}

func (p *PartReader) consume(n int) {
	p.br.Discard(n) // n <= avail <= buffered: cannot fail
	p.avail -= n
	p.lineStart = false
}

// find makes sure that p.avail > 0 or p.delim > 0, reading more input only
// when the buffered bytes cannot tell.
func (p *PartReader) find() error {
	for p.avail == 0 && p.delim == 0 {
		buf, _ := p.br.Peek(p.br.Buffered())
		p.avail, p.delim, p.closing = p.scan(buf)
		if p.avail > 0 || p.delim > 0 {
			return nil
		}
		if p.eof {
			if !p.started {
				return fmt.Errorf("%w: no delimiter in the body", ErrNoBoundary)
			}
			return fmt.Errorf("%w: input ended in part %d: %w", ErrMissingCloseDelimiter, p.parts, io.ErrUnexpectedEOF)
		}
		// Ask for one more byte: the smallest read that can settle the question.
		if _, err := p.br.Peek(len(buf) + 1); err != nil {
			if err != io.EOF {
				return err
			}
			p.eof = true
		}
	}
	return nil
}

// scan looks for the next delimiter in buf, the buffered input. It returns the
// number of content bytes before it, and the length of the delimiter line
// when there is one. With neither, more input is needed. Bytes that could be
// the start of a delimiter are held back until more input shows what they are.
func (p *PartReader) scan(buf []byte) (n, delim int, closing bool) {
	if p.lineStart { // a delimiter without a line break before it
		dash := p.nlDash[1:]
		switch {
		case bytes.HasPrefix(buf, dash):
			switch m, l, c := p.classify(buf[len(dash):]); m {
			case isDelimiter:
				return 0, len(dash) + l, c
			case needMore:
				return 0, 0, false
			}
		case !p.eof && bytes.HasPrefix(dash, buf):
			return 0, 0, false
		}
	}
	for from := 0; ; {
		i := bytes.Index(buf[from:], p.nlDash)
		if i < 0 {
			break
		}
		i += from
		start := i
		if i > 0 && buf[i-1] == '\r' {
			start--
		}
		switch m, l, c := p.classify(buf[i+len(p.nlDash):]); m {
		case isDelimiter:
			return start, i + len(p.nlDash) + l - start, c
		case needMore:
			return start, 0, false
		}
		from = i + 1
	}
	if p.eof {
		return len(buf), 0, false
	}
	return len(buf) - p.holdback(buf), 0, false
}

// holdback returns the length of the end of buf that could begin a delimiter:
// an optional CR, then a prefix of "\n--boundary". Boundaries hold no LF, so
// only the last LF can start such a prefix.
func (p *PartReader) holdback(buf []byte) int {
	tail := buf[max(0, len(buf)-len(p.nlDash)+1):]
	k := 0
	if j := bytes.LastIndexByte(tail, '\n'); j >= 0 && bytes.HasPrefix(p.nlDash, tail[j:]) {
		k = len(tail) - j
	}
	if k < len(buf) && buf[len(buf)-k-1] == '\r' {
		k++
	}
	return k
}

type match int

const (
	notDelimiter match = iota
	isDelimiter
	needMore
)

// classify decides whether rest, the bytes after "--boundary", complete a
// delimiter line, and returns that line's remaining length and whether it is
// the close delimiter.
func (p *PartReader) classify(rest []byte) (match, int, bool) {
	i, closing := 0, false
	switch {
	case bytes.HasPrefix(rest, []byte("--")):
		i, closing = 2, true
	case len(rest) == 1 && rest[0] == '-' && !p.eof:
		return needMore, 0, false
	}
	for padding := 0; i < len(rest) && (rest[i] == ' ' || rest[i] == '\t'); padding++ {
		if padding == maxPadding {
			return notDelimiter, 0, false
		}
		i++
	}
	switch {
	case i < len(rest) && rest[i] == '\n':
		return isDelimiter, i + 1, closing
	case i+1 < len(rest) && rest[i] == '\r':
		if rest[i+1] == '\n' {
			return isDelimiter, i + 2, closing
		}
		return notDelimiter, 0, false
	case i < len(rest) && rest[i] != '\r':
		return notDelimiter, 0, false
	case p.eof: // the delimiter line ends the input, with perhaps a last CR
		return isDelimiter, len(rest), closing
	}
	return needMore, 0, false
}

// part reads one part's raw bytes.
type part struct {
	p *PartReader
}

func (pt *part) Read(b []byte) (int, error) {
	p := pt.p
	switch {
	case p.cur != pt:
		return 0, errPartSkipped
	case p.err != nil:
		return 0, p.err
	case len(b) == 0:
		return 0, nil
	}
	if err := p.find(); err != nil {
		p.err = err
		return 0, err
	}
	if p.avail == 0 {
		return 0, io.EOF
	}
	n, _ := p.br.Read(b[:min(len(b), p.avail)]) // buffered: copies, cannot fail
	p.avail -= n
	p.lineStart = false
	return n, nil
}
