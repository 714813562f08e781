package cms

import (
	"encoding/asn1"
	"fmt"
	"io"

	"github.com/as2gate/as2gate/internal/ber"
)

// Kind is the type of a ContentInfo.
type Kind int

const (
	KindUnknown Kind = iota
	KindData
	KindSignedData
	KindEnvelopedData
	KindAuthEnvelopedData
	KindCompressedData
)

func (k Kind) String() string {
	return [...]string{"unknown", "data", "signed-data", "enveloped-data", "authEnveloped-data", "compressed-data"}[k]
}

// Content is a ContentInfo being read from a stream: its type is known and
// the reader stands at the start of its content.
type Content struct {
	Type asn1.ObjectIdentifier
	r    *ber.Reader
}

// Kind classifies the content type.
func (c *Content) Kind() Kind {
	switch {
	case c.Type.Equal(oidData):
		return KindData
	case c.Type.Equal(oidSignedData):
		return KindSignedData
	case c.Type.Equal(oidEnvelopedData):
		return KindEnvelopedData
	case c.Type.Equal(oidAuthEnvelopedData):
		return KindAuthEnvelopedData
	case c.Type.Equal(oidCompressedData):
		return KindCompressedData
	}
	return KindUnknown
}

// ReadContentInfo reads the start of a ContentInfo (BER or DER) from r.
func ReadContentInfo(r io.Reader) (*Content, error) {
	br := ber.NewReader(r)
	h, err := br.Expect(ber.ClassUniversal, ber.TagSequence, true)
	if err != nil {
		return nil, fmt.Errorf("cms: not a ContentInfo: %w", err)
	}
	if err := br.Enter(h); err != nil {
		return nil, err
	}
	oidDER, err := br.ExpectDER(ber.ClassUniversal, ber.TagOID, 128)
	if err != nil {
		return nil, fmt.Errorf("cms: not a ContentInfo: %w", err)
	}
	var oid asn1.ObjectIdentifier
	if _, err := asn1.Unmarshal(oidDER, &oid); err != nil {
		return nil, fmt.Errorf("%w: bad content type", ErrMalformed)
	}
	h, err = br.Expect(ber.ClassContext, 0, true)
	if err != nil {
		return nil, fmt.Errorf("cms: ContentInfo without content: %w", err)
	}
	if err := br.Enter(h); err != nil {
		return nil, err
	}
	return &Content{Type: oid, r: br}, nil
}

// closeAll leaves every open element down to the ContentInfo itself, so
// that a malformed tail is reported rather than ignored.
func (c *Content) closeAll() error {
	for c.r.Depth() > 0 {
		if err := c.r.Leave(); err != nil {
			return err
		}
	}
	return nil
}

// trailingReader returns the data of src and, when src is exhausted, runs
// finish before reporting io.EOF: integrity checks that come after the
// content in the encoding (padding, authentication tag, structure ends)
// turn into a read error instead of a silent success.
type trailingReader struct {
	src    io.Reader
	finish func() error
	err    error
}

func (t *trailingReader) Read(p []byte) (int, error) {
	if t.err != nil {
		return 0, t.err
	}
	n, err := t.src.Read(p)
	if err == io.EOF {
		if ferr := t.finish(); ferr != nil {
			err = ferr
		}
	}
	if err != nil {
		t.err = err
	}
	if n > 0 && err != nil && err != io.EOF {
		return n, nil // deliver the data; the error comes on the next call
	}
	return n, err
}
