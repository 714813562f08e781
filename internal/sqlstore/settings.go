package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/as2gate/as2gate"
)

// InitSetting stores value under name unless a value is stored there
// already, and returns the stored value: of processes starting together,
// the first one's value wins and all of them get it.
func (s *Store) InitSetting(ctx context.Context, name string, value []byte) ([]byte, error) {
	var stored []byte
	err := s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, name, value); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT value FROM settings WHERE name = $1`, name).Scan(&stored)
	})
	if err != nil {
		return nil, dbError(err, "cannot store setting %s", name)
	}
	return stored, nil
}

// Setting returns the value stored under name, ENotFound when there is none.
func (s *Store) Setting(ctx context.Context, name string) ([]byte, error) {
	var value []byte
	err := s.db.QueryRowContext(ctx, `SELECT value FROM settings WHERE name = $1`, name).Scan(&value)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, as2gate.Errorf(as2gate.ENotFound, "setting %s not found", name)
	}
	if err != nil {
		return nil, dbError(err, "cannot read setting %s", name)
	}
	return value, nil
}
