package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/as2gate/as2gate"
)

const userColumns = `id, username, password_hash, role, created_at, updated_at`

func scanUser(r rowScanner) (*as2gate.User, error) {
	var u as2gate.User
	var created, updated int64
	if err := r.Scan(&u.ID, &u.Username, &u.PasswordHash, &u.Role, &created, &updated); err != nil {
		return nil, err
	}
	u.CreatedAt, u.UpdatedAt = fromMillis(created), fromMillis(updated)
	return &u, nil
}

// CreateUser stores u, giving it an ID and a creation time when it has none.
func (s *Store) CreateUser(ctx context.Context, u *as2gate.User) error {
	id, created := orNewID(u.ID), orNow(u.CreatedAt)
	_, err := s.exec(ctx, `INSERT INTO users (`+userColumns+`) VALUES ($1, $2, $3, $4, $5, $6)`,
		id, u.Username, u.PasswordHash, string(u.Role), millis(created), millis(created))
	if err != nil {
		return userWriteError(err, u)
	}
	u.ID, u.CreatedAt, u.UpdatedAt = id, created, created
	return nil
}

func userWriteError(err error, u *as2gate.User) error {
	if isUnique(err) {
		return as2gate.Wrap(as2gate.EConflict, err, "a user named %q already exists", u.Username)
	}
	return dbError(err, "cannot save user %q", u.Username)
}

// GetUser returns a user by ID.
func (s *Store) GetUser(ctx context.Context, id string) (*as2gate.User, error) {
	u, err := scanUser(s.db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, as2gate.Errorf(as2gate.ENotFound, "user %s not found", id)
	}
	if err != nil {
		return nil, dbError(err, "cannot read user %s", id)
	}
	return u, nil
}

// GetUserByName returns a user by name.
func (s *Store) GetUserByName(ctx context.Context, username string) (*as2gate.User, error) {
	u, err := scanUser(s.db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE username = $1`, username))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, as2gate.Errorf(as2gate.ENotFound, "user %q not found", username)
	}
	if err != nil {
		return nil, dbError(err, "cannot read user %q", username)
	}
	return u, nil
}

// ListUsers returns all users by name.
func (s *Store) ListUsers(ctx context.Context) ([]*as2gate.User, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+userColumns+` FROM users ORDER BY username`)
	if err != nil {
		return nil, dbError(err, "cannot list users")
	}
	defer rows.Close()
	var list []*as2gate.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, dbError(err, "cannot list users")
		}
		list = append(list, u)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError(err, "cannot list users")
	}
	return list, nil
}

// UpdateUser saves u (all fields but ID and creation time).
func (s *Store) UpdateUser(ctx context.Context, u *as2gate.User) error {
	updated := now()
	n, err := affected(s.exec(ctx, `UPDATE users SET username = $2, password_hash = $3, role = $4, updated_at = $5
		WHERE id = $1`, u.ID, u.Username, u.PasswordHash, string(u.Role), millis(updated)))
	if err != nil {
		return userWriteError(err, u)
	}
	if n == 0 {
		return as2gate.Errorf(as2gate.ENotFound, "user %s not found", u.ID)
	}
	u.UpdatedAt = updated
	return nil
}

// DeleteUser deletes a user; its tokens go with it (ON DELETE CASCADE).
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	n, err := affected(s.exec(ctx, `DELETE FROM users WHERE id = $1`, id))
	if err != nil {
		return dbError(err, "cannot delete user %s", id)
	}
	if n == 0 {
		return as2gate.Errorf(as2gate.ENotFound, "user %s not found", id)
	}
	return nil
}
