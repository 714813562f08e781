package cms

import (
	"bytes"
	"crypto"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"

	"github.com/as2gate/as2gate/internal/ber"
	"github.com/as2gate/as2gate/internal/rc2"
	"github.com/as2gate/as2gate/internal/streamgcm"
)

// maxRecipientInfos bounds the recipient list read into memory.
const maxRecipientInfos = 1 << 20

// Recipient is one of our key pairs that may decrypt.
type Recipient struct {
	Cert *x509.Certificate
	Key  crypto.Decrypter
}

// EnvelopeInfo describes how a message was encrypted.
type EnvelopeInfo struct {
	Cipher       Cipher
	KeyTransport KeyTransport
	// Recipient is the certificate whose key decrypted the content key.
	Recipient *x509.Certificate
	// RecipientCount is the number of recipients the sender listed.
	RecipientCount int
}

func newRC2(key []byte, bits int) (cipher.Block, error) { return rc2.NewCipher(key, bits) }

type recipientIdentifier struct {
	issuer []byte
	serial *big.Int
	ski    []byte
}

// matches compares issuer names by value as well as by encoding: some
// products re-encode the issuer (PrintableString for UTF8String).
func (id recipientIdentifier) matches(c *x509.Certificate) bool {
	if id.serial != nil {
		return c.SerialNumber.Cmp(id.serial) == 0 && sameName(c.RawIssuer, id.issuer)
	}
	return id.ski != nil && bytes.Equal(c.SubjectKeyId, id.ski)
}

func sameName(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	var ra, rb pkix.RDNSequence
	if _, err := asn1.Unmarshal(a, &ra); err != nil {
		return false
	}
	if _, err := asn1.Unmarshal(b, &rb); err != nil {
		return false
	}
	var na, nb pkix.Name
	na.FillFromRDNSequence(&ra)
	nb.FillFromRDNSequence(&rb)
	return strings.EqualFold(na.String(), nb.String())
}

type keyTrans struct {
	id           recipientIdentifier
	transport    KeyTransport
	label        []byte
	encryptedKey []byte
}

