package service

import (
	"context"
	"slices"
	"strings"

	"github.com/as2gate/as2gate"
	"github.com/as2gate/as2gate/client"
	"github.com/as2gate/as2gate/internal/password"
)

// minPassword is the shortest password a user may be given.
const minPassword = 10

func toUser(u *as2gate.User) client.User {
	return client.User{ID: u.ID, Username: u.Username, Role: string(u.Role), CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt}
}

// ListUsers returns every user, by name.
func (s *Service) ListUsers(ctx context.Context) ([]client.User, error) {
	list, err := s.gw.Store().ListUsers(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]client.User, len(list))
	for i, u := range list {
		out[i] = toUser(u)
	}
	return out, nil
}

// GetUser returns a user by ID.
func (s *Service) GetUser(ctx context.Context, id string) (*client.User, error) {
	u, err := s.gw.Store().GetUser(ctx, id)
	if err != nil {
		return nil, err
	}
	out := toUser(u)
	return &out, nil
}

// CreateUser adds a user; username, password and role are required.
func (s *Service) CreateUser(ctx context.Context, in client.UserInput) (_ *client.User, err error) {
	target := ""
	defer s.record(ctx, "user.create", &target, &err)
	if in.Username == nil {
		return nil, as2gate.Invalid("username", "required")
	}
	target = *in.Username
	if in.Password == nil {
		return nil, as2gate.Invalid("password", "required")
	}
	if in.Role == nil {
		return nil, as2gate.Invalid("role", "required")
	}
	ch, err := s.userChange(ctx, in)
	if err != nil {
		return nil, err
	}
	u := &as2gate.User{Username: *ch.Username, PasswordHash: *ch.PasswordHash, Role: *ch.Role}
	if err := s.gw.Store().CreateUser(ctx, u); err != nil {
		return nil, err
	}
	out := toUser(u)
	return &out, nil
}

// UpdateUser changes the fields the input gives, and only them. A new
// password ends the user's logins; the store keeps the last administrator
// an administrator.
func (s *Service) UpdateUser(ctx context.Context, id string, in client.UserInput) (_ *client.User, err error) {
	target := id
	defer s.record(ctx, "user.update", &target, &err)
	// Read for the audit log to name the user; the update does not
	// depend on it.
	u, err := s.gw.Store().GetUser(ctx, id)
	if err != nil {
		return nil, err
	}
	target = u.Username
	ch, err := s.userChange(ctx, in)
	if err != nil {
		return nil, err
	}
	if u, err = s.gw.Store().UpdateUser(ctx, id, ch); err != nil { // a new password ends its logins
		return nil, err
	}
	out := toUser(u)
	return &out, nil
}

// DeleteUser removes a user and its logins; the store refuses the last
// administrator.
func (s *Service) DeleteUser(ctx context.Context, id string) (err error) {
	target := id
	defer s.record(ctx, "user.delete", &target, &err)
	u, err := s.gw.Store().GetUser(ctx, id) // for the audit log to name the user
	if err != nil {
		return err
	}
	target = u.Username
	return s.gw.Store().DeleteUser(ctx, id)
}

// userChange checks the fields the input gives and turns them into a
// change, the password hashed.
func (s *Service) userChange(ctx context.Context, in client.UserInput) (as2gate.UserChange, error) {
	var ch as2gate.UserChange
	if in.Username != nil {
		if err := checkUsername(*in.Username); err != nil {
			return ch, err
		}
		ch.Username = in.Username
	}
	if in.Role != nil {
		role := as2gate.Role(*in.Role)
		if !role.Valid() {
			return ch, as2gate.Invalid("role", "%q: want admin, manager, operator or viewer", *in.Role)
		}
		ch.Role = &role
	}
	if in.Password != nil {
		if n := len([]rune(*in.Password)); n < minPassword {
			return ch, as2gate.Invalid("password", "at least %d characters", minPassword)
		}
		if len(*in.Password) > password.MaxLength {
			return ch, as2gate.Invalid("password", "at most %d bytes", password.MaxLength)
		}
		h, err := s.hashPassword(ctx, *in.Password)
		if err != nil {
			return ch, err
		}
		ch.PasswordHash = &h
	}
	return ch, nil
}

// reservedNames are the audit log's actors that are not users: no user
// may take them, in any case, and pass for the CLI or the system.
var reservedNames = []string{"cli", "system"}

// maxUsernameLen bounds a username, in bytes (its characters take one each).
const maxUsernameLen = 100

// IsUsername tells a name a user can have: what is easy to type in a login
// form and a shell, 1 to 100 letters, digits and . _ @ -. Front-ends
// refuse a login with any other name before they count or record it.
func IsUsername(name string) bool {
	return name != "" && len(name) <= maxUsernameLen && strings.IndexFunc(name, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._@-", r))
	}) < 0
}

// checkUsername checks the name of a new or renamed user.
func checkUsername(name string) error {
	if !IsUsername(name) {
		return as2gate.Invalid("username", "1 to %d characters: letters, digits and . _ @ -", maxUsernameLen)
	}
	if slices.ContainsFunc(reservedNames, func(r string) bool { return strings.EqualFold(name, r) }) {
		return as2gate.Invalid("username", "%q is reserved", name)
	}
	return nil
}
