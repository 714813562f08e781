package apitest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/as2gate/as2gate/client"
	"github.com/as2gate/as2gate/internal/testpeer"
)

// walkThrough returns the one ```sh block of the README's section
// "## REST API".
func walkThrough(t *testing.T) string {
	t.Helper()
	readme, err := os.ReadFile(filepath.Join(testpeer.RepoRoot(), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## REST API\n")
	if !ok {
		t.Fatal(`README.md has no section "## REST API"`)
	}
	if end := strings.Index(section, "\n## "); end >= 0 {
		section = section[:end]
	}
	blocks := strings.Split(section, "\n```sh\n")
	if len(blocks) != 2 {
		t.Fatalf("the README's REST API section has %d sh blocks, want 1: the walk-through", len(blocks)-1)
	}
	script, _, ok := strings.Cut(blocks[1], "\n```\n")
	if !ok {
		t.Fatal("the walk-through's sh block does not end")
	}
	return script
}

// TestReadmeWalkThrough runs the README's curl walk-through as written,
// with bash, against a server that is its own partner: every command must
// succeed, and the file downloaded from the inbox must be the one sent.
func TestReadmeWalkThrough(t *testing.T) {
	t.Parallel()
	script := walkThrough(t)
	for _, tool := range []string{"bash", "curl", "jq"} {
		testpeer.Command(t, tool)
	}
	s := start(t, "readme")
	s.loop(t)
	dir := t.TempDir()
	order := bytes.Repeat([]byte("UNA:+.? 'UNB+UNOC:3+OURID+THEIRID'UNH+1+ORDERS:D:96A:UN'\n"), 200)
	file := filepath.Join(dir, "order 4711.edi")
	if err := os.WriteFile(file, order, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", "-c", "set -euo pipefail\n"+script)
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AS2GATE_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "AS2GATE_SERVER="+s.url, "AS2GATE_USER=operator-user", "AS2GATE_PASSWORD="+password,
		"STATION=LOOP", "PARTNER=LOOP", "FILE="+file)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("the walk-through failed: %v\nstdout:\n%s\nstderr:\n%s", err, &stdout, &stderr)
	}
	if !strings.Contains(stdout.String(), ": sent\n") {
		t.Errorf("the walk-through did not report the message sent:\n%s", &stdout)
	}
	received, err := os.ReadFile(filepath.Join(dir, "received.edi"))
	if err != nil || !bytes.Equal(received, order) {
		t.Fatalf("received.edi: %d bytes (%v), want the %d sent", len(received), err, len(order))
	}
	read := true
	list, err := s.as["viewer"].ListMessages(ctx(t), client.MessageFilter{Direction: "in", Read: &read})
	if err != nil || len(list.Items) != 1 || list.Items[0].Files[0].Name != "order 4711.edi" {
		t.Fatalf("messages marked read: %+v %v", list, err)
	}
}
