package as2gate

import (
	"context"
	"time"
)

// Store keeps the records of the gateway. Errors carry codes: ENotFound for
// a missing record, EConflict for a duplicate, a record in use, or a
// message changed since it was read (optimistic locking on Version).
type Store interface {
	CreateCertificate(ctx context.Context, c *Certificate) error
	GetCertificate(ctx context.Context, id string) (*Certificate, error)
	ListCertificates(ctx context.Context) ([]*Certificate, error)
	UpdateCertificate(ctx context.Context, c *Certificate) error
	// DeleteCertificate refuses (EConflict) a certificate a station or partner uses.
	DeleteCertificate(ctx context.Context, id string) error

	CreateStation(ctx context.Context, s *Station) error
	GetStation(ctx context.Context, id string) (*Station, error)
	GetStationByAS2ID(ctx context.Context, as2ID string) (*Station, error)
	ListStations(ctx context.Context) ([]*Station, error)
	UpdateStation(ctx context.Context, s *Station) error
	// DeleteStation refuses (EConflict) a station with messages in progress.
	DeleteStation(ctx context.Context, id string) error

	CreatePartner(ctx context.Context, p *Partner) error
	GetPartner(ctx context.Context, id string) (*Partner, error)
	GetPartnerByAS2ID(ctx context.Context, as2ID string) (*Partner, error)
	ListPartners(ctx context.Context) ([]*Partner, error)
	UpdatePartner(ctx context.Context, p *Partner) error
	// DeletePartner refuses (EConflict) a partner with messages in progress.
	DeletePartner(ctx context.Context, id string) error

	// CreateMessage inserts a message with its files and jobs. A second
	// received message with the Message-ID of one already received from
	// the same partner is refused with EConflict.
	CreateMessage(ctx context.Context, m *Message, jobs ...Job) error
	GetMessage(ctx context.Context, id string) (*Message, error)
	// FindMessage finds a message by its AS2 Message-ID; for inbound
	// messages the one received successfully, if any, comes first.
	FindMessage(ctx context.Context, partnerID string, dir Direction, as2MessageID string) (*Message, error)
	ListMessages(ctx context.Context, f MessageFilter) ([]*Message, error)
	// UpdateMessage saves m if its Version is still the stored one
	// (EConflict otherwise), increments it, and applies the job change.
	UpdateMessage(ctx context.Context, m *Message, jobs JobChange) error
	// SetMessageRead marks a message read at a time, or unread (zero time).
	SetMessageRead(ctx context.Context, id string, at time.Time) error
	// DeleteMessage removes a message with its files and jobs (a queued
	// message is so canceled) and returns it as it was, so that its blobs
	// can be removed. A message being sent is refused (EConflict).
	DeleteMessage(ctx context.Context, id string) (*Message, error)

	// ClaimJob leases the next due job (or one whose lease expired) to
	// owner until now+lease; nil when there is none.
	ClaimJob(ctx context.Context, owner string, now time.Time, lease time.Duration) (*Job, error)
	// ExtendLease keeps a long job (a GiB upload) leased.
	ExtendLease(ctx context.Context, jobID, owner string, until time.Time) error
	// NextJobTime is when the next job is due (zero when none is pending).
	NextJobTime(ctx context.Context) (time.Time, error)
	ListJobs(ctx context.Context, messageID string) ([]Job, error)

	CreateUser(ctx context.Context, u *User) error
	GetUser(ctx context.Context, id string) (*User, error)
	GetUserByName(ctx context.Context, username string) (*User, error)
	ListUsers(ctx context.Context) ([]*User, error)
	// UpdateUser changes the fields ch sets, and only them, and returns
	// the user updated; EConflict when it would take the admin role from
	// the last administrator (checked in the same transaction). A new
	// password hash revokes the user's tokens in the same transaction.
	UpdateUser(ctx context.Context, id string, ch UserChange) (*User, error)
	// DeleteUser deletes a user and its tokens; EConflict for the last
	// administrator (checked in the same transaction).
	DeleteUser(ctx context.Context, id string) error

	// CreateLogin stores the tokens of a new login of their user, if the
	// user's password hash is still passwordHash, the one the login was
	// checked against: EUnauthorized, and nothing stored, when a change of
	// password came in between.
	CreateLogin(ctx context.Context, passwordHash string, tokens ...*Token) error
	GetTokenByHash(ctx context.Context, hash string) (*Token, error)
	// RotateToken marks a refresh token exchanged and stores the next
	// tokens of its login, in one transaction; EConflict when it was
	// exchanged already, so that of two concurrent exchanges one fails;
	// EUnauthorized when its login is revoked, also concurrently.
	RotateToken(ctx context.Context, id string, at time.Time, next ...*Token) error
	RevokeTokenFamily(ctx context.Context, familyID string, at time.Time) error
	// DeleteExpiredTokens removes tokens expired before a time.
	DeleteExpiredTokens(ctx context.Context, before time.Time) error

	CreateAPIKey(ctx context.Context, k *APIKey) error
	GetAPIKey(ctx context.Context, id string) (*APIKey, error)
	GetAPIKeyByHash(ctx context.Context, hash string) (*APIKey, error)
	// ListAPIKeys returns every key, revoked ones included, oldest first.
	ListAPIKeys(ctx context.Context) ([]*APIKey, error)
	RevokeAPIKey(ctx context.Context, id string, at time.Time) error
	TouchAPIKey(ctx context.Context, id string, at time.Time) error

	AppendAudit(ctx context.Context, e *AuditEntry) error
	ListAudit(ctx context.Context, f AuditFilter) ([]*AuditEntry, error)

	Close() error
}
