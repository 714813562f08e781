package as2

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/as2gate/as2gate/internal/cms"
	"github.com/as2gate/as2gate/internal/mime"
	"github.com/as2gate/as2gate/internal/testpeer"
)

// mimeEntity is a hand-made MIME entity: a Content-Type field, then body.
func mimeEntity(contentType string, body []byte) []byte {
	return append([]byte("Content-Type: "+contentType+"\r\n\r\n"), body...)
}

// multipartBody joins entities as the parts of a multipart body.
func multipartBody(boundary string, entities ...[]byte) []byte {
	var b bytes.Buffer
	for _, e := range entities {
		b.WriteString("--" + boundary + "\r\n")
		b.Write(e)
		b.WriteString("\r\n")
	}
	b.WriteString("--" + boundary + "--\r\n")
	return b.Bytes()
}

// encryptFor encrypts content, a MIME entity, for the receiver.
func encryptFor(t *testing.T, ids pair, cipher cms.Cipher, content []byte) (contentType string, body []byte) {
	t.Helper()
	e, err := envelopedEntity(BytesSource(content), cms.EncryptOptions{Cipher: cipher, Recipients: []*x509.Certificate{ids.receiver.Cert}})
	if err != nil {
		t.Fatal(err)
	}
	return e.header.Get("Content-Type"), readAll(t, e.body)
}

// withContentType is the header of req with another Content-Type.
func withContentType(req *Request, contentType string) mime.Header {
	h := mime.Header{Fields: append([]mime.Field{}, req.Header.Fields...)}
	h.Set("Content-Type", contentType)
	h.Del("Content-Transfer-Encoding")
	return h
}

func parseWith(t *testing.T, ids pair, h mime.Header, body []byte) (*Message, error) {
	t.Helper()
	return Parse(h, bytes.NewReader(body), ParseOptions{
		Decrypt: []cms.Recipient{{Cert: ids.receiver.Cert, Key: ids.receiver.Key}},
		Verify:  []*x509.Certificate{ids.sender.Cert},
		TempDir: t.TempDir(),
	})
}

// TestPartsOutsideTheSecurityLayers: a message is reported as signed (or
// encrypted) only when every payload part is inside that one signature (or
// envelope); a part next to a signed or encrypted entity is one anybody on
// the way may have added, and must not be delivered as the partner's.
// wantOutcome fails t unless a message was accepted (want "") or refused
// with the failure want.
func wantOutcome(t *testing.T, msg *Message, err error, want Failure) {
	t.Helper()
	if err == nil {
		msg.Close()
		if want != "" {
			t.Fatalf("accepted: signed=%v encrypted=%v, %d parts, layers %+v", msg.Signature != nil, msg.Encryption != nil, len(msg.Parts), msg.Layers)
		}
		return
	}
	if FailureOf(err) != want || want == "" {
		t.Fatalf("error %v (%s), want %q", err, FailureOf(err), want)
	}
}

