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
	Cursor    string    `json:"cursor,omitempty"`
	Limit     int       `json:"limit,omitempty"`
}

// MessageList is one page of messages.
type MessageList struct {
	Messages   []Message `json:"messages"`
	NextCursor string    `json:"next_cursor,omitempty"`
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
