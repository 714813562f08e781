package as2gate

import (
	"strings"
	"time"
)

// Direction of a message.
type Direction string

const (
	Inbound  Direction = "in"
	Outbound Direction = "out"
)

// Status of a message. Outbound: queued → sending → sent, or awaiting_mdn
// → sent / incomplete, or failed, mic_mismatch, canceled. Inbound:
// received, or rejected (an error MDN was returned).
type Status string

const (
	StatusQueued      Status = "queued"
	StatusSending     Status = "sending"
	StatusAwaitingMDN Status = "awaiting_mdn"
	StatusSent        Status = "sent"
	StatusIncomplete  Status = "incomplete"
	StatusFailed      Status = "failed"
	StatusMICMismatch Status = "mic_mismatch"
	StatusCanceled    Status = "canceled"
	StatusReceived    Status = "received"
	StatusRejected    Status = "rejected"
)

// Final reports whether no more work is scheduled for a message in this status.
func (s Status) Final() bool {
	switch s {
	case StatusQueued, StatusSending, StatusAwaitingMDN:
		return false
	}
	return true
}

// Message is an AS2 message sent or received, with its files and receipt.
type Message struct {
	ID           string
	Direction    Direction
	StationID    string
	PartnerID    string // empty for a message from an unknown partner
	StationAS2ID string
	PartnerAS2ID string
	MessageID    string // the AS2 Message-ID
	Subject      string
	Status       Status
	Reason       string // why it failed, in words
	Attempts     int
	// Security of the message as sent or received.
	Signed     bool
	Encrypted  bool
	Compressed bool
	Algorithms string // e.g. "sha256, aes256-cbc, rsa-pkcs1-v1_5"
	// MIC: outbound, what the MDN must state; inbound, what ours stated.
	MIC string
	// MDN: what was asked for (none, sync, async) and what came of it.
	MDNMode        string
	MDNURL         string // inbound async: where our MDN goes
	MDNSigned      bool   // the MDN asked for is signed
	MDNMessageID   string
	MDNDisposition string
	MDNStatus      string // outbound: verified, unverified...; inbound: sent, queued, failed
	MICMatched     *bool
	// Blob keys: the folder holding the files, the raw message as sent or
	// received (its HTTP headers, an empty line, its body: the form
	// `as2gate inspect` reads), the raw MDN (in the same form).
	Folder    string
	RawKey    string
	MDNKey    string
	Size      int64 // total payload size
	Files     []File
	CreatedAt time.Time
	UpdatedAt time.Time
	// CompletedAt: when it reached a final status.
	CompletedAt time.Time
	// ReadAt: when the API marked an inbound message read (zero: unread).
	// UpdateMessage leaves it alone; SetMessageRead sets it.
	ReadAt time.Time
	// Version counts updates, for optimistic locking.
	Version int
}

// File is one payload file of a message.
type File struct {
	Name        string
	ContentType string
	Size        int64
	Key         string // blob key
	SHA256      string
}

// MessageFilter selects messages to list.
type MessageFilter struct {
	Direction Direction
	StationID string
	PartnerID string
	Status    []Status
	MessageID string // AS2 Message-ID
	Subject   string // substring
	// Since and Until bound the time a message was made, [Since, Until),
	// as its ID tells it (see IDFloor): the record's creation, to the
	// millisecond, and in the order of lists even when the clock stepped back.
	Since time.Time
	Until time.Time
	Read  *bool // read (true) or unread (false) inbound messages; nil for all
	// After is the cursor: the ID of the last message of the previous
	// page (lists are newest first).
	After string
	Limit int
}

// IsCredentialHeader tells the HTTP headers that carry credentials (of a
// partner, of a proxy on the way, a session cookie). They belong to one
// HTTP exchange, not to the message: never kept with it, never shown.
func IsCredentialHeader(name string) bool {
	switch strings.ToLower(name) {
	case "authorization", "proxy-authorization", "cookie", "set-cookie":
		return true
	}
	return false
}