// Decrypt reads an EnvelopedData or AuthEnvelopedData and returns the
// plaintext as a stream. The reader reports an error instead of io.EOF when
// the padding, the authentication tag or the end of the structure is wrong,
// so the plaintext must not be trusted before io.EOF.
func (c *Content) Decrypt(recipients []Recipient) (io.Reader, *EnvelopeInfo, error) {
	aead := c.Kind() == KindAuthEnvelopedData
	if c.Kind() != KindEnvelopedData && !aead {
		return nil, nil, fmt.Errorf("%w: expected enveloped-data, got %v", ErrMalformed, c.Type)
	}
	r := c.r
	h, err := r.Expect(ber.ClassUniversal, ber.TagSequence, true)
	if err != nil {
		return nil, nil, err
	}
	if err := r.Enter(h); err != nil {
		return nil, nil, err
	}
	if _, err := r.ExpectDER(ber.ClassUniversal, ber.TagInteger, 16); err != nil {
		return nil, nil, err
	}
	h, err = r.Next()
	if err != nil {
		return nil, nil, err
	}
	if h.Is(ber.ClassContext, 0) { // originatorInfo
		if err := r.Skip(h); err != nil {
			return nil, nil, err
		}
		if h, err = r.Next(); err != nil {
			return nil, nil, err
		}
	}
	if !h.Is(ber.ClassUniversal, ber.TagSet) {
		return nil, nil, fmt.Errorf("%w: expected recipientInfos, got %v", ErrMalformed, h)
	}
	ris, err := r.ReadDER(h, maxRecipientInfos)
	if err != nil {
		return nil, nil, err
	}
	infos, count, err := parseRecipientInfos(ris)
	if err != nil {
		return nil, nil, err
	}

	if h, err = r.Expect(ber.ClassUniversal, ber.TagSequence, true); err != nil {
		return nil, nil, err
	}
	if err := r.Enter(h); err != nil {
		return nil, nil, err
	}
	if _, err := r.ExpectDER(ber.ClassUniversal, ber.TagOID, 128); err != nil {
		return nil, nil, err
	}
	algDER, err := r.ExpectDER(ber.ClassUniversal, ber.TagSequence, 1024)
	if err != nil {
		return nil, nil, err
	}
	var alg pkix.AlgorithmIdentifier
	if _, err := asn1.Unmarshal(algDER, &alg); err != nil {
		return nil, nil, fmt.Errorf("%w: bad content encryption algorithm", ErrMalformed)
	}
	ciph, err := cipherFromOID(alg.Algorithm)
	if err != nil {
		return nil, nil, err
	}
	if ciph.AEAD() != aead {
		return nil, nil, fmt.Errorf("%w: %v in %v", ErrUnsupportedAlgorithm, ciph, c.Kind())
	}
	more, err := r.More()
	if err != nil {
		return nil, nil, err
	}
	if !more {
		return nil, nil, fmt.Errorf("%w: enveloped data without encrypted content", ErrMalformed)
	}
	if h, err = r.Next(); err != nil {
		return nil, nil, err
	}
	if !h.Is(ber.ClassContext, 0) {
		return nil, nil, fmt.Errorf("%w: expected encryptedContent, got %v", ErrMalformed, h)
	}

	info := &EnvelopeInfo{Cipher: ciph, RecipientCount: count}
	keyLen := ciph.keySize()
	var iv []byte
	var rc2Bits int
	if !aead {
		if iv, rc2Bits, err = cbcParams(ciph, alg.Parameters); err != nil {
			return nil, nil, err
		}
		if ciph == RC2CBC {
			keyLen = (rc2Bits + 7) / 8
		}
	}
	key, err := unwrapKey(infos, recipients, keyLen, info)
	if err != nil {
		return nil, nil, err
	}
	ciphertext := r.OctetString(h)
	if aead {
		return c.gcmReader(ciphertext, alg, key, info)
	}
	block, err := newBlockCipher(ciph, key, rc2Bits)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrDecrypt, err)
	}
	if len(iv) != block.BlockSize() {
		return nil, nil, fmt.Errorf("%w: IV of %d bytes for %v", ErrMalformed, len(iv), ciph)
	}
	plain := newCBCReader(ciphertext, cipher.NewCBCDecrypter(block, iv), h.Length)
	return &trailingReader{src: plain, finish: c.closeAll}, info, nil
}

func parseRecipientInfos(der []byte) ([]keyTrans, int, error) {
	var raws []asn1.RawValue
	if _, err := asn1.UnmarshalWithParams(der, &raws, "set"); err != nil {
		return nil, 0, fmt.Errorf("%w: bad recipientInfos", ErrMalformed)
	}
	var out []keyTrans
	for _, raw := range raws {
		if raw.Class != asn1.ClassUniversal || raw.Tag != asn1.TagSequence {
			continue // key agreement, KEK, password: not used by AS2
		}
		var ktri struct {
			Version                int
			RID                    asn1.RawValue
			KeyEncryptionAlgorithm pkix.AlgorithmIdentifier
			EncryptedKey           []byte
		}
		if _, err := asn1.Unmarshal(raw.FullBytes, &ktri); err != nil {
			return nil, 0, fmt.Errorf("%w: bad KeyTransRecipientInfo", ErrMalformed)
		}
		kt := keyTrans{encryptedKey: ktri.EncryptedKey}
		switch {
		case ktri.RID.Class == asn1.ClassUniversal && ktri.RID.Tag == asn1.TagSequence:
			var ias struct {
				Issuer asn1.RawValue
				Serial *big.Int
			}
			if _, err := asn1.Unmarshal(ktri.RID.FullBytes, &ias); err != nil {
				return nil, 0, fmt.Errorf("%w: bad recipient identifier", ErrMalformed)
			}
			kt.id = recipientIdentifier{issuer: ias.Issuer.FullBytes, serial: ias.Serial}
		case ktri.RID.Class == asn1.ClassContextSpecific && ktri.RID.Tag == 0:
			kt.id = recipientIdentifier{ski: ktri.RID.Bytes}
		default:
			return nil, 0, fmt.Errorf("%w: bad recipient identifier", ErrMalformed)
		}
		var err error
		if kt.transport, kt.label, err = parseKeyEncryptionAlgorithm(ktri.KeyEncryptionAlgorithm); err != nil {
			return nil, 0, err
		}
		out = append(out, kt)
	}
	return out, len(raws), nil
}

