package secretbox

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func newKey() []byte {
	k := make([]byte, KeySize)
	rand.Read(k)
	return k
}

func mustNew(t *testing.T, key []byte) *Box {
	t.Helper()
	b, err := New(key)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustSeal(t *testing.T, b *Box, plaintext, ad []byte) []byte {
	t.Helper()
	sealed, err := b.Seal(plaintext, ad)
	if err != nil {
		t.Fatal(err)
	}
	return sealed
}

func TestNewKeySize(t *testing.T) {
	for _, n := range []int{0, 16, 24, 31, 33, 64} {
		if _, err := New(make([]byte, n)); err == nil {
			t.Errorf("New(%d bytes) succeeded", n)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	b := mustNew(t, newKey())
	for _, tc := range []struct {
		name          string
		plaintext, ad []byte
	}{
		{"empty", nil, nil},
		{"key with certificate ID", []byte("-----BEGIN PRIVATE KEY-----\n..."), []byte("cert-42")},
		{"binary", bytes.Repeat([]byte{0, 0xff}, 4096), []byte{0}},
	} {
		sealed := mustSeal(t, b, tc.plaintext, tc.ad)
		if want := 1 + nonceSize + len(tc.plaintext) + tagSize; len(sealed) != want || sealed[0] != 1 {
			t.Errorf("%s: sealed is %d bytes, version %d; want %d bytes, version 1", tc.name, len(sealed), sealed[0], want)
		}
		if len(tc.plaintext) > 0 && bytes.Contains(sealed, tc.plaintext) {
			t.Errorf("%s: sealed value contains the plaintext", tc.name)
		}
		got, err := b.Open(sealed, tc.ad)
		if err != nil || !bytes.Equal(got, tc.plaintext) {
			t.Errorf("%s: Open = %q, %v", tc.name, got, err)
		}
	}
	// Fresh nonces: sealing the same value twice gives different outputs.
	if a, c := mustSeal(t, b, []byte("x"), nil), mustSeal(t, b, []byte("x"), nil); bytes.Equal(a, c) {
		t.Error("two seals of one value are equal")
	}
}

func TestSealBound(t *testing.T) {
	b := mustNew(t, newKey())
	if _, err := b.Seal(make([]byte, MaxPlaintext+1), nil); err == nil {
		t.Error("Seal accepted more than MaxPlaintext")
	}
}

func TestOpenRefuses(t *testing.T) {
	key := newKey()
	b := mustNew(t, key)
	ad := []byte("cert-1")
	sealed := mustSeal(t, b, []byte("private key"), ad)
	flip := func(i int) []byte {
		s := bytes.Clone(sealed)
		s[i] ^= 1
		return s
	}
	for _, tc := range []struct {
		name   string
		box    *Box
		sealed []byte
		ad     []byte
	}{
		{"wrong key", mustNew(t, newKey()), sealed, ad},
		{"wrong associated data", b, sealed, []byte("cert-2")},
		{"missing associated data", b, sealed, nil},
		{"version altered", b, flip(0), ad},
		{"nonce altered", b, flip(1), ad},
		{"ciphertext altered", b, flip(1 + nonceSize), ad},
		{"tag altered", b, flip(len(sealed) - 1), ad},
		{"truncated", b, sealed[:len(sealed)-1], ad},
		{"too short", b, sealed[:1+nonceSize+tagSize-1], ad},
		{"empty", b, nil, ad},
	} {
		got, err := tc.box.Open(tc.sealed, tc.ad)
		if !errors.Is(err, ErrCannotOpen) || got != nil {
			t.Errorf("%s: Open = %q, %v; want ErrCannotOpen", tc.name, got, err)
		}
	}
}

func writeKeyFile(t *testing.T, dir string, content string, mode os.FileMode) {
	t.Helper()
	path := filepath.Join(dir, KeyFile)
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // WriteFile's mode is filtered by the umask
		t.Fatal(err)
	}
}

func TestLoadOrCreateFromEnv(t *testing.T) {
	dir := t.TempDir()
	fileKey, envKey := newKey(), newKey()
	writeKeyFile(t, dir, base64.StdEncoding.EncodeToString(fileKey), 0o600)

	b, err := LoadOrCreate(dir, base64.StdEncoding.EncodeToString(envKey)+"\n")
	if err != nil {
		t.Fatal(err)
	}
	sealed := mustSeal(t, b, []byte("secret"), nil)
	if _, err := mustNew(t, envKey).Open(sealed, nil); err != nil {
		t.Errorf("the environment's key did not win: %v", err)
	}
	if _, err := mustNew(t, fileKey).Open(sealed, nil); err == nil {
		t.Error("sealed with the file's key despite the environment")
	}

	empty := t.TempDir()
	if _, err := LoadOrCreate(empty, base64.StdEncoding.EncodeToString(envKey)); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(empty); len(entries) != 0 {
		t.Errorf("a key from the environment wrote %v", entries)
	}
}

func TestLoadOrCreateFromFile(t *testing.T) {
	dir := t.TempDir()
	key := newKey()
	writeKeyFile(t, dir, base64.StdEncoding.EncodeToString(key)+"\n", 0o400)
	b, err := LoadOrCreate(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mustNew(t, key).Open(mustSeal(t, b, []byte("x"), nil), nil); err != nil {
		t.Errorf("the file's key was not used: %v", err)
	}
}

func TestLoadOrCreateCreatesOnce(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data") // not there yet
	first, err := LoadOrCreate(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, KeyFile)
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("%s has mode %04o, want 0600", path, perm)
	}
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(text))); err != nil || len(key) != KeySize {
		t.Errorf("%s holds %q, want base64 of %d bytes", path, text, KeySize)
	}

	second, err := LoadOrCreate(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := second.Open(mustSeal(t, first, []byte("x"), nil), nil); err != nil {
		t.Errorf("the second start did not reuse the key: %v", err)
	}
	again, _ := os.ReadFile(path)
	if !bytes.Equal(text, again) {
		t.Error("the key file changed on the second start")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("data directory holds %d entries, want only %s", len(entries), KeyFile)
	}
}

func TestLoadOrCreateConcurrent(t *testing.T) {
	dir := t.TempDir()
	const n = 16
	boxes := make([]*Box, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			boxes[i], errs[i] = LoadOrCreate(dir, "")
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("start %d: %v", i, err)
		}
	}
	sealed := mustSeal(t, boxes[0], []byte("x"), nil)
	for i, b := range boxes[1:] {
		if _, err := b.Open(sealed, nil); err != nil {
			t.Errorf("start %d uses another key than start 0", i+1)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("data directory holds %d entries, want only %s", len(entries), KeyFile)
	}
}

func TestLoadOrCreateRefuses(t *testing.T) {
	good := base64.StdEncoding.EncodeToString(newKey())
	for _, tc := range []struct {
		name    string
		file    string // "" for no file
		mode    os.FileMode
		env     string
		message string // part of the error
	}{
		{name: "group readable", file: good, mode: 0o640, message: "chmod 600"},
		{name: "world readable", file: good, mode: 0o604, message: "chmod 600"},
		{name: "group writable", file: good, mode: 0o620, message: "chmod 600"},
		{name: "file not base64", file: "not a key!", mode: 0o600, message: "not base64"},
		{name: "file too short", file: base64.StdEncoding.EncodeToString(make([]byte, 16)), mode: 0o600, message: "holds 16 bytes"},
		{name: "file empty", file: "\n", mode: 0o600, message: "holds 0 bytes"},
		{name: "file too large", file: strings.Repeat("A", 2000), mode: 0o600, message: "not a master key file"},
		{name: "env not base64", env: "not-base64!", message: "AS2GATE_MASTER_KEY is not base64"},
		{name: "env too long", env: base64.StdEncoding.EncodeToString(make([]byte, 48)), message: "AS2GATE_MASTER_KEY holds 48 bytes"},
		{name: "env bad despite good file", file: good, mode: 0o600, env: "AAAA", message: "AS2GATE_MASTER_KEY holds 3 bytes"},
	} {
		dir := t.TempDir()
		if tc.file != "" {
			writeKeyFile(t, dir, tc.file, tc.mode)
		}
		_, err := LoadOrCreate(dir, tc.env)
		if err == nil || !strings.Contains(err.Error(), tc.message) {
			t.Errorf("%s: error = %v, want one saying %q", tc.name, err, tc.message)
		}
		if tc.env != "" && err != nil && strings.Contains(err.Error(), tc.env) {
			t.Errorf("%s: error quotes the secret: %v", tc.name, err)
		}
		if after, _ := os.ReadFile(filepath.Join(dir, KeyFile)); tc.file != "" && string(after) != tc.file {
			t.Errorf("%s: the refused key file was changed", tc.name)
		}
	}
}

func TestLoadOrCreateNotAFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, KeyFile), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreate(dir, ""); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("error = %v, want one saying it is not a regular file", err)
	}
}
