// Package client is the Go client of the as2gate REST API, and its types
// are the API's JSON representation. The as2gate CLI prints the same
// types, whether it works on a local installation or a remote server.
package client

import (
	"io"
	"time"
)

// Certificate is a certificate as the API shows it (never a private key).
type Certificate struct {
	ID            string    `json:"id"`
	Name          string    `json:"name"`
	Subject       string    `json:"subject"`
	Issuer        string    `json:"issuer"`
	Serial        string    `json:"serial"`
	Fingerprint   string    `json:"fingerprint_sha256"`
	NotBefore     time.Time `json:"not_before"`
	NotAfter      time.Time `json:"not_after"`
	Expired       bool      `json:"expired"`
	DaysLeft      int       `json:"days_left"`
	HasPrivateKey bool      `json:"has_private_key"`
	CreatedAt     time.Time `json:"created_at"`
}

// CertificateImport adds a certificate from a file: PEM, DER or PKCS#12,
// with its private key for a station's own certificate.
type CertificateImport struct {
	Name     string `json:"name,omitempty"`
	Data     []byte `json:"data"` // base64 in JSON
	Password string `json:"password,omitempty"`
}

// CertificateGenerate makes a self-signed key pair for a station.
type CertificateGenerate struct {
	Name               string `json:"name,omitempty"`
	CommonName         string `json:"common_name"`
	Organization       string `json:"organization,omitempty"`
	OrganizationalUnit string `json:"organizational_unit,omitempty"`
	Locality           string `json:"locality,omitempty"`
	Province           string `json:"province,omitempty"`
	Country            string `json:"country,omitempty"`
	KeyBits            int    `json:"key_bits,omitempty"`    // 2048 (default), 3072 or 4096
	ValidYears         int    `json:"valid_years,omitempty"` // 1 to 30; default 3
}

