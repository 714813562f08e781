package sqlstore

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/as2gate/as2gate"
	"github.com/as2gate/as2gate/internal/testpeer"
)

// The same suite runs on every engine: SQLite always, PostgreSQL at
// AS2GATE_TEST_POSTGRES (each test in a schema of its own).

type engine struct {
	name string
	// newDB makes an empty database for one test and returns its URL.
	newDB func(t *testing.T) string
}

var engines = []engine{
	{"sqlite", func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "as2gate.db") }},
	{"postgres", postgresDB},
}

const defaultPostgres = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

var pg struct {
	once sync.Once
	base string
	db   *sql.DB // creates and drops the test schemas
	err  error
}

func postgresDB(t *testing.T) string {
	pg.once.Do(func() {
		pg.base = os.Getenv("AS2GATE_TEST_POSTGRES")
		if pg.base == "" {
			pg.base = defaultPostgres
		}
		pg.db, pg.err = sql.Open("pgx", pg.base)
		if pg.err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			pg.err = pg.db.PingContext(ctx)
		}
	})
	if pg.err != nil {
		testpeer.Missing(t, fmt.Sprintf("PostgreSQL at AS2GATE_TEST_POSTGRES (default %s): %v", defaultPostgres, pg.err))
	}
	schema := "t_" + as2gate.NewID() // lower-case letters and digits only
	if _, err := pg.db.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := pg.db.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			t.Error(err)
		}
	})
	u, err := url.Parse(pg.base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema) // pgx sends unknown parameters as run-time settings
	u.RawQuery = q.Encode()
	return u.String()
}

// eachEngine runs fn on every engine, in parallel.
func eachEngine(t *testing.T, fn func(t *testing.T, e engine)) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			fn(t, e)
		})
	}
}

// eachStore runs fn with a fresh store on every engine.
func eachStore(t *testing.T, fn func(t *testing.T, s *Store)) {
	eachEngine(t, func(t *testing.T, e engine) { fn(t, openStore(t, e.newDB(t))) })
}

func openStore(t *testing.T, dbURL string) *Store {
	t.Helper()
	s, err := Open(t.Context(), dbURL)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// wantCode checks the code of err and that its message for users names
// what it should and shows no SQL.
func wantCode(t *testing.T, err error, code as2gate.Code, mentions string) {
	t.Helper()
	if got := as2gate.ErrorCode(err); got != code {
		t.Fatalf("error %v: code %q, want %q", err, got, code)
	}
	msg := as2gate.ErrorMessage(err)
	if !strings.Contains(msg, mentions) {
		t.Fatalf("error message %q does not mention %q", msg, mentions)
	}
	for _, leak := range []string{"constraint", "violates", "SELECT", "INSERT", "UPDATE", "DELETE", "SQLSTATE"} {
		if strings.Contains(msg, leak) {
			t.Fatalf("error message %q shows SQL (%s)", msg, leak)
		}
	}
}

// stored is t as the store keeps it: UTC, whole milliseconds.
func stored(t time.Time) time.Time { return t.Truncate(time.Millisecond).UTC() }

func newCert(t *testing.T, s *Store, name string) *as2gate.Certificate {
	t.Helper()
	der := make([]byte, 64)
	rand.Read(der)
	sum := sha256.Sum256(der)
	c := &as2gate.Certificate{
		Name:        name,
		DER:         der,
		Subject:     "CN=" + name,
		Issuer:      "CN=Test CA",
		Serial:      "0A1B2C",
		Fingerprint: strings.ToUpper(hex.EncodeToString(sum[:])),
		NotBefore:   stored(time.Now().Add(-time.Hour)),
		NotAfter:    stored(time.Now().Add(24 * time.Hour)),
	}
	must(t, s.CreateCertificate(t.Context(), c))
	return c
}

func newStation(t *testing.T, s *Store, as2ID, certID string) *as2gate.Station {
	t.Helper()
	st := &as2gate.Station{AS2ID: as2ID, Name: "Station " + as2ID, Email: "ops@example.com", CertID: certID}
	must(t, s.CreateStation(t.Context(), st))
	return st
}

func newPartner(t *testing.T, s *Store, as2ID, certID string) *as2gate.Partner {
	t.Helper()
	p := &as2gate.Partner{AS2ID: as2ID, URL: "https://" + as2ID + ".example.com/as2", Sign: "sha256",
		Encrypt: "aes256-cbc", EncryptCertID: certID}
	p.Defaults()
	must(t, s.CreatePartner(t.Context(), p))
	return p
}

// message describes (without storing) a message between a station and a partner.
func message(st *as2gate.Station, p *as2gate.Partner, dir as2gate.Direction, status as2gate.Status, as2MessageID string) *as2gate.Message {
	m := &as2gate.Message{Direction: dir, Status: status, MessageID: as2MessageID, Subject: "Invoice"}
	if st != nil {
		m.StationID, m.StationAS2ID = st.ID, st.AS2ID
	}
	if p != nil {
		m.PartnerID, m.PartnerAS2ID = p.ID, p.AS2ID
	}
	return m
}

// world is a station and a partner to exchange messages.
type world struct {
	cert    *as2gate.Certificate
	station *as2gate.Station
	partner *as2gate.Partner
}

func newWorld(t *testing.T, s *Store) world {
	t.Helper()
	c := newCert(t, s, "ours")
	return world{c, newStation(t, s, "US", c.ID), newPartner(t, s, "THEM", c.ID)}
}

func TestOpenRefusesBadURLs(t *testing.T) {
	for _, u := range []string{"", "sqlite:", "sqlite::memory:", "mysql://localhost/x", "/var/lib/as2gate.db", "postgres:x"} {
		s, err := Open(t.Context(), u)
		if err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", u)
			continue
		}
		wantCode(t, err, as2gate.EInvalid, "")
	}
}

