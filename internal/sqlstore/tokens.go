package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/as2gate/as2gate"
)

const tokenColumns = `id, hash, kind, user_id, family_id, expires_at, created_at, used_at, revoked_at`

func scanToken(r rowScanner) (*as2gate.Token, error) {
	var t as2gate.Token
	var expires, created int64
	var used, revoked sql.NullInt64
	if err := r.Scan(&t.ID, &t.Hash, &t.Kind, &t.UserID, &t.FamilyID, &expires, &created, &used, &revoked); err != nil {
		return nil, err
	}
	t.ExpiresAt, t.CreatedAt = fromMillis(expires), fromMillis(created)
	t.UsedAt, t.RevokedAt = fromNullMillis(used), fromNullMillis(revoked)
	return &t, nil
}

// CreateLogin stores the tokens of a new login, each given an ID and a
// creation time when it has none, if their user's password hash is still
// passwordHash. The user's row is locked (on PostgreSQL; SQLite has one
// writer), so a password change commits before or after, never between
// the check and the insert: before, the login is refused; after, it
// revokes these tokens too.
func (s *Store) CreateLogin(ctx context.Context, passwordHash string, tokens ...*as2gate.Token) error {
	if len(tokens) == 0 {
		return as2gate.Invalid("tokens", "a login needs its tokens")
	}
	userID := tokens[0].UserID
	return s.write(ctx, func(tx *sql.Tx) error {
		var current string
		err := tx.QueryRowContext(ctx, `SELECT password_hash FROM users WHERE id = $1`+s.d.forUpdate, userID).Scan(&current)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return as2gate.Errorf(as2gate.ENotFound, "user %s not found", userID)
		case err != nil:
			return dbError(err, "cannot read user %s", userID)
		case current != passwordHash:
			return as2gate.Errorf(as2gate.EUnauthorized, "the password changed during the login")
		}
		for _, t := range tokens {
			if t.UserID != userID {
				return as2gate.Invalid("tokens", "the tokens of a login are of one user")
			}
			if err := insertToken(ctx, tx, t); err != nil {
				return err
			}
		}
		return nil
	})
}

func insertToken(ctx context.Context, tx *sql.Tx, t *as2gate.Token) error {
	id, created := orNewID(t.ID), orNow(t.CreatedAt)
	_, err := tx.ExecContext(ctx, `INSERT INTO tokens (`+tokenColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		id, t.Hash, string(t.Kind), t.UserID, t.FamilyID, millis(t.ExpiresAt), millis(created),
		nullMillis(t.UsedAt), nullMillis(t.RevokedAt))
	switch {
	case isForeignKey(err):
		return as2gate.Wrap(as2gate.ENotFound, err, "user %s not found", t.UserID)
	case err != nil:
		return dbError(err, "cannot save a token")
	}
	t.ID, t.CreatedAt = id, created
	t.ExpiresAt = fromMillis(millis(t.ExpiresAt))
	return nil
}

// GetTokenByHash returns the token whose secret has this hash.
func (s *Store) GetTokenByHash(ctx context.Context, hash string) (*as2gate.Token, error) {
	t, err := scanToken(s.db.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE hash = $1`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, as2gate.Errorf(as2gate.ENotFound, "token not found")
	}
	if err != nil {
		return nil, dbError(err, "cannot read a token")
	}
	return t, nil
}

// RotateToken exchanges refresh token id for the next tokens of its login
// in one transaction: it is marked used and they are stored, unless it was
// used already (EConflict), or it or a token of its family is revoked
// (EUnauthorized): a revocation racing the exchange wins.
func (s *Store) RotateToken(ctx context.Context, id string, at time.Time, next ...*as2gate.Token) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		n, err := affected(tx.ExecContext(ctx, `UPDATE tokens SET used_at = $2
			WHERE id = $1 AND used_at IS NULL AND revoked_at IS NULL
			AND NOT EXISTS (SELECT 1 FROM tokens f WHERE f.family_id = tokens.family_id AND f.revoked_at IS NOT NULL)`,
			id, millis(at)))
		if err != nil {
			return dbError(err, "cannot save a token")
		}
		if n == 0 {
			t, err := scanToken(tx.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE id = $1`, id))
			switch {
			case errors.Is(err, sql.ErrNoRows):
				return as2gate.Errorf(as2gate.EUnauthorized, "refresh token %s is gone", id)
			case err != nil:
				return dbError(err, "cannot read a token")
			case !t.UsedAt.IsZero():
				return as2gate.Errorf(as2gate.EConflict, "token %s was used already", id)
			}
			return as2gate.Errorf(as2gate.EUnauthorized, "refresh token revoked")
		}
		for _, t := range next {
			if err := insertToken(ctx, tx, t); err != nil {
				return err
			}
		}
		return nil
	})
}

// RevokeTokenFamily revokes every token of a login not revoked yet.
func (s *Store) RevokeTokenFamily(ctx context.Context, familyID string, at time.Time) error {
	return s.revokeTokens(ctx, "family_id", familyID, at)
}

// revokeTokens revokes the tokens whose column has a value. On PostgreSQL
// it locks them first, and so waits for a RotateToken holding one to
// commit: the UPDATE, a statement of its own, then sees the tokens that
// rotation added, which one UPDATE alone, its snapshot taken before they
// were committed, would leave valid.
func (s *Store) revokeTokens(ctx context.Context, column, value string, at time.Time) error {
	return s.write(ctx, func(tx *sql.Tx) error { return s.revokeTokensTx(ctx, tx, column, value, at) })
}

func (s *Store) revokeTokensTx(ctx context.Context, tx *sql.Tx, column, value string, at time.Time) error {
	if s.d.forUpdate != "" {
		if _, err := tx.ExecContext(ctx, `SELECT id FROM tokens WHERE `+column+` = $1 ORDER BY id`+s.d.forUpdate, value); err != nil {
			return dbError(err, "cannot revoke tokens")
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE tokens SET revoked_at = $2 WHERE `+column+` = $1 AND revoked_at IS NULL`, value, millis(at)); err != nil {
		return dbError(err, "cannot revoke tokens")
	}
	return nil
}

// DeleteExpiredTokens removes the tokens expired before a time: they can
// serve nothing any more, not even to detect a reused refresh token.
func (s *Store) DeleteExpiredTokens(ctx context.Context, before time.Time) error {
	if _, err := s.exec(ctx, `DELETE FROM tokens WHERE expires_at < $1`, millis(before)); err != nil {
		return dbError(err, "cannot delete expired tokens")
	}
	return nil
}
