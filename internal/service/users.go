package service

import (
	"context"
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
	u := &as2gate.User{}
	if err := s.applyUser(ctx, u, in); err != nil {
		return nil, err
	}
	if err := s.gw.Store().CreateUser(ctx, u); err != nil {
		return nil, err
	}
	out := toUser(u)
	return &out, nil
}

// UpdateUser changes the fields the input gives. A new password ends the
// user's logins; the last administrator keeps the admin role.
func (s *Service) UpdateUser(ctx context.Context, id string, in client.UserInput) (_ *client.User, err error) {
	target := id
	defer s.record(ctx, "user.update", &target, &err)
	u, err := s.gw.Store().GetUser(ctx, id)
	if err != nil {
		return nil, err
	}
	target = u.Username
	wasAdmin := u.Role == as2gate.RoleAdmin
	if err := s.applyUser(ctx, u, in); err != nil {
		return nil, err
	}
	if wasAdmin && u.Role != as2gate.RoleAdmin {
		if err := s.keepAnAdmin(ctx, u.ID); err != nil {
			return nil, err
		}
	}
	if err := s.gw.Store().UpdateUser(ctx, u); err != nil {
		return nil, err
	}
	if in.Password != nil {
		if err := s.gw.Store().RevokeUserTokens(ctx, u.ID, s.now()); err != nil {
			return nil, err
		}
	}
	out := toUser(u)
	return &out, nil
}

// DeleteUser removes a user and its logins, never the last administrator.
func (s *Service) DeleteUser(ctx context.Context, id string) (err error) {
	target := id
	defer s.record(ctx, "user.delete", &target, &err)
	u, err := s.gw.Store().GetUser(ctx, id)
	if err != nil {
		return err
	}
	target = u.Username
	if u.Role == as2gate.RoleAdmin {
		if err := s.keepAnAdmin(ctx, u.ID); err != nil {
			return err
		}
	}
	return s.gw.Store().DeleteUser(ctx, id)
}

// keepAnAdmin refuses to take the admin role from the last administrator
// (but id), which would leave nobody to manage users.
func (s *Service) keepAnAdmin(ctx context.Context, id string) error {
	users, err := s.gw.Store().ListUsers(ctx)
	if err != nil {
		return err
	}
	for _, u := range users {
		if u.ID != id && u.Role == as2gate.RoleAdmin {
			return nil
		}
	}
	return as2gate.Errorf(as2gate.EConflict, "this is the last administrator: make another user admin first")
}

// applyUser checks and sets the fields the input gives.
func (s *Service) applyUser(ctx context.Context, u *as2gate.User, in client.UserInput) error {
	if in.Username != nil {
		if err := checkUsername(*in.Username); err != nil {
			return err
		}
		u.Username = *in.Username
	}
	if in.Role != nil {
		if !as2gate.Role(*in.Role).Valid() {
			return as2gate.Invalid("role", "%q: want admin, manager, operator or viewer", *in.Role)
		}
		u.Role = as2gate.Role(*in.Role)
	}
	if in.Password != nil {
		if n := len([]rune(*in.Password)); n < minPassword {
			return as2gate.Invalid("password", "at least %d characters", minPassword)
		}
		if len(*in.Password) > password.MaxLength {
			return as2gate.Invalid("password", "at most %d bytes", password.MaxLength)
		}
		h, err := s.hashPassword(ctx, *in.Password)
		if err != nil {
			return err
		}
		u.PasswordHash = h
	}
	return nil
}

// checkUsername allows what is easy to type in a login form and a shell.
func checkUsername(name string) error {
	if name == "" || len(name) > 100 {
		return as2gate.Invalid("username", "1 to 100 characters")
	}
	if strings.IndexFunc(name, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._@-", r))
	}) >= 0 {
		return as2gate.Invalid("username", "%q: only letters, digits and . _ @ -", name)
	}
	return nil
}
