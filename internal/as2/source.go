package as2

import (
	"bytes"
	"crypto"
	"encoding/base64"
	"fmt"
	"hash"
	"io"
	"os"
	"sync"
)

// Source is content of known size that can be read more than once: a file
// on disk, a small buffer, or a layer of a message built from them. Sizes
// are known before any byte is produced, so a message can be sent with a
// Content-Length and every DER length written up front.
type Source interface {
	Size() int64
	Open() (io.ReadCloser, error)
}

type fileSource struct {
	path string
	size int64
}

// FileSource is a file's content; its size is read now and checked on
// every Open, because a file that changes under a built message would
// make its announced lengths wrong.
func FileSource(path string) (Source, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("as2: %s is not a regular file", path)
	}
	return &fileSource{path: path, size: fi.Size()}, nil
}

func (f *fileSource) Size() int64 { return f.size }

func (f *fileSource) Open() (io.ReadCloser, error) {
	file, err := os.Open(f.path)
	if err != nil {
		return nil, err
	}
	if fi, err := file.Stat(); err != nil || fi.Size() != f.size {
		file.Close()
		return nil, fmt.Errorf("as2: %s changed size since the message was built", f.path)
	}
	return file, nil
}

type bytesSource []byte

// BytesSource is a small in-memory content (headers, signatures, tests).
func BytesSource(b []byte) Source { return bytesSource(b) }

func (b bytesSource) Size() int64 { return int64(len(b)) }
func (b bytesSource) Open() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(b)), nil
}

type concatSource []Source

// Concat is the sources one after the other.
func Concat(parts ...Source) Source { return concatSource(parts) }

func (c concatSource) Size() int64 {
	var n int64
	for _, s := range c {
		n += s.Size()
	}
	return n
}

func (c concatSource) Open() (io.ReadCloser, error) {
	return &concatReader{parts: c}, nil
}

// concatReader opens each part only when it is reached.
type concatReader struct {
	parts []Source
	cur   io.ReadCloser
}

func (r *concatReader) Read(p []byte) (int, error) {
	for {
		if r.cur == nil {
			if len(r.parts) == 0 {
				return 0, io.EOF
			}
			rc, err := r.parts[0].Open()
			if err != nil {
				return 0, err
			}
			r.cur, r.parts = rc, r.parts[1:]
		}
		n, err := r.cur.Read(p)
		if err == io.EOF {
			r.cur.Close()
			r.cur = nil
			if n > 0 {
				return n, nil
			}
			continue
		}
		return n, err
	}
}

func (r *concatReader) Close() error {
	if r.cur != nil {
		return r.cur.Close()
	}
	return nil
}

// lazySource produces its bytes when it is opened, from a function that is
// only called once everything before it has been read (a signature that
// depends on the content before it).
type lazySource struct {
	size int64
	make func() ([]byte, error)
}

func (l *lazySource) Size() int64 { return l.size }

func (l *lazySource) Open() (io.ReadCloser, error) {
	return &lazyReader{l: l}, nil
}

type lazyReader struct {
	l   *lazySource
	buf *bytes.Reader
}

func (r *lazyReader) Read(p []byte) (int, error) {
	if r.buf == nil {
		b, err := r.l.make()
		if err != nil {
			return 0, err
		}
		if int64(len(b)) != r.l.size {
			return 0, fmt.Errorf("as2: internal error: %d bytes produced where %d were announced", len(b), r.l.size)
		}
		r.buf = bytes.NewReader(b)
	}
	return r.buf.Read(p)
}

func (r *lazyReader) Close() error { return nil }

// digestTap hashes its source each time it is read to the end and keeps
// the digests of the last complete read.
type digestTap struct {
	src    Source
	hashes []crypto.Hash

	mu   sync.Mutex
	sums map[crypto.Hash][]byte
}

