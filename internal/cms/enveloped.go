package cms

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"io"

	"github.com/as2gate/as2gate/internal/ber"
	"github.com/as2gate/as2gate/internal/streamgcm"
)

// gcmTagSize is the AES-GCM tag length we write (the CMS default is 12; 16
// is what OpenSSL and Bouncy Castle write).
const gcmTagSize = 16

// EncryptOptions configure encryption.
type EncryptOptions struct {
	Cipher       Cipher
	KeyTransport KeyTransport
	Recipients   []*x509.Certificate
	Rand         io.Reader // nil: crypto/rand
}

func (o *EncryptOptions) rand() io.Reader {
	if o.Rand != nil {
		return o.Rand
	}
	return rand.Reader
}

func (o *EncryptOptions) check() error {
	if !o.Cipher.CanEncrypt() {
		return fmt.Errorf("%w: %v is not used for encryption", ErrUnsupportedAlgorithm, o.Cipher)
	}
	if len(o.Recipients) == 0 {
		return fmt.Errorf("cms: encryption needs a recipient certificate")
	}
	for _, c := range o.Recipients {
		if _, ok := c.PublicKey.(*rsa.PublicKey); !ok {
			return fmt.Errorf("%w: recipient %q has no RSA key", ErrUnsupportedAlgorithm, c.Subject.String())
		}
	}
	if o.KeyTransport.OAEP {
		switch o.KeyTransport.oaepHash() {
		case crypto.SHA1, crypto.SHA256, crypto.SHA384, crypto.SHA512:
		default:
			return fmt.Errorf("%w: OAEP with %v", ErrUnsupportedAlgorithm, o.KeyTransport.Hash)
		}
	}
	return nil
}

// keyEncryptionAlgorithm writes RSAES-OAEP-params with the MGF1 hash named
// explicitly (RFC 4055 §4.1): omitting it means MGF1-SHA1, which is what
// other Go CMS libraries get wrong for SHA-256.
func (k KeyTransport) keyEncryptionAlgorithm() pkix.AlgorithmIdentifier {
	if !k.OAEP {
		return pkix.AlgorithmIdentifier{Algorithm: oidRSAEncryption, Parameters: asn1NULL}
	}
	h := k.oaepHash()
	if h == crypto.SHA1 {
		return pkix.AlgorithmIdentifier{Algorithm: oidRSAESOAEP, Parameters: asn1.RawValue{FullBytes: []byte{0x30, 0}}}
	}
	hashAlg := pkix.AlgorithmIdentifier{Algorithm: digestOIDs[h]}
	params := struct {
		Hash pkix.AlgorithmIdentifier `asn1:"explicit,tag:0"`
		MGF  pkix.AlgorithmIdentifier `asn1:"explicit,tag:1"`
	}{hashAlg, pkix.AlgorithmIdentifier{Algorithm: oidMGF1, Parameters: rawOf(hashAlg)}}
	return pkix.AlgorithmIdentifier{Algorithm: oidRSAESOAEP, Parameters: rawOf(params)}
}

type keyTransRecipientInfo struct {
	Version                int
	RID                    issuerAndSerial
	KeyEncryptionAlgorithm pkix.AlgorithmIdentifier
	EncryptedKey           []byte
}

// envelope is the part of an EnvelopedData that precedes the ciphertext.
type envelope struct {
	key, iv []byte
	prefix  []byte // DER up to the start of the ciphertext
	total   int64  // size of the whole ContentInfo
}

func ciphertextSize(c Cipher, n int64) int64 {
	if c.AEAD() {
		return n
	}
	bs := int64(c.blockSize())
	return (n/bs + 1) * bs
}

