package main

import (
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"path/filepath"
	"strings"
	"testing"

	"github.com/as2gate/as2gate/internal/config"
	"github.com/as2gate/as2gate/internal/gateway"
	"github.com/as2gate/as2gate/internal/pki"
)

func newMasterKey() string {
	key := make([]byte, 32)
	rand.Read(key)
	return base64.StdEncoding.EncodeToString(key)
}

// TestMasterKeyCheck opens one installation in turn with the right and a
// wrong master key: a wrong key must stop the start, before any private
// key is needed, also on a database made before the check value existed.
func TestMasterKeyCheck(t *testing.T) {
	right, wrong := newMasterKey(), newMasterKey()
	dir := t.TempDir()
	inst := func(key string) *config.Installation {
		return &config.Installation{DataDir: dir, Database: "sqlite:" + filepath.Join(dir, "as2gate.db"), MasterKey: key}
	}
	open := func(key string) error {
		i, err := openInstallation(t.Context(), inst(key), gateway.Options{})
		if err == nil {
			i.Close()
		}
		return err
	}
	// The first start records the right key, and seals a private key with it.
	i, err := openInstallation(t.Context(), inst(right), gateway.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := i.gw.GenerateCertificate(t.Context(), "ours", pki.SelfSignedOptions{CommonName: "ours", KeyBits: 2048, ValidYears: 1}); err != nil {
		t.Fatal(err)
	}
	i.Close()
	forgetCheck := func() { // as in a database from before the check value
		db, err := sql.Open("sqlite", filepath.Join(dir, "as2gate.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := db.Exec("DELETE FROM settings"); err != nil {
			t.Fatal(err)
		}
	}

	for _, step := range []struct {
		name   string
		before func()
		key    string
		ok     bool
	}{
		{"right key", nil, right, true},
		{"wrong key", nil, wrong, false},
		{"wrong key, no check value yet", forgetCheck, wrong, false},
		{"right key, no check value yet", forgetCheck, right, true},
		{"wrong key once the check value is back", nil, wrong, false},
		{"right key again", nil, right, true},
	} {
		if step.before != nil {
			step.before()
		}
		err := open(step.key)
		switch {
		case step.ok && err != nil:
			t.Errorf("%s: %v", step.name, err)
		case !step.ok && err == nil:
			t.Errorf("%s: opened", step.name)
		case !step.ok && !strings.Contains(err.Error(), "not the master key"):
			t.Errorf("%s: error %q does not say the master key is wrong", step.name, err)
		}
	}
}
