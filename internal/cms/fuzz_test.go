package cms

// Fuzz targets for everything that reads CMS from a partner. The seeds are
// structures we make plus some OpenSSL and Bouncy Castle made (kept as hex
// below, so that fuzzing needs no peer). The fixed identity is shared by
// all fuzz worker processes: a key generated per process would make every
// input from another worker "not for us" and stop the fuzzer at the
// recipient check.

import (
	"bytes"
	"compress/zlib"
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/as2gate/as2gate/internal/ber"
)

// fuzzContent is what the hex seeds sign or encrypt.
var fuzzContent = []byte("fuzz content\r\n")

// errorKinds are the errors a reader may return for hostile input.
var errorKinds = []error{
	ErrMalformed, ErrUnsupportedAlgorithm, ErrNoRecipient, ErrDecrypt, ErrUnknownSigner,
	ErrSignature, ErrDigestMismatch, ErrDigestNotComputed, ErrDecompress, ErrTooLarge, ber.ErrMalformed,
}

func checkErrorKind(t *testing.T, err error) {
	t.Helper()
	for _, kind := range errorKinds {
		if errors.Is(err, kind) {
			return
		}
	}
	t.Fatalf("error of no known kind: %v", err)
}

// fuzzIdentity is a fixed 1024-bit test key (small, for speed) and its
// self-signed certificate "CN=as2gate fuzz", made with
//
//	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out fuzz.key
//	openssl req -x509 -key fuzz.key -sha256 -days 36500 -subj "/CN=as2gate fuzz" -set_serial 1 -out fuzz.crt
func fuzzIdentity(f *testing.F) (*rsa.PrivateKey, *x509.Certificate) {
	f.Helper()
	// "TESTING KEY" keeps secret scanners quiet about a key that is public on purpose.
	kb, _ := pem.Decode([]byte(strings.ReplaceAll(fuzzKeyPEM, "TESTING KEY", "PRIVATE KEY")))
	cb, _ := pem.Decode([]byte(fuzzCertPEM))
	if kb == nil || cb == nil {
		f.Fatal("bad fuzz identity PEM")
	}
	key, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		f.Fatal(err)
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		f.Fatal(err)
	}
	return key.(*rsa.PrivateKey), cert
}

func unhexSeed(f *testing.F, s string) []byte {
	f.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		f.Fatal(err)
	}
	return b
}

func FuzzParseSignedData(f *testing.F) {
	key, cert := fuzzIdentity(f)
	for i, h := range SigningDigests {
		s := &Signer{Key: key, Cert: cert, Digest: h, AlgorithmProtection: i%2 == 0}
		sig, err := s.Sign(digestOf(h, fuzzContent)[h])
		if err != nil {
			f.Fatal(err)
		}
		f.Add(sig, fuzzContent)
	}
	s := &Signer{Key: key, Cert: cert, Digest: crypto.SHA256, Scheme: PSS, AlgorithmProtection: true}
	sig, err := s.Sign(digestOf(crypto.SHA256, fuzzContent)[crypto.SHA256])
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sig, fuzzContent)
	for _, seed := range []string{opensslPSSNoCerts, opensslSHA1NoAttrBER} {
		sig := unhexSeed(f, seed)
		if _, err := goVerify(sig, fuzzContent, cert); err != nil {
			f.Fatalf("OpenSSL seed does not verify: %v", err)
		}
		f.Add(sig, fuzzContent)
	}

	f.Fuzz(func(t *testing.T, sig, content []byte) {
		sd, err := ParseSignedData(sig)
		if err != nil {
			checkErrorKind(t, err)
			return
		}
		// With the embedded certificates, then with ours as the partner's.
		for _, trusted := range [][]*x509.Certificate{nil, {cert}} {
			if _, err := verifyParsed(sd, content, trusted...); err != nil {
				checkErrorKind(t, err)
			}
		}
	})
}