func TestPartsOutsideTheSecurityLayers(t *testing.T) {
	ids := identities(t)
	signedReq := variant{sign: crypto.SHA256, files: 1}.build(t, ids, [][]byte{[]byte("UNB+signed'")})
	signed := mimeEntity(signedReq.Header.Get("Content-Type"), readAll(t, signedReq.Body))
	plain := mimeEntity("application/edi-x12", []byte("ISA*injected~"))
	encCT, encBody := encryptFor(t, ids, cms.AES128CBC, mimeEntity("application/edi-x12", []byte("ISA*secret~")))
	encrypted := mimeEntity(encCT, encBody)
	encSignedCT, encSignedBody := encryptFor(t, ids, cms.AES128GCM, signed)
	encryptedSigned := mimeEntity(encSignedCT, encSignedBody)
	encMixedCT, encMixedBody := encryptFor(t, ids, cms.AES256CBC, mimeEntity(`multipart/mixed; boundary="in"`, multipartBody("in", signed, plain)))

	const mixed = `multipart/mixed; boundary="out"`
	tests := []struct {
		name        string
		contentType string
		body        []byte
		want        Failure // "": accepted
	}{
		{"signed, then a plain part", mixed, multipartBody("out", signed, plain), AuthenticationFailed},
		{"a plain part, then signed", mixed, multipartBody("out", plain, signed), AuthenticationFailed},
		{"plain part one level up", `multipart/related; boundary="top"`,
			multipartBody("top", mimeEntity(mixed, multipartBody("out", signed)), plain), AuthenticationFailed},
		{"two separate signatures", mixed, multipartBody("out", signed, signed), AuthenticationFailed},
		{"plain part inside the envelope, outside the signature", encMixedCT, encMixedBody, AuthenticationFailed},
		{"encrypted, then a plain part", mixed, multipartBody("out", encrypted, plain), InsufficientSecurity},
		{"encrypted and signed, then a plain part", mixed, multipartBody("out", encryptedSigned, plain), AuthenticationFailed},
		{"a plain part, then encrypted", mixed, multipartBody("out", plain, encrypted), InsufficientSecurity},
		{"only a signed part", mixed, multipartBody("out", signed), ""},
		{"only an encrypted part", mixed, multipartBody("out", encrypted), ""},
		{"two plain parts", mixed, multipartBody("out", plain, plain), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg, err := parseWith(t, ids, withContentType(signedReq, tt.contentType), tt.body)
			wantOutcome(t, msg, err, tt.want)
		})
	}
}

// TestRefusedMessageLeavesNoFiles: the parts written before a message
// turned out to be refused are removed.
func TestRefusedMessageLeavesNoFiles(t *testing.T) {
	ids := identities(t)
	signedReq := variant{sign: crypto.SHA256, files: 1}.build(t, ids, [][]byte{[]byte("UNB+signed'")})
	signed := mimeEntity(signedReq.Header.Get("Content-Type"), readAll(t, signedReq.Body))
	body := multipartBody("out", signed, mimeEntity("text/plain", []byte("added")))
	dir := t.TempDir()
	_, err := Parse(withContentType(signedReq, `multipart/mixed; boundary="out"`), bytes.NewReader(body),
		ParseOptions{Verify: []*x509.Certificate{ids.sender.Cert}, TempDir: dir})
	if err == nil {
		t.Fatal("accepted")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("%d files left behind", len(entries))
	}
}

// withEpilogue is a signed entity followed by 1 MiB of epilogue, which no
// reader of the entity needs: the end of the layer around it lies far
// beyond the close delimiter, as it does in any large message.
func withEpilogue(signed []byte) []byte {
	return append(append([]byte{}, signed...), bytes.Repeat([]byte("\r\n"), 512<<10)...)
}

// compressFor wraps content, a MIME entity, in a CompressedData.
func compressFor(t *testing.T, content []byte) (contentType string, body []byte) {
	t.Helper()
	req := &Request{}
	defer req.Close()
	e, err := req.compressed(BytesSource(content), t.TempDir(), false)
	if err != nil {
		t.Fatal(err)
	}
	return e.header.Get("Content-Type"), readAll(t, e.body)
}

