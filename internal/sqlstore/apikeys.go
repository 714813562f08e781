package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/as2gate/as2gate"
)

const apiKeyColumns = `id, name, role, hash, prefix, created_at, last_used_at, revoked_at, created_by`

func scanAPIKey(r rowScanner) (*as2gate.APIKey, error) {
	var k as2gate.APIKey
	var created int64
	var used, revoked sql.NullInt64
	if err := r.Scan(&k.ID, &k.Name, &k.Role, &k.Hash, &k.Prefix, &created, &used, &revoked, &k.CreatedBy); err != nil {
		return nil, err
	}
	k.CreatedAt, k.LastUsedAt, k.RevokedAt = fromMillis(created), fromNullMillis(used), fromNullMillis(revoked)
	return &k, nil
}

// CreateAPIKey stores k, giving it an ID and a creation time when it has none.
func (s *Store) CreateAPIKey(ctx context.Context, k *as2gate.APIKey) error {
	id, created := orNewID(k.ID), orNow(k.CreatedAt)
	_, err := s.exec(ctx, `INSERT INTO api_keys (`+apiKeyColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		id, k.Name, string(k.Role), k.Hash, k.Prefix, millis(created), nullMillis(k.LastUsedAt), nullMillis(k.RevokedAt), k.CreatedBy)
	if err != nil {
		return dbError(err, "cannot save API key %q", k.Name)
	}
	k.ID, k.CreatedAt = id, created
	return nil
}

func (s *Store) getAPIKey(ctx context.Context, what, where string, arg any) (*as2gate.APIKey, error) {
	k, err := scanAPIKey(s.db.QueryRowContext(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE `+where+` = $1`, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, as2gate.Errorf(as2gate.ENotFound, "%s not found", what)
	}
	if err != nil {
		return nil, dbError(err, "cannot read %s", what)
	}
	return k, nil
}

// GetAPIKey returns a key by ID.
func (s *Store) GetAPIKey(ctx context.Context, id string) (*as2gate.APIKey, error) {
	return s.getAPIKey(ctx, "API key "+id, "id", id)
}

// GetAPIKeyByHash returns the key whose secret has this hash.
func (s *Store) GetAPIKeyByHash(ctx context.Context, hash string) (*as2gate.APIKey, error) {
	return s.getAPIKey(ctx, "API key", "hash", hash)
}

// ListAPIKeys returns every key, oldest first.
func (s *Store) ListAPIKeys(ctx context.Context) ([]*as2gate.APIKey, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+apiKeyColumns+` FROM api_keys ORDER BY id`)
	if err != nil {
		return nil, dbError(err, "cannot list API keys")
	}
	defer rows.Close()
	var list []*as2gate.APIKey
	for rows.Next() {
		k, err := scanAPIKey(rows)
		if err != nil {
			return nil, dbError(err, "cannot list API keys")
		}
		list = append(list, k)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError(err, "cannot list API keys")
	}
	return list, nil
}

// RevokeAPIKey revokes a key; revoking it again keeps the first time.
func (s *Store) RevokeAPIKey(ctx context.Context, id string, at time.Time) error {
	n, err := affected(s.exec(ctx, `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1`, id, millis(at)))
	if err != nil {
		return dbError(err, "cannot revoke API key %s", id)
	}
	if n == 0 {
		return as2gate.Errorf(as2gate.ENotFound, "API key %s not found", id)
	}
	return nil
}

// TouchAPIKey records the use of a key.
func (s *Store) TouchAPIKey(ctx context.Context, id string, at time.Time) error {
	n, err := affected(s.exec(ctx, `UPDATE api_keys SET last_used_at = $2 WHERE id = $1`, id, millis(at)))
	if err != nil {
		return dbError(err, "cannot save API key %s", id)
	}
	if n == 0 {
		return as2gate.Errorf(as2gate.ENotFound, "API key %s not found", id)
	}
	return nil
}