func FuzzDecrypt(f *testing.F) {
	key, cert := fuzzIdentity(f)
	for c := TripleDESCBC; c <= AES256GCM; c++ {
		for _, kt := range []KeyTransport{{}, {OAEP: true, Hash: crypto.SHA256}} {
			var out bytes.Buffer
			w, err := NewEncrypter(&out, int64(len(fuzzContent)), EncryptOptions{Cipher: c, KeyTransport: kt, Recipients: []*x509.Certificate{cert}})
			if err != nil {
				f.Fatal(err)
			}
			w.Write(fuzzContent)
			if err := w.Close(); err != nil {
				f.Fatal(err)
			}
			f.Add(out.Bytes())
		}
	}
	recipients := []Recipient{{Cert: cert, Key: key}}
	for _, seed := range []string{opensslAES128OAEPBER, opensslRC240, opensslDES} {
		enc := unhexSeed(f, seed)
		got, _, err := decrypt(bytes.NewReader(enc), recipients)
		if err != nil || !bytes.Equal(got, fuzzContent) {
			f.Fatalf("OpenSSL seed does not decrypt: %q, %v", got, err)
		}
		f.Add(enc)
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ReadContentInfo(bytes.NewReader(data))
		if err != nil {
			checkErrorKind(t, err)
			return
		}
		plain, _, err := c.Decrypt(recipients)
		if err != nil {
			checkErrorKind(t, err)
			return
		}
		// The plaintext is never longer than the input that carries it.
		n, err := io.Copy(io.Discard, io.LimitReader(plain, int64(len(data))+1))
		if n > int64(len(data)) {
			t.Fatalf("%d bytes of plaintext from %d bytes of input", n, len(data))
		}
		if err != nil {
			checkErrorKind(t, err)
		}
	})
}

func FuzzDecompress(f *testing.F) {
	for _, content := range [][]byte{nil, fuzzContent, bytes.Repeat([]byte("ORDERS'"), 500)} {
		var z bytes.Buffer
		zw := zlib.NewWriter(&z)
		zw.Write(content)
		zw.Close()
		f.Add(append(CompressedPrefix(int64(z.Len())), z.Bytes()...))
	}
	bc := unhexSeed(f, bouncyCastleCompressedBER)
	if got, err := decompress(bc, 0); err != nil || !bytes.Equal(got, bcCompressedContent) {
		f.Fatalf("Bouncy Castle seed does not decompress: %q, %v", got, err)
	}
	f.Add(bc)

	const limit = 64 << 10
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ReadContentInfo(bytes.NewReader(data))
		if err != nil {
			checkErrorKind(t, err)
			return
		}
		r, err := c.Decompress(limit)
		if err != nil {
			checkErrorKind(t, err)
			return
		}
		n, err := io.Copy(io.Discard, io.LimitReader(r, limit+1))
		if n > limit {
			t.Fatalf("decompressed %d bytes past the limit of %d", n, limit)
		}
		if err != nil {
			checkErrorKind(t, err)
		}
	})
}

const fuzzKeyPEM = `-----BEGIN TESTING KEY-----
MIICdQIBADANBgkqhkiG9w0BAQEFAASCAl8wggJbAgEAAoGBAMi+5zAWdLahxihg
6176jrTCWh+dqCUeRgZmABUZfglMYutTEdWEDly84NzbtW2sgdeOPLKgBWOEom+d
hKDlvhaPMy+B9z8/19Uwv4ziXV7Zjnlb96s81KRWQ1w16W4UoGnkbzsORTYnAG0l
IDayxPtalw1R1GYYwSfe8DX2eeIdAgMBAAECgYAYLU3Ar+Osnz0zXcDbNof7YzDh
f+ZhWg0K9jvqTqCsVAPR3bZXJclpB+J5Fwj5xX35zQqoZLdhbfb2RF1V13WWIVc6
7HWWoKVRKlK2Y+YbHn0rrWwjCMuPzlVKR57g0794AK0P1/wUltnJspBeRfWn3rah
AnjQ9GF5q7qkPHFBbQJBAOi46pjn9EOgGeaQEJ3h1q3FG+dDCUT8fdY90ngP0kN2
aTyc7Sua1WH2Z/eYT4Ba94L0HnEQAoEDFyhy/Udg58MCQQDc0zGv7V1FMg/S7ixM
YVt1PWAYoc5nl4XTkWe4sBx+exAOkddnOZZJphLrGrQq/TSDdF3+MLQ/zOsVQCZS
31CfAkAUG/5xjgGGYmw6hxJYgi5Jv7GEjz9azbKV86ufIkbZ+35mdWztCqkLmP4s
3+VmwvWGRE/pFygQO9MhdKY8J7x/AkBR2CzYSZ+CH/XhdckRXhwprd/KAV6g4nYF
XiUVPKCy+CWRYNh3N87N6TGl1bXlIQevmRelOKP16ZtPuwD5Qi99AkAxfJGCd0TZ
5smbsei3BVc7K1rkT2Zcce8TMGT7XuymPJFQ4kzA5K9c/K3dIUHG1PsnO1sNgKiA
EWvg7MwcQsMO
-----END TESTING KEY-----`

