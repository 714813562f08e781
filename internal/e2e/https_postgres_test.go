package e2e

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to make a schema

	"github.com/as2gate/as2gate/client"
	"github.com/as2gate/as2gate/internal/testpeer"
)

// postgresURL gives a server a schema of its own in the test database.
func postgresURL(t *testing.T) string {
	base := os.Getenv("AS2GATE_TEST_POSTGRES")
	if base == "" {
		base = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	db, err := sql.Open("pgx", base)
	if err == nil {
		err = db.PingContext(context.Background())
	}
	if err != nil {
		testpeer.Missing(t, "PostgreSQL at "+base+": "+err.Error())
	}
	var r [6]byte
	rand.Read(r[:])
	schema := "e2e_" + hex.EncodeToString(r[:])
	if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		db.Exec("DROP SCHEMA " + schema + " CASCADE")
		db.Close()
	})
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "search_path=" + schema
}

// TestHTTPSAndPostgres: B keeps its records in PostgreSQL and receives over
// HTTPS with a self-signed certificate that A trusts for that partner only;
// files go both ways.
func TestHTTPSAndPostgres(t *testing.T) {
	openssl := testpeer.Command(t, "openssl")
	dir := t.TempDir()
	tlsKey, tlsCert := filepath.Join(dir, "tls.key"), filepath.Join(dir, "tls.crt")
	testpeer.Run(t, dir, openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
		"-addext", "subjectAltName=IP:127.0.0.1", "-keyout", tlsKey, "-out", tlsCert)

	pg := postgresURL(t)
	a := NewServer(t, bin, "A", fastFlags...)
	b := NewServerWithEnv(t, bin, "B", []string{"AS2GATE_DATABASE=" + pg},
		append([]string{"--as2-tls-cert", tlsCert, "--as2-tls-key", tlsKey}, fastFlags...)...)
	if !strings.HasPrefix(b.URL(), "https://") {
		t.Fatalf("B's URL %s", b.URL())
	}
	aCert, bCert := stationCert(t, a, "A"), stationCert(t, b, "B")
	a.OK("partner", "create", "--as2-id", "B", "--url", b.URL(), "--cert", bCert, "--tls-cert", tlsCert, "--mdn", "async")
	b.OK("partner", "create", "--as2-id", "A", "--url", a.URL(), "--cert", aCert)

	for _, leg := range []struct {
		from, to     *Server
		fromID, toID string
	}{{a, b, "A", "B"}, {b, a, "B", "A"}} {
		file := filepath.Join(t.TempDir(), "po-"+leg.fromID+".x12")
		sum := writeRandom(t, file, 200_000, 7)
		var out client.Message
		leg.from.JSON(&out, "send", "--station", leg.fromID, "--partner", leg.toID, "--wait", "--wait-timeout", "60s", file)
		if out.Status != "sent" {
			t.Fatalf("%s to %s: %+v", leg.fromID, leg.toID, out)
		}
		in := messages(t, leg.to, "--direction", "in", "--message-id", out.MessageID)
		if len(in) != 1 || in[0].Files[0].SHA256 != sum {
			t.Fatalf("%s received %+v", leg.toID, in)
		}
	}

	// B's records are in PostgreSQL indeed.
	db, err := sql.Open("pgx", pg)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM messages").Scan(&n); err != nil || n != 2 {
		t.Fatalf("B's PostgreSQL holds %d messages (%v), want 2", n, err)
	}

	// Without the partner's TLS certificate, A refuses B's.
	a.OK("partner", "create", "--as2-id", "B2", "--url", b.URL(), "--cert", bCert, "--retries", "0")
	r := a.Run("send", "--station", "A", "--partner", "B2", "--wait", "--wait-timeout", "60s", filepath.Join(dir, "tls.crt"))
	if r.Err == nil {
		t.Fatal("sending to an untrusted HTTPS partner succeeded")
	}
	if !strings.Contains(r.Stdout+r.Stderr, "certificate") {
		t.Fatalf("the failure does not say why: %s %s", r.Stdout, r.Stderr)
	}
}