// TestTamperedTailIsRefused: the CBC padding, the GCM tag and the zlib
// checksum come at the very end of a layer, after the multipart/signed
// entity inside it has ended; a message whose end was altered must fail.
func TestTamperedTailIsRefused(t *testing.T) {
	ids := identities(t)
	signedReq := variant{sign: crypto.SHA256, files: 1}.build(t, ids, [][]byte{[]byte("UNB+signed'")})
	signed := withEpilogue(mimeEntity(signedReq.Header.Get("Content-Type"), readAll(t, signedReq.Body)))
	cbcCT, cbc := encryptFor(t, ids, cms.AES256CBC, signed)
	gcmCT, gcm := encryptFor(t, ids, cms.AES128GCM, signed)
	zCT, z := compressFor(t, signed)
	big := variant{sign: crypto.SHA256, cipher: cms.AES128GCM, files: 1}.build(t, ids, [][]byte{bytes.Repeat([]byte("LIN+1'"), 50000)})
	bigBody := readAll(t, big.Body)
	// Turning the last plaintext byte, the padding length, into 0 makes
	// the padding invalid for sure: it is flipped through the block before.
	pad := byte(16 - len(signed)%16)
	tests := []struct {
		name        string
		contentType string
		body        []byte
		at          int  // offset from the end of the byte to change
		xor         byte // 0: intact
		want        Failure
	}{
		{"CBC intact", cbcCT, cbc, 1, 0, ""},
		{"CBC padding", cbcCT, cbc, 17, pad, DecryptionFailed},
		{"GCM intact", gcmCT, gcm, 1, 0, ""},
		{"GCM tag", gcmCT, gcm, 1, 1, DecryptionFailed},
		{"GCM tag of a built message", big.Header.Get("Content-Type"), bigBody, 1, 1, DecryptionFailed},
		{"zlib intact", zCT, z, 1, 0, ""},
		{"zlib checksum", zCT, z, 1, 1, DecompressionFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := append([]byte{}, tt.body...)
			body[len(body)-tt.at] ^= tt.xor
			msg, err := parseWith(t, ids, withContentType(signedReq, tt.contentType), body)
			wantOutcome(t, msg, err, tt.want)
		})
	}
}

// TestNoOracleInsideTheEnvelope: whatever is wrong with the decrypted
// content, the partner hears decryption-failed, nothing more precise, and
// never a local failure (HTTP 500): otherwise whoever alters a CBC
// ciphertext learns which of its alterations decrypted to a valid padding
// or a valid MIME structure. A signature that does not verify stays
// authentication-failed, but only once the whole layer was decrypted and
// its padding or tag checked.
func TestNoOracleInsideTheEnvelope(t *testing.T) {
	ids := identities(t)
	signedReq := variant{sign: crypto.SHA256, files: 1}.build(t, ids, [][]byte{[]byte("UNB+signed'")})
	forged := variant{sign: crypto.SHA256, files: 1}.build(t, pair{testpeer.NewIdentity(t, "other"), ids.receiver}, [][]byte{[]byte("UNB+forged'")})
	forgedEntity := withEpilogue(mimeEntity(forged.Header.Get("Content-Type"), readAll(t, forged.Body)))
	zCT, z := compressFor(t, mimeEntity("text/plain", []byte("compressed")))
	z[len(z)-1] ^= 1
	badSignature := mimeEntity(`multipart/signed; boundary="s"; micalg=sha-256; protocol="application/pkcs7-signature"`,
		multipartBody("s", mimeEntity("text/plain", []byte("hello")), mimeEntity("application/pkcs7-signature", []byte("not DER"))))
	tests := []struct {
		name    string
		cipher  cms.Cipher
		content []byte
		at      int  // offset from the end of the byte to change
		xor     byte // 0: intact
		want    Failure
	}{
		{"multipart without a boundary", cms.AES256CBC, mimeEntity("multipart/mixed", []byte("x")), 1, 0, DecryptionFailed},
		{"unknown transfer encoding", cms.AES256CBC, []byte("Content-Type: text/plain\r\nContent-Transfer-Encoding: x-rot13\r\n\r\nabc"), 1, 0, DecryptionFailed},
		{"bad base64", cms.AES256CBC, []byte("Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!!"), 1, 0, DecryptionFailed},
		{"signature part not DER", cms.AES256CBC, badSignature, 1, 0, DecryptionFailed},
		{"corrupt compressed data", cms.AES128GCM, mimeEntity(zCT, z), 1, 0, DecryptionFailed},
		{"signature of someone else", cms.AES256CBC, forgedEntity, 1, 0, AuthenticationFailed},
		{"signature of someone else, padding altered", cms.AES256CBC, forgedEntity, 17, byte(16 - len(forgedEntity)%16), DecryptionFailed},
		{"signature of someone else, tag altered", cms.AES128GCM, forgedEntity, 1, 1, DecryptionFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ct, body := encryptFor(t, ids, tt.cipher, tt.content)
			body[len(body)-tt.at] ^= tt.xor
			msg, err := parseWith(t, ids, withContentType(signedReq, ct), body)
			if err == nil {
				msg.Close()
				t.Fatalf("accepted, layers %+v", msg.Layers)
			}
			if FailureOf(err) != tt.want || !IsMessageError(err) {
				t.Fatalf("error %v (%s, message error %v), want %s", err, FailureOf(err), IsMessageError(err), tt.want)
			}
		})
	}
}