const fuzzCertPEM = `-----BEGIN CERTIFICATE-----
MIIB+TCCAWKgAwIBAgIBATANBgkqhkiG9w0BAQsFADAXMRUwEwYDVQQDDAxhczJn
YXRlIGZ1enowIBcNMjYxMTI2MTg1OTA0WhgPMjEyNjExMDIxODU5MDRaMBcxFTAT
BgNVBAMMDGFzMmdhdGUgZnV6ejCBnzANBgkqhkiG9w0BAQEFAAOBjQAwgYkCgYEA
yL7nMBZ0tqHGKGDrXvqOtMJaH52oJR5GBmYAFRl+CUxi61MR1YQOXLzg3Nu1bayB
1448sqAFY4Sib52EoOW+Fo8zL4H3Pz/X1TC/jOJdXtmOeVv3qzzUpFZDXDXpbhSg
aeRvOw5FNicAbSUgNrLE+1qXDVHUZhjBJ97wNfZ54h0CAwEAAaNTMFEwHQYDVR0O
BBYEFD3+Lxe8lo0At6QdLSR0RX6bNnSOMB8GA1UdIwQYMBaAFD3+Lxe8lo0At6Qd
LSR0RX6bNnSOMA8GA1UdEwEB/wQFMAMBAf8wDQYJKoZIhvcNAQELBQADgYEANBi6
+CGIxI+4Xzwu/ph5mEC1FHG8Xl22WqsmoBxXvkhA7+M41lb/qqJIJidokqTreBJr
zaR0cZ5b/MgQ00rIHm7qIHz/YGPcQ9uw7X79ZNLMJZUlvcv8XWFz5MRRyvrWPpMD
V4gx6lKNqlOT5hyWO+qHdTUL+K6ULfkX6BOz9KY=
-----END CERTIFICATE-----`

// Seeds made by OpenSSL 3.0 from fuzzContent with the fuzz identity.

// openssl cms -sign -binary -md sha256 -nocerts -keyopt rsa_padding_mode:pss -keyopt rsa_pss_saltlen:32 -outform DER
const opensslPSSNoCerts = `
3082021506092a864886f70d010702a082020630820202020101310d300b0609608648016503040201300b06092a8648
86f70d010701318201df308201db020101301c30173115301306035504030c0c617332676174652066757a7a02010130
0b0609608648016503040201a081e4301806092a864886f70d010903310b06092a864886f70d010701301c06092a8648
86f70d010905310f170d3236313132363138353933315a302f06092a864886f70d01090431220420fd6c5a57b6710539
df12a0cc08a8f4b78e5f23cdb1d0337f120a55d94c74448c307906092a864886f70d01090f316c306a300b0609608648
01650304012a300b0609608648016503040116300b0609608648016503040102300a06082a864886f70d0307300e0608
2a864886f70d030202020080300d06082a864886f70d0302020140300706052b0e030207300d06082a864886f70d0302
020128304106092a864886f70d01010a3034a00f300d06096086480165030402010500a11c301a06092a864886f70d01
0108300d06096086480165030402010500a203020120048180af0b63d65e721a431da26fab39ca6a7be1ea889940755f
8a2a43e4656d745b05202e8221b8adbe7c52aaa9d0f9ecf58179722c77a235d0414bdec6a0f63b8b9163b84c00be66af
40139c049cd7c387eceadaaca7d2a9960917cd365a90765c8577cdf1b631a743bfb661a01bf4530e23b5ea7b0af24bd0
d8e5d8cdfcacd24138`

