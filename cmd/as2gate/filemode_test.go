//go:build unix

package main

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/as2gate/as2gate/internal/config"
	"github.com/as2gate/as2gate/internal/gateway"
)

// TestInstallationFileModes checks that a new installation keeps its data
// folder and SQLite files to its owner whatever the umask: the database
// holds password hashes and sealed keys.
func TestInstallationFileModes(t *testing.T) {
	defer syscall.Umask(syscall.Umask(0)) // the most permissive umask
	dir := filepath.Join(t.TempDir(), "new", "data")
	db := filepath.Join(dir, "as2gate.db")
	inst, err := openInstallation(t.Context(), &config.Installation{DataDir: dir, Database: "sqlite:" + db}, gateway.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Close()
	for _, c := range []struct {
		path string
		want os.FileMode
	}{
		{dir, 0o700},
		{db, 0o600},
		{db + "-wal", 0o600},
		{db + "-shm", 0o600},
	} {
		info, err := os.Stat(c.path)
		if err != nil {
			t.Error(err)
			continue
		}
		if got := info.Mode().Perm(); got != c.want {
			t.Errorf("%s: mode %04o, want %04o", c.path, got, c.want)
		}
	}
}
