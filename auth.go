package as2gate

import "time"

// Permission is what a route of the REST API requires.
type Permission string

const (
	PermRead     Permission = "read"     // everything but users, API keys and the audit log
	PermMessages Permission = "messages" // send, mark read, resend, cancel, delete messages
	PermConfig   Permission = "config"   // change stations, partners, certificates
	PermAdmin    Permission = "admin"    // users, API keys, the audit log
)

// Valid reports whether r is one of the roles.
func (r Role) Valid() bool {
	switch r {
	case RoleAdmin, RoleManager, RoleOperator, RoleViewer:
		return true
	}
	return false
}

// Can reports whether the role grants p.
func (r Role) Can(p Permission) bool {
	switch p {
	case PermRead:
		return r.Valid()
	case PermMessages:
		return r == RoleOperator || r == RoleAdmin
	case PermConfig:
		return r == RoleManager || r == RoleAdmin
	case PermAdmin:
		return r == RoleAdmin
	}
	return false
}

// TokenKind tells access tokens from refresh tokens.
type TokenKind string

const (
	TokenAccess  TokenKind = "access"
	TokenRefresh TokenKind = "refresh"
)

// Token is an access or refresh token of a user's login. Only the SHA-256
// of its secret is kept. Every token descended from one login shares its
// FamilyID, so that a stolen refresh token, once reused, revokes them all.
type Token struct {
	ID        string
	Hash      string // hex SHA-256 of the secret
	Kind      TokenKind
	UserID    string
	FamilyID  string
	ExpiresAt time.Time
	CreatedAt time.Time
	UsedAt    time.Time // a refresh token exchanged already
	RevokedAt time.Time
}

// APIKey is a machine's credential with a role of its own. Only the
// SHA-256 of its secret is kept, and its first characters to recognise it.
type APIKey struct {
	ID         string
	Name       string
	Role       Role
	Hash       string // hex SHA-256 of the secret
	Prefix     string
	CreatedAt  time.Time
	LastUsedAt time.Time
	RevokedAt  time.Time
	CreatedBy  string // the actor who created it
}

// AuditEntry records one change: who, what, when, from where, and how it ended.
type AuditEntry struct {
	ID     string
	At     time.Time
	Actor  string // a username, "api_key:<name>", "cli", "system", "(unknown)" (a login as no user)
	Action string // e.g. partner.update
	Target string // the record changed
	Remote string // the client's address, "" from the CLI
	Result string // "ok" or an error code
	Detail string
}

// AuditFilter selects audit entries, newest first.
type AuditFilter struct {
	Actor  string
	Action string
	Since  time.Time
	Until  time.Time
	After  string // the cursor: the ID of the last entry of the previous page
	Limit  int
}