// Station is one of our AS2 identities.
type Station struct {
	ID          string    `json:"id"`
	AS2ID       string    `json:"as2_id"`
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	Email       string    `json:"email,omitempty"`
	CertID      string    `json:"cert_id"`
	NextCertID  string    `json:"next_cert_id,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// StationInput creates or changes a station: fields left nil are not
// changed (or take their default). To create a station without a
// certificate, give Generate and a key pair is made for it.
type StationInput struct {
	AS2ID       *string              `json:"as2_id,omitempty"`
	Name        *string              `json:"name,omitempty"`
	Description *string              `json:"description,omitempty"`
	Email       *string              `json:"email,omitempty"`
	CertID      *string              `json:"cert_id,omitempty"`
	NextCertID  *string              `json:"next_cert_id,omitempty"` // "" ends a rollover without promoting
	Generate    *CertificateGenerate `json:"generate,omitempty"`
}

// Header is a custom HTTP header sent to a partner.
type Header struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Partner is a trading partner and how messages are exchanged with it.
type Partner struct {
	ID                string    `json:"id"`
	AS2ID             string    `json:"as2_id"`
	Name              string    `json:"name"`
	Description       string    `json:"description,omitempty"`
	URL               string    `json:"url"`
	EncryptCertID     string    `json:"encrypt_cert_id,omitempty"`
	SignCertID        string    `json:"sign_cert_id,omitempty"`
	NextCertID        string    `json:"next_cert_id,omitempty"`
	TLSCertID         string    `json:"tls_cert_id,omitempty"`
	Sign              string    `json:"sign"` // "" = not signed
	SignPSS           bool      `json:"sign_pss"`
	Encrypt           string    `json:"encrypt"` // "" = not encrypted
	KeyTransport      string    `json:"key_transport,omitempty"`
	Compress          string    `json:"compress"`
	MDN               string    `json:"mdn"`
	MDNSigned         bool      `json:"mdn_signed"`
	MICAlg            string    `json:"mic_alg"`
	Subject           string    `json:"subject"`
	ContentType       string    `json:"content_type,omitempty"`
	TimeoutSeconds    int       `json:"timeout_seconds"`
	Retries           int       `json:"retries"`
	RetryDelaySeconds int       `json:"retry_delay_seconds"`
	MDNTimeoutSeconds int       `json:"mdn_timeout_seconds"`
	Headers           []Header  `json:"headers,omitempty"`
	Chunked           bool      `json:"chunked"`
	Base64            bool      `json:"base64"`
	RequireSigned     bool      `json:"require_signed"`
	RequireEncrypted  bool      `json:"require_encrypted"`
	CreatedAt         time.Time `json:"created_at"`
	UpdatedAt         time.Time `json:"updated_at"`
}

// PartnerInput creates or changes a partner: fields left nil are not
// changed (or take their default).
type PartnerInput struct {
	AS2ID             *string   `json:"as2_id,omitempty"`
	Name              *string   `json:"name,omitempty"`
	Description       *string   `json:"description,omitempty"`
	URL               *string   `json:"url,omitempty"`
	EncryptCertID     *string   `json:"encrypt_cert_id,omitempty"`
	SignCertID        *string   `json:"sign_cert_id,omitempty"`
	NextCertID        *string   `json:"next_cert_id,omitempty"`
	TLSCertID         *string   `json:"tls_cert_id,omitempty"`
	Sign              *string   `json:"sign,omitempty"`
	SignPSS           *bool     `json:"sign_pss,omitempty"`
	Encrypt           *string   `json:"encrypt,omitempty"`
	KeyTransport      *string   `json:"key_transport,omitempty"`
	Compress          *string   `json:"compress,omitempty"`
	MDN               *string   `json:"mdn,omitempty"`
	MDNSigned         *bool     `json:"mdn_signed,omitempty"`
	MICAlg            *string   `json:"mic_alg,omitempty"`
	Subject           *string   `json:"subject,omitempty"`
	ContentType       *string   `json:"content_type,omitempty"`
	TimeoutSeconds    *int      `json:"timeout_seconds,omitempty"`
	Retries           *int      `json:"retries,omitempty"`
	RetryDelaySeconds *int      `json:"retry_delay_seconds,omitempty"`
	MDNTimeoutSeconds *int      `json:"mdn_timeout_seconds,omitempty"`
	Headers           *[]Header `json:"headers,omitempty"`
	Chunked           *bool     `json:"chunked,omitempty"`
	Base64            *bool     `json:"base64,omitempty"`
	RequireSigned     *bool     `json:"require_signed,omitempty"`
	RequireEncrypted  *bool     `json:"require_encrypted,omitempty"`
}

// File is one payload file of a message.
type File struct {
	Index       int    `json:"index"`
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
}

// Message is an AS2 message sent (out) or received (in).
type Message struct {
	ID             string    `json:"id"`
	Direction      string    `json:"direction"` // in or out
	StationID      string    `json:"station_id,omitempty"`
	PartnerID      string    `json:"partner_id,omitempty"`
	StationAS2ID   string    `json:"station_as2_id"`
	PartnerAS2ID   string    `json:"partner_as2_id"`
	MessageID      string    `json:"message_id"` // the AS2 Message-ID
	Subject        string    `json:"subject"`
	Status         string    `json:"status"`
	Reason         string    `json:"reason,omitempty"`
	Attempts       int       `json:"attempts"`
	Signed         bool      `json:"signed"`
	Encrypted      bool      `json:"encrypted"`
	Compressed     bool      `json:"compressed"`
	Algorithms     string    `json:"algorithms,omitempty"`
	MIC            string    `json:"mic,omitempty"`
	MDNMode        string    `json:"mdn_mode"`
	MDNMessageID   string    `json:"mdn_message_id,omitempty"`
	MDNDisposition string    `json:"mdn_disposition,omitempty"`
	MDNStatus      string    `json:"mdn_status,omitempty"`
	MICMatched     *bool     `json:"mic_matched,omitempty"`
	Size           int64     `json:"size"`
	Files          []File    `json:"files"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
	CompletedAt    time.Time `json:"completed_at,omitzero"`
}

// MessageFilter selects messages. Lists are newest first; Cursor is the
// NextCursor of the previous page.
type MessageFilter struct {
	Direction string    `json:"direction,omitempty"`
	Station   string    `json:"station,omitempty"` // AS2 ID or record ID
	Partner   string    `json:"partner,omitempty"`
	Status    []string  `json:"status,omitempty"`
	MessageID string    `json:"message_id,omitempty"`
	Subject   string    `json:"subject,omitempty"`
	Since     time.Time `json:"since,omitzero"`
	Until     time.Time `json:"until,omitzero"`
	// Read selects inbound messages the API has (true) or has not (false)
	// marked read; nil for all.
	Read   *bool  `json:"read,omitempty"`
	Cursor string `json:"cursor,omitempty"`
	Limit  int    `json:"limit,omitempty"`
}

// SendFile is one file to send; Content is streamed.
type SendFile struct {
	Name        string
	ContentType string // detected when empty
	Content     io.Reader
}

// SendRequest asks for a message to be sent.
type SendRequest struct {
	Station string // AS2 ID or record ID
	Partner string
	Subject string
	Files   []SendFile
}

