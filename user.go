package as2gate

import "time"

// Role is what a user may do.
type Role string

const (
	RoleAdmin    Role = "admin"    // everything, users and keys included
	RoleManager  Role = "manager"  // stations, partners, certificates, integrations
	RoleOperator Role = "operator" // send and receive messages
	RoleViewer   Role = "viewer"   // read only
)

// User is a person or a machine allowed on the admin side.
type User struct {
	ID           string
	Username     string
	PasswordHash string // argon2id, encoded with its parameters
	Role         Role
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// UserChange is what an update of a user changes: the fields set. Only
// they are written, so that concurrent updates of other fields stay.
type UserChange struct {
	Username     *string
	PasswordHash *string
	Role         *Role
}
