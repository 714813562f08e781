package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/as2gate/as2gate/internal/config"
	"github.com/as2gate/as2gate/internal/gateway"
	"github.com/as2gate/as2gate/internal/password"
)

// TestNewPasswordFromEnvironment runs the commands that set a password
// with it in AS2GATE_NEW_PASSWORD. AS2GATE_PASSWORD is the caller's own
// password (login's), often exported for a session: taking it for a new
// password would quietly give another user the caller's.
func TestNewPasswordFromEnvironment(t *testing.T) {
	data := t.TempDir()
	run := func(env []string, stdin string, args ...string) (string, int) {
		cmd := exec.Command(binary, append(args, "--data", data)...)
		// Unset first, whatever the test's own environment holds.
		cmd.Env = append(os.Environ(), append([]string{"AS2GATE_PASSWORD=", "AS2GATE_NEW_PASSWORD="}, env...)...)
		cmd.Stdin = strings.NewReader(stdin) // not a terminal
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		if ee, ok := err.(*exec.ExitError); ok {
			return stderr.String(), ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return stderr.String(), 0
	}
	passwordIs := func(want string) bool {
		inst, err := openInstallation(t.Context(), &config.Installation{DataDir: data, Database: "sqlite:" + filepath.Join(data, "as2gate.db")}, gateway.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer inst.Close()
		u, err := inst.store.GetUserByName(t.Context(), "ann")
		if err != nil {
			t.Fatal(err)
		}
		ok, err := password.Verify(want, u.PasswordHash)
		return ok && err == nil
	}
	for _, s := range []struct {
		name    string
		env     []string
		stdin   string
		args    []string
		fails   string // what the failure says; "" when the step succeeds
		current string // ann's password after the step
	}{
		{"create", []string{"AS2GATE_NEW_PASSWORD=first password 1"}, "",
			[]string{"user", "create", "--username", "ann", "--role", "viewer"}, "", "first password 1"},
		{"the caller's password is no new password", []string{"AS2GATE_PASSWORD=login password 1"}, "",
			[]string{"user", "password", "ann"}, "set AS2GATE_NEW_PASSWORD", "first password 1"},
		{"change, beside the caller's password", []string{"AS2GATE_PASSWORD=login password 1", "AS2GATE_NEW_PASSWORD=second password 2"}, "",
			[]string{"user", "password", "ann"}, "", "second password 2"},
		{"change from stdin", nil, "third password 3\n",
			[]string{"user", "password", "ann"}, "", "third password 3"},
		{"the variable wins over stdin", []string{"AS2GATE_NEW_PASSWORD=fourth password 4"}, "not this one 1234\n",
			[]string{"user", "password", "ann"}, "", "fourth password 4"},
	} {
		stderr, status := run(s.env, s.stdin, s.args...)
		switch {
		case s.fails == "" && status != 0:
			t.Fatalf("%s: status %d: %s", s.name, status, stderr)
		case s.fails != "" && (status == 0 || !strings.Contains(stderr, s.fails)):
			t.Fatalf("%s: status %d, stderr %q; want a failure saying %q", s.name, status, stderr, s.fails)
		}
		if !passwordIs(s.current) {
			t.Fatalf("%s: the password of ann is not %q", s.name, s.current)
		}
	}
}