// parseKeyEncryptionAlgorithm reads rsaEncryption or RSAES-OAEP with its
// parameters (defaults: SHA-1, MGF1-SHA1, empty label).
func parseKeyEncryptionAlgorithm(alg pkix.AlgorithmIdentifier) (KeyTransport, []byte, error) {
	switch {
	case alg.Algorithm.Equal(oidRSAEncryption):
		return KeyTransport{}, nil, nil
	case alg.Algorithm.Equal(oidRSAESOAEP):
	default:
		return KeyTransport{}, nil, fmt.Errorf("%w: key encryption %v", ErrUnsupportedAlgorithm, alg.Algorithm)
	}
	kt := KeyTransport{OAEP: true, Hash: crypto.SHA1}
	if len(alg.Parameters.FullBytes) == 0 || alg.Parameters.Tag == asn1.TagNull {
		return kt, nil, nil
	}
	var params struct {
		Hash   pkix.AlgorithmIdentifier `asn1:"explicit,optional,tag:0"`
		MGF    pkix.AlgorithmIdentifier `asn1:"explicit,optional,tag:1"`
		Source pkix.AlgorithmIdentifier `asn1:"explicit,optional,tag:2"`
	}
	if _, err := asn1.Unmarshal(alg.Parameters.FullBytes, &params); err != nil {
		return kt, nil, fmt.Errorf("%w: bad RSAES-OAEP parameters", ErrMalformed)
	}
	if len(params.Hash.Algorithm) > 0 {
		h, err := hashFromOID(params.Hash.Algorithm)
		if err != nil {
			return kt, nil, err
		}
		kt.Hash = h
	}
	mgfHash := crypto.SHA1
	if len(params.MGF.Algorithm) > 0 {
		if !params.MGF.Algorithm.Equal(oidMGF1) {
			return kt, nil, fmt.Errorf("%w: OAEP mask generation %v", ErrUnsupportedAlgorithm, params.MGF.Algorithm)
		}
		var mgfAlg pkix.AlgorithmIdentifier
		if _, err := asn1.Unmarshal(params.MGF.Parameters.FullBytes, &mgfAlg); err != nil {
			return kt, nil, fmt.Errorf("%w: bad MGF1 parameters", ErrMalformed)
		}
		h, err := hashFromOID(mgfAlg.Algorithm)
		if err != nil {
			return kt, nil, err
		}
		mgfHash = h
	}
	if mgfHash != kt.Hash {
		// Go's OAEP takes a separate MGF hash, but our KeyTransport models
		// the symmetric case only; nobody in the field sends mixed hashes.
		return kt, nil, fmt.Errorf("%w: OAEP with MGF1-%s over %s", ErrUnsupportedAlgorithm, DigestName(mgfHash), DigestName(kt.Hash))
	}
	var label []byte
	if len(params.Source.Algorithm) > 0 {
		if !params.Source.Algorithm.Equal(oidPSpecified) {
			return kt, nil, fmt.Errorf("%w: OAEP label source %v", ErrUnsupportedAlgorithm, params.Source.Algorithm)
		}
		if _, err := asn1.Unmarshal(params.Source.Parameters.FullBytes, &label); err != nil {
			return kt, nil, fmt.Errorf("%w: bad OAEP label", ErrMalformed)
		}
	}
	return kt, label, nil
}

// unwrapKey finds the recipient info addressed to one of our certificates
// and decrypts the content key of keyLen bytes. There is deliberately no
// fallback that tries our keys on recipients that do not name us: it would
// turn the receiver into a PKCS#1 v1.5 padding oracle and let a sender make
// it do any number of RSA operations.
func unwrapKey(infos []keyTrans, recipients []Recipient, keyLen int, info *EnvelopeInfo) ([]byte, error) {
	if len(infos) == 0 {
		return nil, fmt.Errorf("%w: no key transport recipient", ErrNoRecipient)
	}
	if len(recipients) == 0 {
		return nil, fmt.Errorf("%w: no private key to decrypt with (the message is for %s)", ErrNoRecipient, describeRecipients(infos))
	}
	for _, kt := range infos {
		for _, rcp := range recipients {
			if rcp.Cert != nil && kt.id.matches(rcp.Cert) {
				info.KeyTransport, info.Recipient = kt.transport, rcp.Cert
				return decryptKey(kt, rcp.Key, keyLen)
			}
		}
	}
	return nil, fmt.Errorf("%w (it names %s)", ErrNoRecipient, describeRecipients(infos))
}