// newEnvelope draws a content key and IV and encrypts the key for each
// recipient. With dummy set, no randomness or RSA is used: the sizes are
// the same, which is all EncryptedSize needs.
func newEnvelope(n int64, opts *EncryptOptions, dummy bool) (*envelope, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	if n < 0 {
		return nil, fmt.Errorf("cms: negative content size")
	}
	e := &envelope{key: make([]byte, opts.Cipher.keySize())}
	ivSize := opts.Cipher.blockSize()
	if opts.Cipher.AEAD() {
		ivSize = 12
	}
	e.iv = make([]byte, ivSize)
	if !dummy {
		if _, err := io.ReadFull(opts.rand(), e.key); err != nil {
			return nil, err
		}
		if _, err := io.ReadFull(opts.rand(), e.iv); err != nil {
			return nil, err
		}
	}
	var infos [][]byte
	for _, cert := range opts.Recipients {
		pub := cert.PublicKey.(*rsa.PublicKey)
		ek := make([]byte, pub.Size())
		if !dummy {
			var err error
			if opts.KeyTransport.OAEP {
				h := opts.KeyTransport.oaepHash()
				ek, err = rsa.EncryptOAEPWithOptions(opts.rand(), pub, e.key, &rsa.OAEPOptions{Hash: h, MGFHash: h})
			} else {
				ek, err = rsa.EncryptPKCS1v15(opts.rand(), pub, e.key)
			}
			if err != nil {
				return nil, fmt.Errorf("cms: encrypting the content key for %q: %w", cert.Subject.String(), err)
			}
		}
		info, err := asn1.Marshal(keyTransRecipientInfo{
			RID:                    issuerAndSerial{asn1.RawValue{FullBytes: cert.RawIssuer}, cert.SerialNumber},
			KeyEncryptionAlgorithm: opts.KeyTransport.keyEncryptionAlgorithm(),
			EncryptedKey:           ek,
		})
		if err != nil {
			return nil, err
		}
		infos = append(infos, info)
	}
	var params asn1.RawValue
	if opts.Cipher.AEAD() {
		params = rawOf(struct {
			Nonce  []byte
			ICVLen int
		}{e.iv, gcmTagSize})
	} else {
		params = rawOf(e.iv)
	}
	algID, err := asn1.Marshal(pkix.AlgorithmIdentifier{Algorithm: opts.Cipher.oid(), Parameters: params})
	if err != nil {
		return nil, err
	}
	dataOID, _ := asn1.Marshal(oidData)
	ctLen := ciphertextSize(opts.Cipher, n)
	eciHead := append(append([]byte{}, dataOID...), algID...)
	eciHead = ber.AppendHeader(eciHead, ber.ClassContext, 0, false, ctLen)
	eciLen := int64(len(eciHead)) + ctLen

	version, _ := asn1.Marshal(0)
	recipientInfos := ber.Set(infos...)
	var trailer int64
	if opts.Cipher.AEAD() {
		trailer = ber.Size(gcmTagSize) // mac OCTET STRING
	}
	bodyLen := int64(len(version)+len(recipientInfos)) + ber.Size(eciLen) + trailer
	typeOID, _ := asn1.Marshal(oidEnvelopedData)
	if opts.Cipher.AEAD() {
		typeOID, _ = asn1.Marshal(oidAuthEnvelopedData)
	}
	explicitLen := ber.Size(bodyLen)
	outerLen := int64(len(typeOID)) + ber.Size(explicitLen)

	p := ber.AppendHeader(nil, ber.ClassUniversal, ber.TagSequence, true, outerLen)
	p = append(p, typeOID...)
	p = ber.AppendHeader(p, ber.ClassContext, 0, true, explicitLen)
	p = ber.AppendHeader(p, ber.ClassUniversal, ber.TagSequence, true, bodyLen)
	p = append(p, version...)
	p = append(p, recipientInfos...)
	p = ber.AppendHeader(p, ber.ClassUniversal, ber.TagSequence, true, eciLen)
	p = append(p, eciHead...)
	e.prefix = p
	e.total = ber.Size(outerLen)
	return e, nil
}

// EncryptedSize is the exact size of what NewEncrypter writes for n bytes of content.
func EncryptedSize(n int64, opts EncryptOptions) (int64, error) {
	e, err := newEnvelope(n, &opts, true)
	if err != nil {
		return 0, err
	}
	return e.total, nil
}

