package cms

import (
	"bufio"
	"compress/zlib"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"

	"github.com/as2gate/as2gate/internal/ber"
)

// CompressedPrefix returns the DER that precedes a zlib stream of n bytes
// in a CompressedData ContentInfo (RFC 3274); the stream follows it
// directly and nothing comes after it. Compressing is two steps because
// DER needs the compressed length first: the caller compresses to a
// temporary file, then writes the prefix and the file.
func CompressedPrefix(n int64) []byte {
	version, _ := asn1.Marshal(0)
	alg, _ := asn1.Marshal(struct{ Algorithm asn1.ObjectIdentifier }{oidZlibCompress})
	dataOID, _ := asn1.Marshal(oidData)
	octetLen := ber.Size(n)
	explicitLen := ber.Size(octetLen)
	encapLen := int64(len(dataOID)) + explicitLen
	bodyLen := int64(len(version)+len(alg)) + ber.Size(encapLen)
	typeOID, _ := asn1.Marshal(oidCompressedData)
	outerLen := int64(len(typeOID)) + ber.Size(ber.Size(bodyLen))

	p := ber.AppendHeader(nil, ber.ClassUniversal, ber.TagSequence, true, outerLen)
	p = append(p, typeOID...)
	p = ber.AppendHeader(p, ber.ClassContext, 0, true, ber.Size(bodyLen))
	p = ber.AppendHeader(p, ber.ClassUniversal, ber.TagSequence, true, bodyLen)
	p = append(p, version...)
	p = append(p, alg...)
	p = ber.AppendHeader(p, ber.ClassUniversal, ber.TagSequence, true, encapLen)
	p = append(p, dataOID...)
	p = ber.AppendHeader(p, ber.ClassContext, 0, true, octetLen)
	return ber.AppendHeader(p, ber.ClassUniversal, ber.TagOctetString, false, n)
}

// Decompress reads a CompressedData and returns the uncompressed content
// as a stream. At most limit bytes are produced (0: no limit); beyond, the
// reader fails with ErrTooLarge, so a small "zip bomb" cannot fill a disk.
func (c *Content) Decompress(limit int64) (io.Reader, error) {
	if c.Kind() != KindCompressedData {
		return nil, fmt.Errorf("%w: expected compressed-data, got %v", ErrMalformed, c.Type)
	}
	r := c.r
	h, err := r.Expect(ber.ClassUniversal, ber.TagSequence, true)
	if err != nil {
		return nil, err
	}
	if err := r.Enter(h); err != nil {
		return nil, err
	}
	if _, err := r.ExpectDER(ber.ClassUniversal, ber.TagInteger, 16); err != nil {
		return nil, err
	}
	algDER, err := r.ExpectDER(ber.ClassUniversal, ber.TagSequence, 1024)
	if err != nil {
		return nil, err
	}
	var alg struct {
		Algorithm  asn1.ObjectIdentifier
		Parameters asn1.RawValue `asn1:"optional"`
	}
	if _, err := asn1.Unmarshal(algDER, &alg); err != nil {
		return nil, fmt.Errorf("%w: bad compression algorithm", ErrMalformed)
	}
	if !alg.Algorithm.Equal(oidZlibCompress) {
		return nil, fmt.Errorf("%w: compression %v (only zlib is defined for CMS)", ErrUnsupportedAlgorithm, alg.Algorithm)
	}
	if h, err = r.Expect(ber.ClassUniversal, ber.TagSequence, true); err != nil {
		return nil, err
	}
	if err := r.Enter(h); err != nil {
		return nil, err
	}
	if _, err := r.ExpectDER(ber.ClassUniversal, ber.TagOID, 128); err != nil {
		return nil, err
	}
	if h, err = r.Expect(ber.ClassContext, 0, true); err != nil {
		return nil, fmt.Errorf("cms: compressed data without content: %w", err)
	}
	if err := r.Enter(h); err != nil {
		return nil, err
	}
	if h, err = r.Next(); err != nil {
		return nil, err
	}
	if !h.Is(ber.ClassUniversal, ber.TagOctetString) {
		return nil, fmt.Errorf("%w: expected OCTET STRING, got %v", ErrMalformed, h)
	}
	compressed := bufio.NewReaderSize(r.OctetString(h), 64<<10)
	z, err := zlib.NewReader(compressed)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDecompress, err)
	}
	d := &decompressor{z: z, limit: limit}
	finish := func() error {
		// Whatever follows the zlib stream inside the OCTET STRING is
		// ignored, as zlib readers do; then the structure must end well.
		if _, err := io.Copy(io.Discard, compressed); err != nil {
			return err
		}
		return c.closeAll()
	}
	return &trailingReader{src: d, finish: finish}, nil
}

type decompressor struct {
	z     io.ReadCloser
	n     int64
	limit int64
}

func (d *decompressor) Read(p []byte) (int, error) {
	n, err := d.z.Read(p)
	d.n += int64(n)
	if d.limit > 0 && d.n > d.limit {
		return 0, fmt.Errorf("%w: decompressed content exceeds %d bytes", ErrTooLarge, d.limit)
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return n, fmt.Errorf("%w: %w", ErrDecompress, err)
	}
	return n, err
}
