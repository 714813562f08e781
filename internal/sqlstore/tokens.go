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

// CreateToken stores t, giving it an ID and a creation time when it has none.
func (s *Store) CreateToken(ctx context.Context, t *as2gate.Token) error {
	id, created := orNewID(t.ID), orNow(t.CreatedAt)
	_, err := s.exec(ctx, `INSERT INTO tokens (`+tokenColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
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

// UseToken marks a token used, once.
func (s *Store) UseToken(ctx context.Context, id string, at time.Time) error {
	n, err := affected(s.exec(ctx, `UPDATE tokens SET used_at = $2 WHERE id = $1 AND used_at IS NULL`, id, millis(at)))
	if err != nil {
		return dbError(err, "cannot save a token")
	}
	if n == 0 {
		return as2gate.Errorf(as2gate.EConflict, "token %s was used already, or is gone", id)
	}
	return nil
}

// RevokeTokenFamily revokes every token of a login not revoked yet.
func (s *Store) RevokeTokenFamily(ctx context.Context, familyID string, at time.Time) error {
	_, err := s.exec(ctx, `UPDATE tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL`, familyID, millis(at))
	if err != nil {
		return dbError(err, "cannot revoke tokens")
	}
	return nil
}

// RevokeUserTokens revokes every token of a user not revoked yet.
func (s *Store) RevokeUserTokens(ctx context.Context, userID string, at time.Time) error {
	_, err := s.exec(ctx, `UPDATE tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL`, userID, millis(at))
	if err != nil {
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
