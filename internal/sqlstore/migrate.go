package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"strconv"
	"strings"

	"github.com/as2gate/as2gate"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// A migration is one file of migrations/, NNNN_name.sql, applied once.
type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations reads the embedded migrations in order of version.
func loadMigrations(fsys fs.FS) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, "migrations")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries { // sorted by name, so by version
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("migration %s: want NNNN_name.sql", e.Name())
		}
		if len(ms) > 0 && v <= ms[len(ms)-1].version {
			return nil, fmt.Errorf("migration %s: version %d out of order", e.Name(), v)
		}
		b, err := fs.ReadFile(fsys, "migrations/"+e.Name())
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(b)})
	}
	if len(ms) == 0 {
		return nil, fmt.Errorf("no migrations")
	}
	return ms, nil
}

// migrate applies the migrations not applied yet, each in its own
// transaction, recorded in schema_migrations. Processes starting together
// take turns: the migration lock (PostgreSQL) or BEGIN IMMEDIATE (SQLite)
// is held from the check of schema_migrations to the commit.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := loadMigrations(migrationFiles)
	if err != nil {
		return as2gate.Wrap(as2gate.EInternal, err, "bad embedded migrations")
	}
	for _, m := range ms {
		if err := s.write(ctx, func(tx *sql.Tx) error { return s.apply(ctx, tx, m) }); err != nil {
			return err
		}
	}
	var newest sql.NullInt64
	if err := s.db.QueryRowContext(ctx, "SELECT MAX(version) FROM schema_migrations").Scan(&newest); err != nil {
		return dbError(err, "cannot read the database schema version")
	}
	if last := ms[len(ms)-1].version; newest.Int64 > int64(last) {
		// An older as2gate must not write into a schema it does not know.
		return as2gate.Errorf(as2gate.EInternal, "the database schema (version %d) is newer than this as2gate knows (version %d): upgrade as2gate", newest.Int64, last)
	}
	return nil
}

func (s *Store) apply(ctx context.Context, tx *sql.Tx, m migration) error {
	fail := func(err error) error { return dbError(err, "cannot apply database migration %s", m.name) }
	if s.d.lockMigrations != "" {
		if _, err := tx.ExecContext(ctx, s.d.lockMigrations); err != nil {
			return fail(err)
		}
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    BIGINT NOT NULL PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at BIGINT NOT NULL)`); err != nil {
		return fail(err)
	}
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM schema_migrations WHERE version = $1", m.version).Scan(&n); err != nil {
		return fail(err)
	}
	if n > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, strings.ReplaceAll(m.sql, "{{blob}}", s.d.blob)); err != nil {
		return fail(err)
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
		m.version, m.name, millis(now())); err != nil {
		return fail(err)
	}
	return nil
}
