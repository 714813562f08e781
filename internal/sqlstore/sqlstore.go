// Package sqlstore keeps the records of the gateway (as2gate.Store) in
// SQLite or PostgreSQL through database/sql, with one hand-written SQL
// dialect for both: $N placeholders, IDs made by the application, times as
// BIGINT Unix milliseconds UTC, booleans as BOOLEAN. Only the byte type of
// the DDL and the row locks of PostgreSQL differ (see dialect).
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/as2gate/as2gate"
)

var _ as2gate.Store = (*Store)(nil)

// Store is an as2gate.Store on SQLite or PostgreSQL. It is safe for
// concurrent use, also by several processes sharing one database.
type Store struct {
	db *sql.DB
	d  *dialect
	// commits feeds the group committer on SQLite (nil on PostgreSQL,
	// which commits concurrently and groups fsyncs itself).
	commits chan *writeRequest
	closing chan struct{}
	closed  sync.WaitGroup
}

// dialect is what differs between the engines.
type dialect struct {
	name string
	// blob replaces {{blob}} in the migrations.
	blob string
	// lockMigrations serialises migrations across processes; empty on
	// SQLite, where every write transaction is BEGIN IMMEDIATE.
	lockMigrations string
	// forUpdate locks the rows a check reads until the transaction ends;
	// SQLite needs none, its write transactions exclude one another.
	forUpdate string
	// skipLocked lets concurrent ClaimJob calls pass over a job another
	// transaction is claiming instead of queueing behind it.
	skipLocked string
}

var (
	sqliteDialect = &dialect{name: "sqlite", blob: "BLOB"}
	// The advisory lock key depends on the schema, so databases in
	// different schemas (tests) migrate independently.
	postgresDialect = &dialect{
		name:           "postgres",
		blob:           "BYTEA",
		lockMigrations: `SELECT pg_advisory_xact_lock(hashtext('as2gate.migrate.' || current_schema()))`,
		forUpdate:      " FOR UPDATE",
		skipLocked:     " FOR UPDATE SKIP LOCKED",
	}
)

// SQLite connection settings. busy_timeout makes a writer wait for another
// (maybe in another process, the CLI while serve runs) instead of failing;
// synchronous=FULL makes a commit durable before it returns (a processed
// MDN is only sent after commit); _txlock=immediate takes the write lock at
// BEGIN, so two write transactions never deadlock trying to upgrade a read
// lock. Read-only transactions still begin deferred (the driver skips
// _txlock for them), and WAL lets them run beside the writer.
const sqliteParams = "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=foreign_keys(1)&_txlock=immediate"

// maxConns bounds the connections of a pool: enough for the workers and
// the readers of one process; SQLite has one writer at a time anyway.
const maxConns = 10

// Open opens the database at dbURL, sqlite:/path/to/file.db or
// postgres://… (postgresql://…), and brings its schema up to date.
func Open(ctx context.Context, dbURL string) (*Store, error) {
	var driver, dsn string
	var d *dialect
	switch {
	case strings.HasPrefix(dbURL, "sqlite:"):
		path := strings.TrimPrefix(dbURL, "sqlite:")
		if path == "" {
			return nil, as2gate.Invalid("database", "sqlite: needs a file path, as in sqlite:/var/lib/as2gate/as2gate.db")
		}
		if path == ":memory:" {
			// Every pooled connection would open its own empty database.
			return nil, as2gate.Invalid("database", "an in-memory SQLite database is not supported; give a file path")
		}
		if err := createPrivate(path); err != nil {
			return nil, as2gate.Wrap(as2gate.EUnavailable, err, "cannot create the sqlite database")
		}
		// A file: URI with an escaped path, so that a path with ? or #
		// is not taken for parameters.
		driver, dsn, d = "sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?"+sqliteParams, sqliteDialect
	case strings.HasPrefix(dbURL, "postgres://"), strings.HasPrefix(dbURL, "postgresql://"):
		driver, dsn, d = "pgx", dbURL, postgresDialect
	default:
		// The URL is not repeated: it may hold a password.
		return nil, as2gate.Invalid("database", "want sqlite:/path/to/file.db or postgres://user@host/dbname")
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return nil, as2gate.Wrap(as2gate.EInvalid, err, "bad %s database address", d.name)
	}
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, as2gate.Wrap(as2gate.EUnavailable, err, "cannot open the %s database", d.name)
	}
	s := &Store{db: db, d: d}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if d == sqliteDialect {
		s.commits, s.closing = make(chan *writeRequest), make(chan struct{})
		s.closed.Add(1)
		go s.commitGroups()
	}
	return s, nil
}

