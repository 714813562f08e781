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
		return userWriteError(err, u.Username)
	}
	u.ID, u.CreatedAt, u.UpdatedAt = id, created, created
	return nil
}

// userWriteError explains the failure to write a user named name.
func userWriteError(err error, name string) error {
	if isUnique(err) {
		return as2gate.Wrap(as2gate.EConflict, err, "a user named %q already exists", name)
	}
	return dbError(err, "cannot save user %q", name)
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
	if cleanText(username) != username { // no stored name is like it (PostgreSQL would refuse to compare)
		return nil, as2gate.Errorf(as2gate.ENotFound, "user %q not found", username)
	}
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

// UpdateUser changes the fields ch sets, and only them: two updates of
// different fields at once both stay. The role is taken from the last
// administrator in no case.
func (s *Store) UpdateUser(ctx context.Context, id string, ch as2gate.UserChange) (*as2gate.User, error) {
	var u *as2gate.User
	err := s.write(ctx, func(tx *sql.Tx) error {
		if ch.Role != nil && *ch.Role != as2gate.RoleAdmin {
			if err := s.keepAnAdmin(ctx, tx, id); err != nil {
				return err
			}
		}
		var a args
		set := "updated_at = " + a.add(millis(now()))
		if ch.Username != nil {
			set += ", username = " + a.add(*ch.Username)
		}
		if ch.PasswordHash != nil {
			set += ", password_hash = " + a.add(*ch.PasswordHash)
		}
		if ch.Role != nil {
			set += ", role = " + a.add(string(*ch.Role))
		}
		n, err := affected(tx.ExecContext(ctx, `UPDATE users SET `+set+` WHERE id = `+a.add(id), a...))
		if err != nil {
			name := id
			if ch.Username != nil {
				name = *ch.Username
			}
			return userWriteError(err, name)
		}
		if n == 0 {
			return as2gate.Errorf(as2gate.ENotFound, "user %s not found", id)
		}
		if ch.PasswordHash != nil {
			// A new password ends every login, also one whose password
			// check is under way (see CreateLogin).
			if err := s.revokeTokensTx(ctx, tx, "user_id", id, now()); err != nil {
				return err
			}
		}
		u, err = scanUser(tx.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id))
		if err != nil {
			return dbError(err, "cannot read user %s", id)
		}
		return nil
	})
	return u, err
}

// DeleteUser deletes a user, never the last administrator; its tokens go
// with it (ON DELETE CASCADE).
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		if err := s.keepAnAdmin(ctx, tx, id); err != nil {
			return err
		}
		n, err := affected(tx.ExecContext(ctx, `DELETE FROM users WHERE id = $1`, id))
		if err != nil {
			return dbError(err, "cannot delete user %s", id)
		}
		if n == 0 {
			return as2gate.Errorf(as2gate.ENotFound, "user %s not found", id)
		}
		return nil
	})
}

// keepAnAdmin fails when user id is the last administrator. It locks the
// administrators' rows until the transaction ends, so that two
// transactions each taking the role from one of two administrators cannot
// both see the other still there.
func (s *Store) keepAnAdmin(ctx context.Context, tx *sql.Tx, id string) error {
	rows, err := tx.QueryContext(ctx, `SELECT id FROM users WHERE role = $1 ORDER BY id`+s.d.forUpdate, string(as2gate.RoleAdmin))
	if err != nil {
		return dbError(err, "cannot read the administrators")
	}
	defer rows.Close()
	isAdmin, others := false, 0
	for rows.Next() {
		var admin string
		if err := rows.Scan(&admin); err != nil {
			return dbError(err, "cannot read the administrators")
		}
		if admin == id {
			isAdmin = true
		} else {
			others++
		}
	}
	if err := rows.Err(); err != nil {
		return dbError(err, "cannot read the administrators")
	}
	if isAdmin && others == 0 {
		return as2gate.Errorf(as2gate.EConflict, "this is the last administrator: make another user admin first")
	}
	return nil
}
