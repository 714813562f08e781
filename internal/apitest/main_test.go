package apitest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/as2gate/as2gate/client"
	"github.com/as2gate/as2gate/internal/e2e"
)

// bin is the as2gate binary under test, built once by TestMain.
var bin string

func TestMain(m *testing.M) {
	var cleanup func()
	var err error
	if bin, cleanup, err = e2e.BuildBinary(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	cleanup()
	os.Exit(code)
}

// password is every test user's.
const password = "a password long enough"

var roles = []string{"admin", "manager", "operator", "viewer"}

// fastFlags make a server send within a fraction of a second.
var fastFlags = []string{"--workers", "4", "--poll-interval", "100ms", "--send-scan-interval", "200ms"}

// server is an `as2gate serve` process with a user of each role, named
// after it (admin-user, ...), and a client logged in as each.
type server struct {
	*e2e.Server
	url    string                    // the admin listener's
	as     map[string]*client.Client // by role
	tokens map[string]string         // by role: the access token of the client
}

// start starts a server with flags added to fastFlags. The first user is
// made as on a new installation, with the CLI; the others through the API.
func start(t *testing.T, name string, flags ...string) *server {
	t.Helper()
	s := &server{Server: e2e.NewServer(t, bin, name, append(slices.Clone(fastFlags), flags...)...), as: map[string]*client.Client{}, tokens: map[string]string{}}
	s.url = fmt.Sprintf("http://127.0.0.1:%d", s.AdminPort)
	if _, stderr, code := cli(t, "", []string{"AS2GATE_NEW_PASSWORD=" + password},
		"user", "create", "--data", s.Data, "--username", "admin-user", "--role", "admin"); code != 0 {
		t.Fatalf("user create: status %d: %s", code, stderr)
	}
	for _, role := range roles {
		if role != "admin" {
			if _, err := s.as["admin"].CreateUser(ctx(t), client.UserInput{Username: ptr(role + "-user"), Password: ptr(password), Role: ptr(role)}); err != nil {
				t.Fatal(err)
			}
		}
		s.tokens[role] = s.token(t, role+"-user")
		s.as[role] = client.New(s.url, client.WithToken(s.tokens[role]))
	}
	return s
}

// token logs in and returns a new access token of the user.
func (s *server) token(t *testing.T, username string) string {
	t.Helper()
	tok, err := client.New(s.url).Token(ctx(t), username, password)
	if err != nil {
		t.Fatalf("login as %s: %v", username, err)
	}
	return tok.AccessToken
}

// login returns a client with a new access token of the user.
func (s *server) login(t *testing.T, username string) *client.Client {
	t.Helper()
	return client.New(s.url, client.WithToken(s.token(t, username)))
}

// loop makes station LOOP and partner LOOP on the server: the partner is
// the station itself at the server's own AS2 URL, so that what the server
// sends it receives, signed, encrypted and with a signed MDN.
func (s *server) loop(t *testing.T) {
	t.Helper()
	admin := s.as["admin"]
	st, err := admin.CreateStation(ctx(t), client.StationInput{AS2ID: ptr("LOOP")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CreatePartner(ctx(t), client.PartnerInput{AS2ID: ptr("LOOP"), URL: ptr(s.URL()), EncryptCertID: &st.CertID,
		RetryDelaySeconds: ptr(1)}); err != nil {
		t.Fatal(err)
	}
}

// cli runs the binary with stdin and env added to the environment (less
// the settings of as2gate that would point it elsewhere).
func cli(t *testing.T, stdin string, env []string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AS2GATE_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatal(err)
	}
	return stdout.String(), stderr.String(), cmd.ProcessState.ExitCode()
}

// waitFinal polls a message until no more work is scheduled for it.
func waitFinal(t *testing.T, c *client.Client, id string) *client.Message {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		m, err := c.GetMessage(ctx(t), id)
		if err != nil {
			t.Fatal(err)
		}
		switch m.Status {
		case "queued", "sending", "awaiting_mdn":
		default:
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("message %s still %s after 30 s", id, m.Status)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitSent waits until a message is sent, and fails the test if it is not.
func waitSent(t *testing.T, c *client.Client, id string) *client.Message {
	t.Helper()
	m := waitFinal(t, c, id)
	if m.Status != "sent" {
		t.Fatalf("message %s is %s: %s", id, m.Status, m.Reason)
	}
	return m
}

func ctx(t *testing.T) context.Context { return t.Context() }

func ptr[T any](v T) *T { return &v }

// apiError returns err as an *APIError, failing the test if it is not one
// with that status and code.
func apiError(t *testing.T, err error, status int, code string) *client.APIError {
	t.Helper()
	e, ok := errors.AsType[*client.APIError](err)
	if !ok {
		t.Fatalf("error %v (%T), want an API error %d %s", err, err, status, code)
	}
	if e.Status != status || e.Code != code || e.Message == "" {
		t.Fatalf("error %+v, want %d %s with a message", e, status, code)
	}
	return e
}