func describeRecipients(infos []keyTrans) string {
	var b bytes.Buffer
	for i, kt := range infos {
		if i > 0 {
			b.WriteString(", ")
		}
		if kt.id.serial != nil {
			var name pkix.RDNSequence
			asn1.Unmarshal(kt.id.issuer, &name)
			fmt.Fprintf(&b, "issuer %q serial %x", name.String(), kt.id.serial)
		} else {
			fmt.Fprintf(&b, "subject key id %x", kt.id.ski)
		}
	}
	return b.String()
}

// decryptKey decrypts a content key. With PKCS#1 v1.5 a padding failure
// yields a random key instead of an error (RFC 3218 §2.3.2), so that the
// response does not tell an attacker which of its ciphertexts had valid
// padding: the content then fails to decrypt like any other wrong key.
func decryptKey(kt keyTrans, key crypto.Decrypter, keyLen int) ([]byte, error) {
	if key == nil {
		return nil, fmt.Errorf("%w: no private key for the recipient certificate", ErrDecrypt)
	}
	if keyLen <= 0 || keyLen > 128 {
		return nil, fmt.Errorf("%w: content key of %d bytes", ErrUnsupportedAlgorithm, keyLen)
	}
	var opts crypto.DecrypterOpts = &rsa.PKCS1v15DecryptOptions{SessionKeyLen: keyLen}
	if kt.transport.OAEP {
		h := kt.transport.oaepHash()
		opts = &rsa.OAEPOptions{Hash: h, MGFHash: h, Label: kt.label}
	}
	cek, err := key.Decrypt(rand.Reader, kt.encryptedKey, opts)
	if err != nil {
		return nil, fmt.Errorf("%w: content key: %v", ErrDecrypt, err)
	}
	if len(cek) != keyLen {
		return nil, fmt.Errorf("%w: content key of %d bytes where %d are needed", ErrDecrypt, len(cek), keyLen)
	}
	return cek, nil
}

// cbcParams returns the IV and, for RC2, the effective key bits.
func cbcParams(c Cipher, params asn1.RawValue) ([]byte, int, error) {
	var iv []byte
	if c != RC2CBC {
		if _, err := asn1.Unmarshal(params.FullBytes, &iv); err != nil {
			return nil, 0, fmt.Errorf("%w: bad IV for %v", ErrMalformed, c)
		}
		return iv, 0, nil
	}
	// RC2CBCParameter is SEQUENCE { version, iv } or, in old encodings, the IV alone.
	if params.Tag == asn1.TagOctetString {
		if _, err := asn1.Unmarshal(params.FullBytes, &iv); err != nil {
			return nil, 0, fmt.Errorf("%w: bad RC2 IV", ErrMalformed)
		}
		return iv, 32, nil
	}
	var p struct {
		Version int
		IV      []byte
	}
	if _, err := asn1.Unmarshal(params.FullBytes, &p); err != nil {
		return nil, 0, fmt.Errorf("%w: bad RC2 parameters", ErrMalformed)
	}
	bits, err := rc2.EffectiveBitsFromVersion(p.Version)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return p.IV, bits, nil
}