// createPrivate creates a missing SQLite file for its owner only: it holds
// password hashes and sealed keys, and SQLite would make it 0644 less the
// umask. SQLite gives its -wal and -shm files the mode of the database
// file, and takes an empty file for a new database.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	// Exactly 0600 whatever the umask: 0600 less a umask of 0200, say,
	// would be a database no one can write.
	err = f.Chmod(0o600)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Ping checks that the database answers, for health checks.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return as2gate.Wrap(as2gate.EUnavailable, err, "the %s database does not answer", s.d.name)
	}
	return nil
}

// Close closes the database.
func (s *Store) Close() error {
	if s.closing != nil {
		close(s.closing)
		s.closed.Wait()
	}
	return s.db.Close()
}

// write runs fn in a write transaction (BEGIN IMMEDIATE on SQLite).
func (s *Store) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if s.commits == nil {
		return s.inTx(ctx, nil, fn)
	}
	req := &writeRequest{fn: fn, done: make(chan struct{})}
	select {
	case s.commits <- req:
	case <-s.closing:
		return as2gate.Errorf(as2gate.EUnavailable, "the database is closed")
	case <-ctx.Done():
		return ctx.Err()
	}
	<-req.done // once queued it runs: its outcome must be known
	return req.err
}

// exec runs one writing statement as a write transaction.
func (s *Store) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	var res sql.Result
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		res, err = tx.ExecContext(ctx, query, args...)
		return err
	})
	return res, err
}

// writeRequest is one write transaction waiting for the group committer.
type writeRequest struct {
	fn   func(tx *sql.Tx) error
	err  error
	done chan struct{}
}

// maxGroup bounds the writes committed together.
const maxGroup = 64

// commitGroups is the group committer of SQLite, which has one writer at
// a time and makes each commit durable with an fsync. The writes waiting
// when a transaction starts run together, each in a savepoint of its own
// (a failing one is rolled back alone), and are committed with one fsync.
// Writers of this process queue on a channel rather than in SQLite's busy
// handler, which sleeps and polls; other processes (the CLI beside serve)
// still meet busy_timeout.
func (s *Store) commitGroups() {
	defer s.closed.Done()
	for {
		var group []*writeRequest
		select {
		case req := <-s.commits:
			group = append(group, req)
		case <-s.closing:
			return
		}
	more:
		for len(group) < maxGroup {
			select {
			case req := <-s.commits:
				group = append(group, req)
			default:
				break more
			}
		}
		s.commitGroup(group)
		for _, req := range group {
			close(req.done)
		}
	}
}

func (s *Store) commitGroup(group []*writeRequest) {
	ctx := context.Background()
	failAll := func(err error) {
		for _, req := range group {
			if req.err == nil {
				req.err = err
			}
		}
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		failAll(dbError(err, "cannot start a database transaction"))
		return
	}
	if len(group) == 1 {
		if group[0].err = group[0].fn(tx); group[0].err != nil {
			tx.Rollback()
			return
		}
	} else {
		for _, req := range group {
			if _, err := tx.ExecContext(ctx, "SAVEPOINT w"); err != nil {
				tx.Rollback()
				failAll(dbError(err, "cannot start a database transaction"))
				return
			}
			if req.err = req.fn(tx); req.err != nil {
				if _, err := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT w"); err != nil {
					tx.Rollback()
					failAll(dbError(err, "cannot roll back a failed write"))
					return
				}
			}
			if _, err := tx.ExecContext(ctx, "RELEASE SAVEPOINT w"); err != nil {
				tx.Rollback()
				failAll(dbError(err, "cannot release a savepoint"))
				return
			}
		}
	}
	if err := tx.Commit(); err != nil {
		failAll(dbError(err, "cannot commit to the database"))
	}
}

// readOpts give a multi-statement read one snapshot: REPEATABLE READ on
// PostgreSQL; on SQLite a deferred transaction, which WAL makes a snapshot
// that does not wait for the writer.
var readOpts = &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}

// read runs fn in a read-only transaction.
func (s *Store) read(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return s.inTx(ctx, readOpts, fn)
}

func (s *Store) inTx(ctx context.Context, opts *sql.TxOptions, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, opts)
	if err != nil {
		return dbError(err, "cannot start a database transaction")
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return dbError(err, "cannot commit to the database")
	}
	return nil
}

// querier is what *sql.DB and *sql.Tx share.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// rowScanner is what *sql.Row and *sql.Rows share.
type rowScanner interface {
	Scan(dest ...any) error
}

