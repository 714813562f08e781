package apitest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/as2gate/as2gate/client"
)

// TestCLIRemote runs the CLI against the server with --server and --token
// (or $AS2GATE_SERVER and $AS2GATE_TOKEN): it answers what it answers on
// the local installation, and fails as it fails there.
func TestCLIRemote(t *testing.T) {
	t.Parallel()
	s := start(t, "cli")
	dir := t.TempDir()
	run := func(stdin string, env []string, args ...string) string {
		t.Helper()
		out, stderr, code := cli(t, stdin, env, args...)
		if code != 0 {
			t.Fatalf("as2gate %s: status %d: %s", strings.Join(args, " "), code, stderr)
		}
		return out
	}
	remote := func(role string, args ...string) string {
		t.Helper()
		return run("", nil, append(args, "--server", s.url, "--token", s.tokens[role])...)
	}
	local := func(args ...string) string {
		t.Helper()
		return run("", nil, append(args, "--data", s.Data)...)
	}
	fails := func(want string, status int, env []string, args ...string) {
		t.Helper()
		out, stderr, code := cli(t, "", env, args...)
		if code != status || !strings.Contains(stderr, want) {
			t.Errorf("as2gate %s: status %d, stderr %q, stdout %q; want status %d saying %q", strings.Join(args, " "), code, stderr, out, status, want)
		}
	}
	decode := func(out string, v any) {
		t.Helper()
		if err := json.Unmarshal([]byte(out), v); err != nil {
			t.Fatalf("not JSON (%v): %s", err, out)
		}
	}

	// login: the password from the environment or from stdin.
	var tok client.Tokens
	decode(run("", []string{"AS2GATE_PASSWORD=" + password}, "login", "--server", s.url, "--username", "manager-user", "--json"), &tok)
	if tok.Role != "manager" || !strings.HasPrefix(tok.AccessToken, "as2t_") {
		t.Fatalf("login: %+v", tok)
	}
	manager := []string{"AS2GATE_SERVER=" + s.url, "AS2GATE_TOKEN=" + tok.AccessToken}
	if out := run(password+"\n", []string{"AS2GATE_SERVER=" + s.url, "AS2GATE_USER=operator-user"}, "login"); !strings.Contains(out, "Access token:") ||
		!strings.Contains(out, "as2t_") || !strings.Contains(out, "operator") {
		t.Fatalf("login:\n%s", out)
	}
	fails("wrong username or password", 1, []string{"AS2GATE_PASSWORD=wrong"}, "login", "--server", s.url, "--username", "manager-user")

	// Configured remotely with the token from login, as the manager: a
	// station, and itself as the partner with its exported certificate.
	run("", manager, "station", "create", "--as2-id", "LOOP", "--name", "Loop")
	pem := filepath.Join(dir, "loop.pem")
	if err := os.WriteFile(pem, []byte(run("", manager, "station", "cert", "LOOP")), 0o600); err != nil {
		t.Fatal(err)
	}
	run("", manager, "partner", "create", "--as2-id", "LOOP", "--url", s.URL(), "--cert", pem, "--retry-delay", "1s")
	for _, args := range [][]string{{"station", "list"}, {"station", "show", "LOOP"}, {"partner", "list"}, {"partner", "show", "LOOP"},
		{"cert", "list"}, {"user", "list"}} {
		role := "viewer"
		if args[0] == "user" {
			role = "admin"
		}
		for _, format := range [][]string{nil, {"--json"}} {
			a := append(args, format...)
			if r, l := remote(role, a...), local(a...); r != l {
				t.Errorf("as2gate %s: remotely\n%s\nlocally\n%s", strings.Join(a, " "), r, l)
			}
		}
	}

	// Send remotely, wait until sent; then the messages as seen locally.
	payload := strings.Repeat("ISA*00*~ST*850~\n", 500)
	file := filepath.Join(dir, "order.x12")
	if err := os.WriteFile(file, []byte(payload), 0o600); err != nil {
		t.Fatal(err)
	}
	var sent client.Message
	decode(run("", []string{"AS2GATE_SERVER=" + s.url, "AS2GATE_TOKEN=" + s.tokens["operator"]},
		"send", "--station", "LOOP", "--partner", "LOOP", "--subject", "via the API", "--wait", "--json", file), &sent)
	if sent.Status != "sent" || sent.Subject != "via the API" || len(sent.Files) != 1 || sent.Files[0].Name != "order.x12" {
		t.Fatalf("sent %+v", sent)
	}
	var list client.List[client.Message]
	decode(local("message", "list", "--direction", "in", "--json"), &list)
	if len(list.Items) != 1 {
		t.Fatalf("received %+v", list)
	}
	in := list.Items[0].ID
	for _, args := range [][]string{{"message", "list"}, {"message", "list", "--direction", "out", "--json"}, {"message", "list", "--json"},
		{"message", "show", in}, {"message", "show", sent.ID, "--json"}, {"message", "mdn", in}, {"message", "mdn", sent.ID}} {
		if r, l := remote("viewer", args...), local(args...); r != l {
			t.Errorf("as2gate %s: remotely\n%s\nlocally\n%s", strings.Join(args, " "), r, l)
		}
	}
	if got := remote("viewer", "message", "download", in); got != payload {
		t.Errorf("download to stdout: %d bytes, want %d", len(got), len(payload))
	}
	out := filepath.Join(dir, "out")
	os.Mkdir(out, 0o700)
	remote("viewer", "message", "download", sent.ID, "--out", out)
	if got, err := os.ReadFile(filepath.Join(out, "order.x12")); err != nil || string(got) != payload {
		t.Errorf("download to a folder: %d bytes (%v)", len(got), err)
	}

	// Failures read as they do locally.
	for _, args := range [][]string{{"station", "show", "NOPE"}, {"cert", "delete", sent.ID}, {"message", "cancel", sent.ID}} {
		_, remoteErr, rc := cli(t, "", nil, append(args, "--server", s.url, "--token", s.tokens["admin"])...)
		_, localErr, lc := cli(t, "", nil, append(args, "--data", s.Data)...)
		if rc != 1 || lc != 1 || remoteErr != localErr {
			t.Errorf("as2gate %s: remotely %d %q, locally %d %q", strings.Join(args, " "), rc, remoteErr, lc, localErr)
		}
	}
	fails("role viewer may not do this", 1, nil, "station", "create", "--as2-id", "X", "--server", s.url, "--token", s.tokens["viewer"])
	fails("the server needs a token", 2, nil, "station", "list", "--server", s.url)
	fails("give no --config, --data or --database with it", 2, nil, "station", "list", "--server", s.url, "--data", s.Data)
	fails("--token goes with --server", 2, nil, "station", "list", "--token", s.tokens["admin"], "--data", s.Data)
	fails("invalid access token", 1, []string{"AS2GATE_SERVER=" + s.url, "AS2GATE_TOKEN=as2t_forged"}, "station", "list")

	// Users and keys: locally for bootstrap and recovery, remotely as an
	// administrator.
	run("new password 1234\n", nil, "user", "create", "--username", "carl", "--role", "viewer", "--data", s.Data)
	created, err := s.as["admin"].ListAudit(ctx(t), client.AuditFilter{Actor: "cli", Action: "user.create"})
	if err != nil || len(created.Items) != 2 || created.Items[0].Target != "carl" || created.Items[1].Target != "admin-user" {
		t.Fatalf("the local user creations in the audit log: %+v %v", created, err)
	}
	var key client.APIKey
	decode(remote("admin", "apikey", "create", "--name", "erp", "--role", "operator", "--json"), &key)
	if !strings.HasPrefix(key.Secret, "as2k_") || key.Role != "operator" {
		t.Fatalf("key %+v", key)
	}
	run("", []string{"AS2GATE_SERVER=" + s.url, "AS2GATE_TOKEN=" + key.Secret}, "message", "list")
	if keys := local("apikey", "list"); !strings.Contains(keys, "erp") || !strings.Contains(keys, key.Prefix) || strings.Contains(keys, key.Secret) {
		t.Errorf("apikey list:\n%s", keys)
	}
	local("apikey", "revoke", key.ID)
	fails("API key revoked", 1, []string{"AS2GATE_SERVER=" + s.url, "AS2GATE_TOKEN=" + key.Secret}, "message", "list")
	run("", []string{"AS2GATE_NEW_PASSWORD=another password 1"}, "user", "password", "carl", "--server", s.url, "--token", s.tokens["admin"])
	fails("wrong username or password", 1, []string{"AS2GATE_PASSWORD=new password 1234"}, "login", "--server", s.url, "--username", "carl")
	run("", []string{"AS2GATE_PASSWORD=another password 1"}, "login", "--server", s.url, "--username", "carl")
	remote("admin", "user", "delete", "carl")
	local("user", "delete", "admin") // the administrator of the first start
	fails("the last administrator", 1, nil, "user", "delete", "admin-user", "--data", s.Data)
	if users := local("user", "list"); strings.Contains(users, "carl") || !strings.Contains(users, "admin-user") {
		t.Errorf("user list:\n%s", users)
	}
}