// List is one page of a list; NextCursor, when set, asks for the next one.
type List[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// MessageDetail is a message with what only a single message shows: its
// transport headers as received or sent, and whether the API has read it.
type MessageDetail struct {
	Message
	Headers map[string][]string `json:"headers,omitempty"`
	Read    bool                `json:"read"`
}

// MDN is a receipt as the API shows it, parsed from the stored raw MDN.
type MDN struct {
	MessageID         string `json:"message_id"`
	OriginalMessageID string `json:"original_message_id"`
	Disposition       string `json:"disposition"`
	Processed         bool   `json:"processed"` // processed, possibly with a warning
	MIC               string `json:"mic,omitempty"`
	MICMatched        *bool  `json:"mic_matched,omitempty"`
	Signed            bool   `json:"signed"`
	Signer            string `json:"signer,omitempty"`
	ReportingUA       string `json:"reporting_ua,omitempty"`
	Text              string `json:"text,omitempty"`
	Direction         string `json:"direction"` // "in": an MDN we received; "out": one we sent
}

// TokenRequest logs in with a user's name and password.
type TokenRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// RefreshRequest exchanges a refresh token for new tokens.
type RefreshRequest struct {
	RefreshToken string `json:"refresh_token"`
}

// Tokens are the answer to a login or a refresh: a short-lived access
// token and a refresh token, both sent as "Authorization: Bearer ...".
type Tokens struct {
	AccessToken      string `json:"access_token"`
	TokenType        string `json:"token_type"` // Bearer
	ExpiresIn        int    `json:"expires_in"` // seconds
	RefreshToken     string `json:"refresh_token"`
	RefreshExpiresIn int    `json:"refresh_expires_in"`
	Role             string `json:"role"`
}

// Principal is who a request acts as.
type Principal struct {
	Kind     string `json:"kind"` // user or api_key
	ID       string `json:"id"`
	Name     string `json:"name"` // username or key name
	Role     string `json:"role"`
	Username string `json:"username,omitempty"`
}

// User is a person allowed on the admin side (never with its password).
type User struct {
	ID        string    `json:"id"`
	Username  string    `json:"username"`
	Role      string    `json:"role"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// UserInput creates or changes a user.
type UserInput struct {
	Username *string `json:"username,omitempty"`
	Password *string `json:"password,omitempty"`
	Role     *string `json:"role,omitempty"`
}

// APIKey is a machine's credential. Secret is only set in the answer to
// its creation: it is stored as a hash and shown once.
type APIKey struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Role       string    `json:"role"`
	Prefix     string    `json:"prefix"` // the first characters, to recognise it
	Secret     string    `json:"secret,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
	RevokedAt  time.Time `json:"revoked_at,omitzero"`
	CreatedBy  string    `json:"created_by,omitempty"`
}

// APIKeyInput creates an API key.
type APIKeyInput struct {
	Name string `json:"name"`
	Role string `json:"role"`
}

// AuditEntry records a change: who, what, when, from where.
type AuditEntry struct {
	ID     string    `json:"id"`
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`  // a username, "api_key:<name>", "cli", "system" or "(unknown)" (a login as no user)
	Action string    `json:"action"` // e.g. partner.update
	Target string    `json:"target"` // the record changed
	Remote string    `json:"remote"` // client address, "" from the CLI
	Result string    `json:"result"` // ok, or the error code
	Detail string    `json:"detail,omitempty"`
}

// AuditFilter selects audit entries (newest first).
type AuditFilter struct {
	Actor  string    `json:"actor,omitempty"`
	Action string    `json:"action,omitempty"`
	Since  time.Time `json:"since,omitzero"`
	Until  time.Time `json:"until,omitzero"`
	Cursor string    `json:"cursor,omitempty"`
	Limit  int       `json:"limit,omitempty"`
}

// DeleteRequest deletes several messages at once (at most 100).
type DeleteRequest struct {
	IDs []string `json:"ids"`
}

// DeleteResult lists what a bulk delete removed and what it could not.
type DeleteResult struct {
	Deleted []string          `json:"deleted"`
	Failed  map[string]string `json:"failed,omitempty"` // id -> reason
}

// Error is the body of every API error.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// ErrorBody wraps Error as the API sends it: {"error": {...}}.
type ErrorBody struct {
	Error Error `json:"error"`
}

// SendAccepted is the answer to a send: 202 with a Location header.
type SendAccepted struct {
	ID        string `json:"id"`
	MessageID string `json:"message_id"`
	Status    string `json:"status"`
}