func newDigestTap(src Source, hashes ...crypto.Hash) *digestTap {
	var uniq []crypto.Hash
	for _, h := range hashes {
		if h != 0 && !containsHash(uniq, h) {
			uniq = append(uniq, h)
		}
	}
	return &digestTap{src: src, hashes: uniq}
}

func containsHash(list []crypto.Hash, h crypto.Hash) bool {
	for _, x := range list {
		if x == h {
			return true
		}
	}
	return false
}

func (t *digestTap) Size() int64 { return t.src.Size() }

func (t *digestTap) Open() (io.ReadCloser, error) {
	rc, err := t.src.Open()
	if err != nil {
		return nil, err
	}
	r := &tapReader{t: t, rc: rc, hs: map[crypto.Hash]hash.Hash{}}
	var ws []io.Writer
	for _, h := range t.hashes {
		hh := h.New()
		r.hs[h] = hh
		ws = append(ws, hh)
	}
	r.w = io.MultiWriter(ws...)
	return r, nil
}

// digest returns the digest of the last complete read, if any.
func (t *digestTap) digest(h crypto.Hash) ([]byte, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	d, ok := t.sums[h]
	return d, ok
}

type tapReader struct {
	t  *digestTap
	rc io.ReadCloser
	hs map[crypto.Hash]hash.Hash
	w  io.Writer
	n  int64
}

func (r *tapReader) Read(p []byte) (int, error) {
	n, err := r.rc.Read(p)
	r.w.Write(p[:n])
	r.n += int64(n)
	if err == io.EOF {
		if r.n != r.t.src.Size() {
			return n, fmt.Errorf("as2: content was %d bytes where %d were announced", r.n, r.t.src.Size())
		}
		sums := map[crypto.Hash][]byte{}
		for h, hh := range r.hs {
			sums[h] = hh.Sum(nil)
		}
		r.t.mu.Lock()
		r.t.sums = sums
		r.t.mu.Unlock()
	}
	return n, err
}

func (r *tapReader) Close() error { return r.rc.Close() }

// base64Source is its source in base64 with CRLF line breaks every 76
// characters (RFC 2045 §6.8).
type base64Source struct{ src Source }

const base64LineLen = 76

func base64Size(n int64) int64 {
	enc := (n + 2) / 3 * 4
	lines := (enc + base64LineLen - 1) / base64LineLen
	return enc + 2*lines
}

func (b base64Source) Size() int64 { return base64Size(b.src.Size()) }

func (b base64Source) Open() (io.ReadCloser, error) {
	rc, err := b.src.Open()
	if err != nil {
		return nil, err
	}
	return &base64Reader{src: rc, in: make([]byte, base64Group*1024)}, nil
}

// base64Group is the number of input bytes of one full line.
const base64Group = base64LineLen / 4 * 3

// base64Reader encodes whole lines at a time: it reads input in multiples of
// a line's worth, so only the last line can be short.
type base64Reader struct {
	src  io.ReadCloser
	in   []byte
	out  []byte
	pos  int
	done bool
}

func (r *base64Reader) Read(p []byte) (int, error) {
	for r.pos == len(r.out) {
		if r.done {
			return 0, io.EOF
		}
		n, err := io.ReadFull(r.src, r.in)
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			r.done = true
		} else if err != nil {
			return 0, err
		}
		r.out = appendBase64Lines(r.out[:0], r.in[:n])
		r.pos = 0
	}
	n := copy(p, r.out[r.pos:])
	r.pos += n
	return n, nil
}

func (r *base64Reader) Close() error { return r.src.Close() }

// appendBase64Lines appends data in base64, CRLF after every full line and
// after the last partial one.
func appendBase64Lines(dst, data []byte) []byte {
	for len(data) > 0 {
		k := min(len(data), base64Group)
		dst = base64.StdEncoding.AppendEncode(dst, data[:k])
		dst = append(dst, '\r', '\n')
		data = data[k:]
	}
	return dst
}

// base64Lines encodes small data (a signature) the way base64Source does.
func base64Lines(data []byte) []byte { return appendBase64Lines(nil, data) }
