// Package secretbox seals small secrets, our private keys, before they are
// stored in the database, with a master key that never lives there: it comes
// from AS2GATE_MASTER_KEY or from the file master.key in the data directory.
//
// A sealed value is a version byte (1), a random 96-bit nonce, then the
// AES-256-GCM ciphertext and tag. Random nonces are safe for far more values
// than a gateway will ever seal under one key (NIST SP 800-38D allows 2^32).
package secretbox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// KeySize is the length of a master key in bytes.
const KeySize = 32

// KeyFile is the name of the master key file in the data directory.
const KeyFile = "master.key"

// MaxPlaintext bounds what Seal accepts: the box is for keys and passwords,
// and a bound keeps a mistaken caller far from GCM's own limit.
const MaxPlaintext = 16 << 20

const (
	version   = 1
	nonceSize = 12
	tagSize   = 16
	// maxKeyFile bounds how much of master.key is read: the base64 text of a
	// key is 44 bytes, so anything much longer is not a key file.
	maxKeyFile = 1024
)

// ErrCannotOpen is wrapped by every error of Open: the master key is not the
// one that sealed the value, the value was altered or truncated, or the
// associated data differs.
var ErrCannotOpen = errors.New("secretbox: cannot open sealed value")

// Box seals and opens values with one master key. It is safe for concurrent
// use: it holds only the expanded key.
type Box struct {
	aead cipher.AEAD
}

// New returns a Box for a KeySize-byte master key.
func New(key []byte) (*Box, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("secretbox: master key of %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secretbox: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secretbox: %w", err)
	}
	return &Box{aead: aead}, nil
}

// Seal encrypts plaintext and binds it to associatedData (for example the ID
// of the certificate a private key belongs to), which Open must be given
// again: a sealed key copied to another certificate's row will not open.
func (b *Box) Seal(plaintext, associatedData []byte) ([]byte, error) {
	if len(plaintext) > MaxPlaintext {
		return nil, fmt.Errorf("secretbox: %d bytes to seal, at most %d", len(plaintext), MaxPlaintext)
	}
	out := make([]byte, 1+nonceSize, 1+nonceSize+len(plaintext)+tagSize)
	out[0] = version
	nonce := out[1:]
	rand.Read(nonce) // never fails: crypto/rand crashes the program instead
	return b.aead.Seal(out, nonce, plaintext, associatedData), nil
}

// Open decrypts what Seal returned, given the same associated data. Every
// failure wraps ErrCannotOpen.
func (b *Box) Open(sealed, associatedData []byte) ([]byte, error) {
	if len(sealed) < 1+nonceSize+tagSize {
		return nil, fmt.Errorf("%w: %d bytes is too short", ErrCannotOpen, len(sealed))
	}
	if sealed[0] != version {
		return nil, fmt.Errorf("%w: unknown format version %d", ErrCannotOpen, sealed[0])
	}
	plaintext, err := b.aead.Open(nil, sealed[1:1+nonceSize], sealed[1+nonceSize:], associatedData)
	if err != nil {
		return nil, fmt.Errorf("%w: wrong master key, wrong associated data or altered value", ErrCannotOpen)
	}
	return plaintext, nil
}

// LoadOrCreate returns the Box of the installation. A non-empty fromEnv (the
// value of AS2GATE_MASTER_KEY, base64 of 32 bytes) wins; otherwise the key is
// read from dataDir/master.key, which is made with a new random key when it
// does not exist. Processes starting together end up with the same key: the
// file appears whole or not at all, and only the first one is kept.
func LoadOrCreate(dataDir, fromEnv string) (*Box, error) {
	if fromEnv != "" {
		key, err := decodeKey(fromEnv)
		if err != nil {
			return nil, fmt.Errorf("secretbox: AS2GATE_MASTER_KEY %w", err)
		}
		return New(key)
	}
	path := filepath.Join(dataDir, KeyFile)
	key, err := readKeyFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key, err = createKeyFile(dataDir, path)
	}
	if err != nil {
		return nil, err
	}
	return New(key)
}

// readKeyFile reads a master key file, refusing one that others may read.
func readKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("secretbox: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("secretbox: %w", err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("secretbox: %s is not a regular file", path)
	}
	// Windows has no such permission bits: Go reports 0666 for every file.
	if perm := info.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, fmt.Errorf("secretbox: %s is open to group or others (mode %04o), "+
			"but it decrypts every private key of the gateway: run chmod 600 %s", path, perm, path)
	}
	text, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("secretbox: %w", err)
	}
	if len(text) > maxKeyFile {
		return nil, fmt.Errorf("secretbox: %s is over %d bytes: not a master key file", path, maxKeyFile)
	}
	key, err := decodeKey(string(text))
	if err != nil {
		return nil, fmt.Errorf("secretbox: %s %w", path, err)
	}
	return key, nil
}

// createKeyFile writes a new random key to a temporary file, syncs it, then
// links it to path. Unlike a rename, a link never replaces an existing file,
// so when another process got there first its key is read and used instead.
func createKeyFile(dir, path string) ([]byte, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("secretbox: creating the data directory: %w", err)
	}
	key := make([]byte, KeySize)
	rand.Read(key)
	tmp, err := os.CreateTemp(dir, ".master.key.tmp*") // O_EXCL, mode 0600
	if err != nil {
		return nil, fmt.Errorf("secretbox: creating %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString(base64.StdEncoding.EncodeToString(key) + "\n")
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("secretbox: writing %s: %w", path, err)
	}
	if err := os.Link(tmp.Name(), path); errors.Is(err, fs.ErrExist) {
		return readKeyFile(path)
	} else if err != nil {
		return nil, fmt.Errorf("secretbox: creating %s: %w", path, err)
	}
	// Make the new name durable: losing it after a crash would lose the key
	// to everything sealed since.
	if err := syncDir(dir); err != nil {
		return nil, fmt.Errorf("secretbox: syncing %s: %w", dir, err)
	}
	return key, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// decodeKey reads base64 text of a master key. Its errors read after the
// key's source and never quote the text, which is secret.
func decodeKey(text string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(text))
	if err != nil {
		return nil, errors.New("is not base64 (make a key with: openssl rand -base64 32)")
	}
	if len(key) != KeySize {
		return nil, fmt.Errorf("holds %d bytes, want %d (make a key with: openssl rand -base64 32)", len(key), KeySize)
	}
	return key, nil
}