func (c *Content) gcmReader(ciphertext io.Reader, alg pkix.AlgorithmIdentifier, key []byte, info *EnvelopeInfo) (io.Reader, *EnvelopeInfo, error) {
	var params struct {
		Nonce  []byte
		ICVLen int `asn1:"optional,default:12"`
	}
	if _, err := asn1.Unmarshal(alg.Parameters.FullBytes, &params); err != nil {
		return nil, nil, fmt.Errorf("%w: bad GCM parameters", ErrMalformed)
	}
	block, err := newBlockCipher(info.Cipher, key, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrDecrypt, err)
	}
	s, err := streamgcm.New(block, params.Nonce, params.ICVLen)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: GCM parameters: %v", ErrMalformed, err)
	}
	plain := &gcmReader{src: ciphertext, s: s}
	finish := func() error {
		r := c.r
		if err := r.Leave(); err != nil { // authEncryptedContentInfo
			return err
		}
		h, err := r.Next()
		if err != nil {
			return err
		}
		if h.Is(ber.ClassContext, 1) {
			return fmt.Errorf("%w: authenticated attributes in AuthEnvelopedData", ErrUnsupportedAlgorithm)
		}
		if !h.Is(ber.ClassUniversal, ber.TagOctetString) {
			return fmt.Errorf("%w: expected the GCM tag, got %v", ErrMalformed, h)
		}
		mac, err := io.ReadAll(io.LimitReader(r.OctetString(h), 64))
		if err != nil {
			return err
		}
		if err := s.Verify(mac); err != nil {
			return fmt.Errorf("%w: GCM authentication tag does not match", ErrDecrypt)
		}
		return c.closeAll()
	}
	return &trailingReader{src: plain, finish: finish}, info, nil
}

type gcmReader struct {
	src io.Reader
	s   *streamgcm.Stream
}

func (g *gcmReader) Read(p []byte) (int, error) {
	n, err := g.src.Read(p)
	if derr := g.s.Decrypt(p[:n], p[:n]); derr != nil {
		return 0, fmt.Errorf("%w: %w", ErrTooLarge, derr)
	}
	return n, err
}

// cbcReader decrypts CBC ciphertext, always holding back the last block
// until the end of the input, where its padding is checked and removed.
type cbcReader struct {
	src     io.Reader
	mode    cipher.BlockMode
	buf     []byte
	start   int // buf[start:ready] is decrypted plaintext to hand out
	ready   int
	end     int // buf[ready:end] is ciphertext not yet decrypted
	srcDone bool
	err     error
}

// newCBCReader decrypts src; size is the ciphertext length when the
// encoding tells it (-1 otherwise), to size the buffer.
func newCBCReader(src io.Reader, mode cipher.BlockMode, size int64) *cbcReader {
	return &cbcReader{src: src, mode: mode, buf: make([]byte, bufferSize(size))}
}

var errBadPadding = fmt.Errorf("%w: bad padding (wrong key or corrupt ciphertext)", ErrDecrypt)

func (c *cbcReader) Read(p []byte) (int, error) {
	for c.start == c.ready {
		if c.err != nil {
			return 0, c.err
		}
		c.err = c.fill()
	}
	n := copy(p, c.buf[c.start:c.ready])
	c.start += n
	return n, nil
}

func (c *cbcReader) fill() error {
	bs := c.mode.BlockSize()
	// Move the undecrypted tail to the front.
	c.end = copy(c.buf, c.buf[c.ready:c.end])
	c.start, c.ready = 0, 0
	for !c.srcDone && c.end <= bs {
		n, err := c.src.Read(c.buf[c.end:])
		c.end += n
		if errors.Is(err, io.EOF) {
			c.srcDone = true
		} else if err != nil {
			return err
		}
	}
	for !c.srcDone && c.end < len(c.buf) {
		// Fill the buffer when data is at hand, to decrypt big chunks.
		n, err := c.src.Read(c.buf[c.end:])
		c.end += n
		if errors.Is(err, io.EOF) {
			c.srcDone = true
		} else if err != nil {
			return err
		}
		if n == 0 || c.end > len(c.buf)/2 {
			break
		}
	}
	if !c.srcDone {
		whole := c.end / bs * bs
		if whole == c.end {
			whole -= bs // keep the last block: it may be the final one
		}
		c.mode.CryptBlocks(c.buf[:whole], c.buf[:whole])
		c.ready = whole
		return nil
	}
	if c.end == 0 || c.end%bs != 0 {
		return fmt.Errorf("%w: ciphertext length %d is not a multiple of the block size", ErrDecrypt, c.end)
	}
	c.mode.CryptBlocks(c.buf[:c.end], c.buf[:c.end])
	pad := int(c.buf[c.end-1])
	if pad == 0 || pad > bs {
		return errBadPadding
	}
	for _, b := range c.buf[c.end-pad : c.end] {
		if int(b) != pad {
			return errBadPadding
		}
	}
	c.ready = c.end - pad
	c.end = c.ready
	return io.EOF
}