func TestOpenSQLitePathWithSpecialCharacters(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a dir?#%")
	must(t, os.Mkdir(dir, 0o755))
	path := filepath.Join(dir, "db?x=1.db")
	s := openStore(t, "sqlite:"+path)
	newCert(t, s, "x")
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the database is not at the path given: %v", err)
	}
}

func TestOpenUnreachablePostgres(t *testing.T) {
	// Port 1 on the loopback refuses at once.
	_, err := Open(t.Context(), "postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=2")
	wantCode(t, err, as2gate.EUnavailable, "cannot open the postgres database")
}

func TestPing(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		s, err := Open(t.Context(), e.newDB(t))
		must(t, err)
		must(t, s.Ping(t.Context()))
		s.Close()
		wantCode(t, s.Ping(t.Context()), as2gate.EUnavailable, "database does not answer")
	})
}

func TestSQLiteSettings(t *testing.T) {
	s := openStore(t, engines[0].newDB(t))
	for _, c := range []struct{ pragma, want string }{
		{"journal_mode", "wal"},
		{"synchronous", "2"}, // FULL
		{"foreign_keys", "1"},
		{"busy_timeout", "10000"},
	} {
		var got string
		must(t, s.db.QueryRowContext(t.Context(), "PRAGMA "+c.pragma).Scan(&got))
		if got != c.want {
			t.Errorf("PRAGMA %s = %s, want %s", c.pragma, got, c.want)
		}
	}
}

// The dialect numbers placeholders: modernc binds $N by number even out of
// order and repeated, as PostgreSQL does.
func TestPlaceholdersOutOfOrderAndRepeated(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		var a, b, ba string
		must(t, s.db.QueryRowContext(t.Context(),
			"SELECT CAST($2 AS TEXT), CAST($1 AS TEXT), CAST($2 AS TEXT) || CAST($1 AS TEXT)", "a", "b").Scan(&a, &b, &ba))
		if a != "b" || b != "a" || ba != "ba" {
			t.Fatalf("got %q %q %q, want b a ba", a, b, ba)
		}
	})
}