// dbError wraps an unexpected database error. The message is for users;
// the SQL details stay in Err.
func dbError(err error, format string, args ...any) error {
	if _, ok := errors.AsType[*as2gate.Error](err); ok {
		return err
	}
	code := as2gate.EInternal
	switch {
	case unavailable(err):
		code = as2gate.EUnavailable
	case isPrimaryKey(err): // a record given the ID of another
		code = as2gate.EConflict
	case isNotText(err):
		code = as2gate.EInvalid
	}
	return as2gate.Wrap(code, err, format, args...)
}

// isNotText reports a value PostgreSQL refuses as text: not UTF-8, or
// holding NUL. The API refuses such names and filters before they get
// here; this keeps any other way in from being an internal error.
func isNotText(err error) bool {
	e, ok := errors.AsType[*pgconn.PgError](err)
	return ok && (e.Code == "22021" || e.Code == "22P05")
}

// unavailable reports an error worth retrying later: a busy SQLite file
// (after busy_timeout) or an unreachable PostgreSQL server.
func unavailable(err error) bool {
	if e, ok := errors.AsType[*sqlite.Error](err); ok {
		switch e.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return true
		}
	}
	if _, ok := errors.AsType[*pgconn.ConnectError](err); ok {
		return true
	}
	_, ok := errors.AsType[net.Error](err)
	return ok
}

// isUnique reports a violated UNIQUE constraint or index other than the
// primary key: the AS2 ID of a partner, a received Message-ID...
func isUnique(err error) bool {
	if e, ok := errors.AsType[*pgconn.PgError](err); ok {
		return e.Code == "23505" && !strings.HasSuffix(e.ConstraintName, "_pkey")
	}
	if e, ok := errors.AsType[*sqlite.Error](err); ok {
		return e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE
	}
	return false
}

// isPrimaryKey reports a duplicate ID (PostgreSQL names primary keys
// table_pkey).
func isPrimaryKey(err error) bool {
	if e, ok := errors.AsType[*pgconn.PgError](err); ok {
		return e.Code == "23505" && strings.HasSuffix(e.ConstraintName, "_pkey")
	}
	if e, ok := errors.AsType[*sqlite.Error](err); ok {
		return e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// isForeignKey reports a violated foreign key: a reference to a missing
// row, or the deletion of a row still referenced.
func isForeignKey(err error) bool {
	if e, ok := errors.AsType[*pgconn.PgError](err); ok {
		return e.Code == "23503"
	}
	if e, ok := errors.AsType[*sqlite.Error](err); ok {
		return e.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
	}
	return false
}

// args builds the argument list of a query, numbering placeholders.
type args []any

// add appends v and returns its placeholder.
func (a *args) add(v any) string {
	*a = append(*a, v)
	return "$" + strconv.Itoa(len(*a))
}

// list appends vs and returns their placeholders, comma-separated.
func (a *args) list(vs ...any) string {
	ps := make([]string, len(vs))
	for i, v := range vs {
		ps[i] = a.add(v)
	}
	return strings.Join(ps, ", ")
}

// placeholders returns "$from, …, $(from+n-1)".
func placeholders(from, n int) string {
	ps := make([]string, n)
	for i := range ps {
		ps[i] = "$" + strconv.Itoa(from+i)
	}
	return strings.Join(ps, ", ")
}

// now is the current time at the stored precision.
func now() time.Time { return time.Now().Truncate(time.Millisecond).UTC() }

// Times are stored as Unix milliseconds; zero times in nullable columns as NULL.

func millis(t time.Time) int64 { return t.UnixMilli() }

func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

func nullMillis(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

func fromNullMillis(ms sql.NullInt64) time.Time {
	if !ms.Valid {
		return time.Time{}
	}
	return fromMillis(ms.Int64)
}

// orNow returns t at the stored precision, or now when t is zero.
func orNow(t time.Time) time.Time {
	if t.IsZero() {
		return now()
	}
	return fromMillis(millis(t))
}

// nullString stores an empty reference (a foreign key) as NULL.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// nullBytes stores empty bytes as NULL, read back as nil.
func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// orNewID returns id, or a new one when it is empty.
func orNewID(id string) string {
	if id == "" {
		return as2gate.NewID()
	}
	return id
}

// exists reports whether table has a row with this id.
func exists(ctx context.Context, q querier, table, id string) (bool, error) {
	var n int
	err := q.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+table+" WHERE id = $1", id).Scan(&n)
	return n > 0, err
}

// affected returns the number of rows a statement changed.
func affected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