// TestMessagePartsLimit: mime.Limits.MaxParts bounds each multipart entity
// alone, and nesting multiplies it; the message as a whole holds at most
// maxMessageParts MIME parts, however nested.
func TestMessagePartsLimit(t *testing.T) {
	ids := identities(t)
	req := variant{files: 1}.build(t, ids, [][]byte{[]byte("x")})
	nested := func(perInner int) []byte {
		leaves := make([][]byte, perInner)
		for i := range leaves {
			leaves[i] = mimeEntity("text/plain", []byte("x"))
		}
		inner := mimeEntity(`multipart/mixed; boundary="in"`, multipartBody("in", leaves...))
		return multipartBody("out", inner, inner)
	}
	// The two inner entities are parts too: 2 + 2*499 = maxMessageParts.
	msg, err := parseWith(t, ids, withContentType(req, `multipart/mixed; boundary="out"`), nested(maxMessageParts/2-1))
	if err != nil {
		t.Fatalf("%d parts refused: %v", maxMessageParts, err)
	}
	msg.Close()
	_, err = parseWith(t, ids, withContentType(req, `multipart/mixed; boundary="out"`), nested(maxMessageParts/2))
	if !errors.Is(err, mime.ErrTooManyParts) || FailureOf(err) != UnexpectedProcessingError {
		t.Fatalf("error %v (%s), want too many parts", err, FailureOf(err))
	}
}

// TestDecodeHeaderText: a decoded header text (a Subject) is stored and
// shown: it must be valid UTF-8 without control characters, and at most
// maxHeaderText bytes cut on a rune boundary, whatever was encoded.
func TestDecodeHeaderText(t *testing.T) {
	b64 := func(s string) string { return "=?utf-8?b?" + base64.StdEncoding.EncodeToString([]byte(s)) + "?=" }
	long := strings.Repeat("ü", maxHeaderText) // two bytes a rune
	tests := []struct{ in, want string }{
		{"Invoice 42", "Invoice 42"},
		{"=?utf-8?q?Invoice_=C3=BC?=", "Invoice ü"},
		{"=?iso-8859-1?q?caf=E9?=", "café"},
		{"=?utf-8?q?a=00b?=", "a\uFFFDb"},
		{b64("a\a\x1b\x7fb\tc\r\nd"), "a\uFFFD\uFFFD\uFFFDb\uFFFDc\uFFFD\uFFFDd"},
		{"=?utf-8?q?bad=FFbyte?=", "bad\uFFFDbyte"},
		{"raw \xfe 8-bit", "raw \uFFFD 8-bit"},
		{long, long[:maxHeaderText]},
		{"a" + long, "a" + long[:maxHeaderText-2]},
		{b64("a" + long), "a" + long[:maxHeaderText-2]},
	}
	for _, tt := range tests {
		got := DecodeHeaderText(tt.in)
		if got != tt.want || !utf8.ValidString(got) || len(got) > maxHeaderText {
			t.Errorf("DecodeHeaderText(%.60q) = %.60q (%d bytes), want %.60q", tt.in, got, len(got), tt.want)
		}
	}
}
