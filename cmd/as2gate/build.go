package main

import (
	"bufio"
	"crypto"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/as2gate/as2gate/internal/as2"
	"github.com/as2gate/as2gate/internal/cms"
	"github.com/as2gate/as2gate/internal/mime"
)

const buildAbout = `Writes an AS2 request for the given files, as a capture (HTTP headers, an
empty line, the body) that 'as2gate inspect' reads and that can be posted by
hand. The MIC the partner's MDN should state is printed on stderr.

Algorithms: --sign sha1|sha224|sha256|sha384|sha512 (add -pss for RSASSA-PSS,
e.g. sha256-pss); --encrypt 3des|aes128-cbc|aes192-cbc|aes256-cbc|aes128-gcm|
aes256-gcm; --oaep sha1|sha256|sha512 for RSAES-OAEP key transport.`

func runBuild(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("build", "PAYLOAD...", buildAbout, stderr)
	from := fs.String("from", "", "our AS2 identifier (AS2-From)")
	to := fs.String("to", "", "the partner's AS2 identifier (AS2-To)")
	keyFiles := addKeyPairFlags(fs, "sign")
	signAlg := fs.String("sign", "", "sign with this digest (sha256, sha256-pss, ...)")
	partnerCert := fs.String("partner-cert", "", "the partner's certificate, to encrypt")
	encryptAlg := fs.String("encrypt", "", "encrypt with this cipher (aes256-cbc, aes128-gcm, 3des, ...)")
	oaep := fs.String("oaep", "", "use RSAES-OAEP key transport with this digest (sha1, sha256, sha512)")
	compress := fs.String("compress", "none", "compress before or after signing: none, before, after")
	mdnMode := fs.String("mdn", "sync", "ask for an MDN: none, sync or async")
	mdnURL := fs.String("mdn-url", "", "where the partner sends an async MDN (Receipt-Delivery-Option)")
	mdnSigned := fs.Bool("mdn-signed", false, "ask for a signed MDN")
	micAlg := fs.String("mic-alg", "sha-256", "the MIC algorithm to ask for in a signed MDN")
	subject := fs.String("subject", "AS2 message", "Subject")
	contentType := fs.String("content-type", "", "content type of the payload (by default from the file extension)")
	messageID := fs.String("message-id", "", "Message-ID (generated when empty)")
	base64Body := fs.Bool("base64", false, "send the body base64-encoded (for partners that cannot take binary)")
	out := fs.String("out", "", "write the request to this file instead of stdout")
	files, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(files) == 0 || *from == "" || *to == "" {
		fs.Usage()
		return errUsage
	}
	opts := as2.BuildOptions{From: *from, To: *to, Subject: *subject, MessageID: *messageID, Base64: *base64Body, TempDir: os.TempDir()}
	for _, f := range files {
		src, err := as2.FileSource(f)
		if err != nil {
			return err
		}
		ct := *contentType
		if ct == "" {
			head, err := readHead(f, 512)
			if err != nil {
				return err
			}
			ct = as2.DetectContentType(f, head)
		}
		opts.Attachments = append(opts.Attachments, as2.Attachment{Content: src, ContentType: ct, Filename: filepath.Base(f)})
	}
	if opts.Compress, err = as2.ParseCompressMode(*compress); err != nil {
		return err
	}
	if *signAlg != "" {
		key, cert, err := keyFiles.load()
		if err != nil {
			return err
		}
		if key == nil {
			return fmt.Errorf("--sign needs --key")
		}
		digest, scheme, err := parseSignAlg(*signAlg)
		if err != nil {
			return err
		}
		opts.Sign = &cms.Signer{Key: key, Cert: cert, Digest: digest, Scheme: scheme}
	}
	if *encryptAlg != "" {
		if *partnerCert == "" {
			return fmt.Errorf("--encrypt needs --partner-cert")
		}
		certs, err := loadCerts([]string{*partnerCert})
		if err != nil {
			return err
		}
		c, err := cms.ParseCipher(*encryptAlg)
		if err != nil {
			return err
		}
		if !c.CanEncrypt() {
			return fmt.Errorf("%v is accepted from legacy partners but never used to send", c)
		}
		kt, err := cms.ParseKeyTransport(oaepName(*oaep))
		if err != nil {
			return err
		}
		opts.Encrypt = &cms.EncryptOptions{Cipher: c, KeyTransport: kt, Recipients: certs[:1]}
	}
	switch *mdnMode {
	case "none":
	case "sync", "async":
		opts.MDN = as2.MDNRequest{To: "as2gate@" + sanitizeHost(*from), Signed: *mdnSigned, MICAlgs: []string{*micAlg}}
		if *mdnMode == "async" {
			if *mdnURL == "" {
				return fmt.Errorf("--mdn async needs --mdn-url")
			}
			opts.MDN.AsyncURL = *mdnURL
		}
	default:
		return fmt.Errorf("--mdn %q: want none, sync or async", *mdnMode)
	}
	if !opts.MDN.Signed {
		// The MIC algorithm to expect when none is asked for is the one
		// the receiver picks; SHA-256 is what we compute.
		opts.MDN.MICAlgs = nil
	}

	req, err := as2.Build(opts)
	if err != nil {
		return err
	}
	defer req.Close()
	w := stdout
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	req.Header.Set("Content-Length", fmt.Sprint(req.Body.Size()))
	if err := mime.WriteHeader(bw, req.Header); err != nil {
		return err
	}
	body, err := req.Body.Open()
	if err != nil {
		return err
	}
	defer body.Close()
	if _, err := io.Copy(bw, body); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	mic, err := req.MIC()
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "Message-ID: %s\nExpected MIC: %s\n", req.MessageID, mic)
	return nil
}

func oaepName(v string) string {
	if v == "" {
		return ""
	}
	return "oaep-" + v
}

// parseSignAlg reads sha256 or sha256-pss.
func parseSignAlg(v string) (crypto.Hash, cms.SignatureScheme, error) {
	scheme := cms.PKCS1v15
	name := strings.ToLower(v)
	if strings.HasSuffix(name, "-pss") {
		scheme, name = cms.PSS, strings.TrimSuffix(name, "-pss")
	}
	h, err := cms.ParseDigest(name)
	if err != nil {
		return 0, 0, err
	}
	if h == crypto.MD5 {
		return 0, 0, fmt.Errorf("MD5 is accepted from legacy partners but never used to sign")
	}
	return h, scheme, nil
}

func sanitizeHost(id string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-') {
			return r
		}
		return '-'
	}, id)
}

func readHead(path string, n int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	head := make([]byte, n)
	k, err := io.ReadFull(f, head)
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		err = nil
	}
	return head[:k], err
}