// NewEncrypter writes an EnvelopedData (CBC ciphers) or AuthEnvelopedData
// (GCM) ContentInfo to w for exactly n bytes of content, written to the
// returned writer. Close writes the padding or the authentication tag; the
// output is then exactly EncryptedSize(n, opts) bytes. A fresh content key
// and IV are drawn on every call.
func NewEncrypter(w io.Writer, n int64, opts EncryptOptions) (io.WriteCloser, error) {
	e, err := newEnvelope(n, &opts, false)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(e.prefix); err != nil {
		return nil, err
	}
	enc := &encrypter{w: w, remaining: n, buf: make([]byte, 0, bufferSize(n))}
	if opts.Cipher.AEAD() {
		block, err := aes.NewCipher(e.key)
		if err != nil {
			return nil, err
		}
		if enc.gcm, err = streamgcm.New(block, e.iv, gcmTagSize); err != nil {
			return nil, err
		}
		return enc, nil
	}
	block, err := newBlockCipher(opts.Cipher, e.key, 0)
	if err != nil {
		return nil, err
	}
	enc.cbc = cipher.NewCBCEncrypter(block, e.iv)
	return enc, nil
}

// chunkSize is the unit of work of the streaming ciphers.
const chunkSize = 256 << 10

// bufferSize is the buffer for content of n bytes (-1: unknown): a small
// message, the common case, does not need a large buffer.
func bufferSize(n int64) int {
	if n < 0 || n >= chunkSize-64 {
		return chunkSize
	}
	return max(int(n)+64, 4<<10) // room for padding and a partial block
}

type encrypter struct {
	w         io.Writer
	cbc       cipher.BlockMode
	gcm       *streamgcm.Stream
	buf       []byte // CBC: plaintext not yet a whole block; GCM: scratch
	remaining int64
	closed    bool
}

func (e *encrypter) Write(p []byte) (int, error) {
	if e.closed {
		return 0, fmt.Errorf("cms: write after close")
	}
	if int64(len(p)) > e.remaining {
		return 0, fmt.Errorf("cms: content is longer than the %d bytes announced", e.remaining)
	}
	written := 0
	for len(p) > 0 {
		k := min(len(p), chunkSize-len(e.buf))
		e.buf = append(e.buf, p[:k]...)
		p = p[k:]
		written += k
		e.remaining -= int64(k)
		if err := e.flush(false); err != nil {
			return written, err
		}
	}
	return written, nil
}

// flush encrypts and writes what it can of e.buf.
func (e *encrypter) flush(final bool) error {
	if e.gcm != nil {
		if err := e.gcm.Encrypt(e.buf, e.buf); err != nil {
			return err
		}
		_, err := e.w.Write(e.buf)
		e.buf = e.buf[:0]
		return err
	}
	bs := e.cbc.BlockSize()
	if final {
		pad := bs - len(e.buf)%bs
		for i := 0; i < pad; i++ {
			e.buf = append(e.buf, byte(pad))
		}
	}
	whole := len(e.buf) / bs * bs
	if whole == 0 {
		return nil
	}
	e.cbc.CryptBlocks(e.buf[:whole], e.buf[:whole])
	if _, err := e.w.Write(e.buf[:whole]); err != nil {
		return err
	}
	e.buf = e.buf[:copy(e.buf, e.buf[whole:])]
	return nil
}

func (e *encrypter) Close() error {
	if e.closed {
		return nil
	}
	e.closed = true
	if e.remaining != 0 {
		return fmt.Errorf("cms: content is %d bytes shorter than announced", e.remaining)
	}
	if err := e.flush(true); err != nil {
		return err
	}
	if e.gcm != nil {
		tag, err := e.gcm.Tag()
		if err != nil {
			return err
		}
		_, err = e.w.Write(ber.AppendElement(nil, ber.ClassUniversal, ber.TagOctetString, false, tag))
		return err
	}
	return nil
}

// newBlockCipher makes the block cipher of c; rc2Bits is the RC2 effective key length.
func newBlockCipher(c Cipher, key []byte, rc2Bits int) (cipher.Block, error) {
	switch c {
	case TripleDESCBC:
		return des.NewTripleDESCipher(key)
	case DESCBC:
		return des.NewCipher(key)
	case RC2CBC:
		return newRC2(key, rc2Bits)
	default:
		return aes.NewCipher(key)
	}
}