func countMigrations(t *testing.T, s *Store) int {
	t.Helper()
	var n int
	must(t, s.db.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM schema_migrations").Scan(&n))
	return n
}

func TestMigrationsApplyOnce(t *testing.T) {
	ms, err := loadMigrations(migrationFiles)
	must(t, err)
	eachEngine(t, func(t *testing.T, e engine) {
		t.Run("twice", func(t *testing.T) {
			u := e.newDB(t)
			s1 := openStore(t, u)
			c := newCert(t, s1, "kept")
			s2 := openStore(t, u)
			if n := countMigrations(t, s2); n != len(ms) {
				t.Fatalf("%d migrations recorded, want %d", n, len(ms))
			}
			if _, err := s2.GetCertificate(t.Context(), c.ID); err != nil {
				t.Fatalf("data lost on the second Open: %v", err)
			}
		})
		t.Run("race", func(t *testing.T) {
			u := e.newDB(t)
			const n = 4
			stores := make([]*Store, n)
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() { stores[i], errs[i] = Open(t.Context(), u) })
			}
			wg.Wait()
			for i := range n {
				if errs[i] != nil {
					t.Fatalf("Open %d: %v", i, errs[i])
				}
				defer stores[i].Close()
			}
			if got := countMigrations(t, stores[0]); got != len(ms) {
				t.Fatalf("%d migrations recorded, want %d", got, len(ms))
			}
		})
		t.Run("newer schema", func(t *testing.T) {
			u := e.newDB(t)
			s := openStore(t, u)
			_, err := s.db.ExecContext(t.Context(), "INSERT INTO schema_migrations (version, name, applied_at) VALUES (99999, 'future', 0)")
			must(t, err)
			_, err = Open(t.Context(), u)
			wantCode(t, err, as2gate.EInternal, "newer than this as2gate knows")
		})
	})
}

func TestLoadMigrationsRefusesBadNames(t *testing.T) {
	file := &fstest.MapFile{Data: []byte("CREATE TABLE x (id TEXT);")}
	for name, fsys := range map[string]fstest.MapFS{
		"no number":    {"migrations/init.sql": file},
		"zero":         {"migrations/0000_init.sql": file},
		"out of order": {"migrations/0002_b.sql": file, "migrations/0002_c.sql": file},
		"not sql":      {"migrations/0001_a.txt": file},
		"none":         {"migrations": &fstest.MapFile{Mode: fs.ModeDir}},
	} {
		if ms, err := loadMigrations(fsys); err == nil {
			t.Errorf("%s: no error, %d migrations", name, len(ms))
		}
	}
	ms, err := loadMigrations(fstest.MapFS{"migrations/0002_b.sql": file, "migrations/0001_a.sql": file})
	if err != nil || len(ms) != 2 || ms[0].version != 1 || ms[1].name != "0002_b.sql" {
		t.Fatalf("got %+v, %v; want 0001_a.sql then 0002_b.sql", ms, err)
	}
}

// A read does not wait for a write transaction of another connection.
func TestReadDuringWrite(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		u := e.newDB(t)
		writer, reader := openStore(t, u), openStore(t, u)
		w := newWorld(t, writer)
		m := message(w.station, w.partner, as2gate.Outbound, as2gate.StatusQueued, "<r@w>")
		must(t, writer.CreateMessage(t.Context(), m))

		tx, err := writer.db.BeginTx(t.Context(), nil)
		must(t, err)
		defer tx.Rollback()
		_, err = tx.ExecContext(t.Context(), "UPDATE messages SET subject = 'changing' WHERE id = $1", m.ID)
		must(t, err)

		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		defer cancel()
		got, err := reader.GetMessage(ctx, m.ID)
		if err != nil {
			t.Fatalf("read blocked by a writer: %v", err)
		}
		if got.Subject != "Invoice" {
			t.Fatalf("read an uncommitted change: %q", got.Subject)
		}
	})
}