// openssl cms -sign -binary -md sha1 -noattr -nocerts -stream -outform DER
// (BER with indefinite lengths; -stream embeds the content as well)
const opensslSHA1NoAttrBER = `
308006092a864886f70d010702a08030800201013109300706052b0e03021a308006092a864886f70d010701a0802480
040e66757a7a20636f6e74656e740d0a0000000000003181bf3081bc020101301c30173115301306035504030c0c6173
32676174652066757a7a020101300706052b0e03021a300d06092a864886f70d01010105000481801dbc8a36751b2f6e
aa90201f505f46f787190c39a88b071c0a3f9f09b40d907f6886d9d7ebc15bbcd5f982d43251c1598c6a6ec9e6f27b8b
1014568149b70100162d39363e4f4013361c92d81f9cbb611e2bead99c214c23855f92c4cc703b89bd0db3ff5c21b286
35883fd35ede1f5903c31305fe3cae80bb17a2ab23fee1f6000000000000`

// openssl cms -encrypt -binary -aes-128-cbc -stream -outform DER -keyopt rsa_padding_mode:oaep
// -keyopt rsa_oaep_md:sha256 -keyopt rsa_mgf1_md:sha256
const opensslAES128OAEPBER = `
308006092a864886f70d010703a08030800201003181e13081de020100301c30173115301306035504030c0c61733267
6174652066757a7a020101303806092a864886f70d010107302ba00d300b0609608648016503040201a11a301806092a
864886f70d010108300b06096086480165030402010481806b4e9a6c69299cb6d79b04b6293a462cb9f8eac047d67a9b
877bcef4137a84b0fbf75efe64bf9fcc27a536dcac834584b64d045857fba50db3a9c1fad03fce424728cfbc25b696d1
f05e4eb9ced7c0ef53670eba4f99e9a371c8841f3f9f65967c902735f2bdc24ae5f855bb3cb8776e0e4030b430637e72
a356e6130652b0a6308006092a864886f70d010701301d0609608648016503040102041020846aaf0977458f1802c1c3
32698560a08004106708f8c000ff5539fb33f274de628b9d00000000000000000000`

// openssl cms -encrypt -provider legacy -provider default -rc2-40 -binary -outform DER
const opensslRC240 = `
3082010806092a864886f70d010703a081fa3081f70201003181b63081b3020100301c30173115301306035504030c0c
617332676174652066757a7a020101300d06092a864886f70d01010105000481806d75ee78094c73316cab4f7ecce3e5
825da144fc1b6da6de7994c400c31ac7da56521f58a7b3c92523b5403f462bf516f90a1c02f34bdf3b5c85d69b84bb0e
752067baa6b475e61d7a4c7f6bfa058d4844f75e7e82d31f247a64a2c3c927f28dbb5ff4de2e9a5dc7c64d6ff1023a5c
1d7a29071e6c2a7a2e467b0b4d49b57876303906092a864886f70d010701301a06082a864886f70d0302300e020200a0
0408e3dabaac266b2fbf80107dc1f2fc4da48400c9cef63b4943fba1`

// openssl cms -encrypt -provider legacy -provider default -des -binary -outform DER
const opensslDES = `
3081ff06092a864886f70d010703a081f13081ee0201003181b63081b3020100301c30173115301306035504030c0c61
7332676174652066757a7a020101300d06092a864886f70d0101010500048180a5a9d418a6d2097cf90ff5ad54f3c9c4
aa0f21da707950cc2a7c959662380cdf8a2d45ab81bc062abba90ebf006a8bd7d1d4b7fa8375468b2b0cdff5c018a693
26e70d70da96443bba46eac0446673e35fa604ac9eb533f188a4097f459499645aeb0e0de0d23540009d567960dbb672
20acf0dcf6b6fde48e0f62de5f38bc91303006092a864886f70d010701301106052b0e03020704082426d48f01ad722a
8010a3b259fc82f523958da464076a706f26`

// bouncyCastleCompressedBER is what `CmsPeer compress` (BC 1.72
// CMSCompressedDataGenerator with ZlibCompressor) makes of bcCompressedContent.
const bouncyCastleCompressedBER = `
3080060b2a864886f70d0109100109a0803080020100300d060b2a864886f70d0109100308308006092a864886f70d01
0701a0800431789c0bf573d20ef5f377b432d20e76f573710dd20e727576f50c03328ccc0c0c0d0cad0c8d0c0cb40dd5
79b900f4b10a0800000000000000000000`

var bcCompressedContent = []byte("UNB+UNOA:2+SENDER+RECEIVER+260101:1200+1'\r\n")
