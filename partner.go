package as2gate

import (
	"crypto"
	"net/url"
	"strings"
	"time"

	"github.com/as2gate/as2gate/internal/as2"
	"github.com/as2gate/as2gate/internal/cms"
)

// MDN modes a partner can be asked for.
const (
	MDNNone  = "none"
	MDNSync  = "sync"
	MDNAsync = "async"
)

// Header is a custom HTTP header sent to a partner.
type Header struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Partner is a trading partner and how we exchange messages with it.
type Partner struct {
	ID          string
	AS2ID       string
	Name        string
	Description string
	URL         string // where its AS2 server receives

	// EncryptCertID is the partner's certificate we encrypt to;
	// SignCertID the one its signatures are checked with (the encryption
	// certificate when empty); NextCertID a newer certificate accepted too
	// during a rollover; TLSCertID a certificate (or CA) trusted for its
	// HTTPS URL in addition to the system roots.
	EncryptCertID string
	SignCertID    string
	NextCertID    string
	TLSCertID     string

	Sign         string // digest we sign with: sha256 ...; "" = unsigned
	SignPSS      bool   // RSASSA-PSS instead of PKCS#1 v1.5
	Encrypt      string // cipher we encrypt with: aes256-cbc ...; "" = unencrypted
	KeyTransport string // "" (PKCS#1 v1.5) or oaep-sha1, oaep-sha256, oaep-sha512
	Compress     string // none, before, after

	MDN       string // none, sync, async
	MDNSigned bool
	MICAlg    string // the MIC algorithm asked for in a signed MDN: sha-256 ...

	Subject     string // default subject
	ContentType string // default content type ("" = from the file)
	Timeout     time.Duration
	// Retries is how many times a failed send is retried, RetryDelay the
	// first delay (doubled each time, capped at an hour).
	Retries    int
	RetryDelay time.Duration
	// MDNTimeout is how long an asynchronous MDN is awaited.
	MDNTimeout time.Duration
	Headers    []Header
	Chunked    bool // send with Transfer-Encoding: chunked instead of Content-Length
	Base64     bool // base64 bodies, for partners that mangle binary

	// What we require of the partner's messages.
	RequireSigned    bool
	RequireEncrypted bool

	CreatedAt time.Time
	UpdatedAt time.Time
}

// Defaults fills in what a new partner leaves empty.
func (p *Partner) Defaults() {
	if p.Name == "" {
		p.Name = p.AS2ID
	}
	if p.Compress == "" {
		p.Compress = "none"
	}
	if p.MDN == "" {
		p.MDN = MDNSync
	}
	if p.MICAlg == "" {
		p.MICAlg = "sha-256"
		if p.Sign != "" {
			if h, err := cms.ParseDigest(p.Sign); err == nil {
				p.MICAlg = as2.MICAlgName(h)
			}
		}
	}
	if p.Subject == "" {
		p.Subject = "AS2 message"
	}
	if p.Timeout == 0 {
		p.Timeout = 120 * time.Second
	}
	if p.RetryDelay == 0 {
		p.RetryDelay = 30 * time.Second
	}
	if p.MDNTimeout == 0 {
		p.MDNTimeout = 6 * time.Hour
	}
}

// Validate checks the fields a user sets.
func (p *Partner) Validate() error {
	if err := checkAS2ID(p.AS2ID); err != nil {
		return err
	}
	if len(p.Name) > 200 || len(p.Description) > 2000 {
		return Invalid("name", "too long")
	}
	u, err := url.Parse(p.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Invalid("url", "%q is not an http or https URL", p.URL)
	}
	if p.Sign != "" {
		h, err := cms.ParseDigest(p.Sign)
		if err != nil || !containsDigest(cms.SigningDigests, h) {
			return Invalid("sign", "unknown or unsupported digest %q", p.Sign)
		}
	}
	if p.Encrypt != "" {
		c, err := cms.ParseCipher(p.Encrypt)
		if err != nil || !c.CanEncrypt() {
			return Invalid("encrypt", "unknown or receive-only cipher %q", p.Encrypt)
		}
		if p.EncryptCertID == "" {
			return Invalid("encrypt_cert_id", "encryption needs the partner's certificate")
		}
	}
	if _, err := cms.ParseKeyTransport(p.KeyTransport); err != nil {
		return Invalid("key_transport", "unknown key transport %q", p.KeyTransport)
	}
	if _, err := as2.ParseCompressMode(p.Compress); err != nil {
		return Invalid("compress", "want none, before or after")
	}
	switch p.MDN {
	case MDNNone, MDNSync, MDNAsync:
	default:
		return Invalid("mdn", "want none, sync or async")
	}
	if _, err := cms.ParseDigest(p.MICAlg); err != nil {
		return Invalid("mic_alg", "unknown digest %q", p.MICAlg)
	}
	if len(p.Subject) > 998 || strings.ContainsAny(p.Subject, "\r\n") {
		return Invalid("subject", "must be one line")
	}
	if p.Timeout < time.Second || p.Timeout > time.Hour {
		return Invalid("timeout", "between 1 s and 1 h")
	}
	if p.Retries < 0 || p.Retries > 100 {
		return Invalid("retries", "between 0 and 100")
	}
	if p.RetryDelay < time.Second || p.RetryDelay > 24*time.Hour {
		return Invalid("retry_delay", "between 1 s and 24 h")
	}
	if p.MDNTimeout < time.Minute || p.MDNTimeout > 30*24*time.Hour {
		return Invalid("mdn_timeout", "between 1 min and 30 days")
	}
	for _, h := range p.Headers {
		if !validHeaderName(h.Name) || strings.ContainsAny(h.Value, "\r\n\x00") {
			return Invalid("headers", "bad custom header %q", h.Name)
		}
		if as2.IsReservedHeader(h.Name) {
			return Invalid("headers", "%q is an AS2 header and cannot be overridden", h.Name)
		}
	}
	return nil
}

func containsDigest(list []crypto.Hash, h crypto.Hash) bool {
	for _, x := range list {
		if x == h {
			return true
		}
	}
	return false
}

func validHeaderName(n string) bool {
	if n == "" || len(n) > 100 {
		return false
	}
	for _, c := range n {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// VerifyCertIDs are the certificates a partner's signatures may use: its
// signing certificate (its encryption certificate when it has no separate
// one) and, during a rollover, the next one.
func (p *Partner) VerifyCertIDs() []string {
	current := p.SignCertID
	if current == "" {
		current = p.EncryptCertID
	}
	var ids []string
	for _, id := range []string{current, p.NextCertID} {
		if id != "" && (len(ids) == 0 || ids[0] != id) {
			ids = append(ids, id)
		}
	}
	return ids
}