func TestTimesRoundTripUTCMillis(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	must(t, err)
	created := time.Date(2026, 3, 29, 2, 30, 15, 123_456_789, paris)   // a DST change
	notBefore := time.Date(1950, 1, 1, 0, 0, 0, 999_999_999, time.UTC) // before 1970
	eachStore(t, func(t *testing.T, s *Store) {
		c := newCert(t, s, "old")
		c.NotBefore = notBefore
		must(t, s.UpdateCertificate(t.Context(), c))
		gotCert, err := s.GetCertificate(t.Context(), c.ID)
		must(t, err)

		w := newWorld(t, s)
		m := message(w.station, w.partner, as2gate.Inbound, as2gate.StatusReceived, "<t@w>")
		m.CreatedAt, m.CompletedAt = created, created.Add(time.Second)
		must(t, s.CreateMessage(t.Context(), m))
		got, err := s.GetMessage(t.Context(), m.ID)
		must(t, err)

		for _, c := range []struct {
			name      string
			got, want time.Time
		}{
			{"not before", gotCert.NotBefore, notBefore.Truncate(time.Millisecond)},
			{"created", got.CreatedAt, created.Truncate(time.Millisecond)},
			{"updated", got.UpdatedAt, created.Truncate(time.Millisecond)},
			{"completed", got.CompletedAt, created.Add(time.Second).Truncate(time.Millisecond)},
		} {
			if !c.got.Equal(c.want) || c.got.Location() != time.UTC || c.got.Nanosecond()%1e6 != 0 {
				t.Errorf("%s: got %v, want %v in UTC", c.name, c.got, c.want.UTC())
			}
		}
		if !m.CreatedAt.Equal(got.CreatedAt) || m.CreatedAt.Location() != time.UTC {
			t.Errorf("CreateMessage set CreatedAt %v, the store has %v", m.CreatedAt, got.CreatedAt)
		}
	})
}

// Write transactions that read before they write (CreatePartner checks its
// certificates first) succeed side by side on two connections: on SQLite
// they take the write lock at BEGIN, so none fails upgrading a read lock.
func TestConcurrentWriters(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		u := e.newDB(t)
		stores := []*Store{openStore(t, u), openStore(t, u)}
		c := newCert(t, stores[0], "shared")
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			s := stores[i%2]
			wg.Go(func() {
				for j := range 10 {
					if err := s.CreatePartner(t.Context(), &as2gate.Partner{AS2ID: fmt.Sprintf("P%d-%d", i, j),
						URL: "https://x.example.com", EncryptCertID: c.ID}); err != nil {
						errs[i] = err
						return
					}
				}
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("writer %d: %v", i, err)
			}
		}
		list, err := stores[1].ListPartners(t.Context())
		must(t, err)
		if len(list) != 80 {
			t.Fatalf("%d partners, want 80", len(list))
		}
	})
}

// A record given the ID of another is a conflict, not taken for the
// duplicate of a unique key such as a received Message-ID.
func TestDuplicateIDs(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		w := newWorld(t, s)
		m := message(w.station, w.partner, as2gate.Inbound, as2gate.StatusReceived, "<1@them>")
		must(t, s.CreateMessage(ctx, m))
		again := message(w.station, w.partner, as2gate.Inbound, as2gate.StatusRejected, "<2@them>")
		again.ID = m.ID
		wantCode(t, s.CreateMessage(ctx, again), as2gate.EConflict, "cannot save message <2@them>")

		st := *w.station
		st.AS2ID = "US-AGAIN"
		wantCode(t, s.CreateStation(ctx, &st), as2gate.EConflict, `cannot save station "US-AGAIN"`)
		jobs := []as2gate.Job{{ID: "same", Kind: as2gate.JobSend}, {ID: "same", Kind: as2gate.JobSend}}
		wantCode(t, s.CreateMessage(ctx, message(nil, nil, as2gate.Outbound, as2gate.StatusQueued, "<3@us>"), jobs...),
			as2gate.EConflict, "cannot add a send job")
	})
}

// TestNotText: a value that is not UTF-8, or holds NUL, finds nothing on
// SQLite and is refused by PostgreSQL: either way a clear outcome, never
// an internal error.
func TestNotText(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		for what, call := range map[string]func() error{
			"GetUser":           func() error { _, err := s.GetUser(ctx, "\xe9"); return err },
			"GetCertificate":    func() error { _, err := s.GetCertificate(ctx, "a\x00b"); return err },
			"GetStationByAS2ID": func() error { _, err := s.GetStationByAS2ID(ctx, "\xe9"); return err },
			"GetTokenByHash":    func() error { _, err := s.GetTokenByHash(ctx, "\xe9"); return err },
			"ListMessages": func() error {
				_, err := s.ListMessages(ctx, as2gate.MessageFilter{Subject: "caf\xe9", Limit: 5})
				return err
			},
		} {
			switch code := as2gate.ErrorCode(call()); code {
			case "", as2gate.ENotFound, as2gate.EInvalid:
			default:
				t.Errorf("%s: %s", what, code)
			}
		}
	})
}
