// Package fsblob keeps blobs as files under a directory, durably: an object
// is written to a temporary file, synced, renamed into place, and its
// directory synced, so that it is either whole or absent after a crash.
package fsblob

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/as2gate/as2gate"
)

// tmpDir holds objects being written, inside the root so that renames
// stay on one file system. Keys cannot name it (they start with a letter).
const tmpDir = ".tmp"

// Store is a BlobStore on the local file system.
type Store struct {
	root     string
	syncs    dirSyncs
	creating folderSet // folders made and not yet synced into their parents
}

var _ as2gate.BlobStore = (*Store)(nil)

// New opens (creating) a store rooted at dir.
func New(dir string) (*Store, error) {
	root, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(root, tmpDir), 0o700); err != nil {
		return nil, err
	}
	return &Store{root: root}, nil
}

// Root is the directory holding the blobs.
func (s *Store) Root() string { return s.root }

// TempDir is where callers may write files they will Import: same file
// system as the objects, so Import is a rename.
func (s *Store) TempDir() string { return filepath.Join(s.root, tmpDir) }

// path checks a key and returns its file path. Keys are relative,
// slash-separated, and no element may be empty, "." or ".." or start with
// a dot: as2gate builds them with KeyElement, and a key coming from
// anywhere else is refused rather than trusted.
func (s *Store) path(key string) (string, error) {
	if key == "" || strings.HasPrefix(key, "/") || strings.ContainsAny(key, "\\\x00") {
		return "", as2gate.Invalid("key", "bad blob key %q", key)
	}
	for _, el := range strings.Split(key, "/") {
		if el == "" || strings.HasPrefix(el, ".") {
			return "", as2gate.Invalid("key", "bad blob key %q", key)
		}
	}
	return filepath.Join(s.root, filepath.FromSlash(key)), nil
}

// paths checks two keys and returns their file paths.
func (s *Store) paths(from, to string) (string, string, error) {
	src, err := s.path(from)
	if err != nil {
		return "", "", err
	}
	dst, err := s.path(to)
	return src, dst, err
}

func (s *Store) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	dst, err := s.path(key)
	if err != nil {
		return 0, err
	}
	f, err := os.CreateTemp(s.TempDir(), "put-*")
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(f, ctxReader{ctx, r})
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = s.place(f.Name(), dst)
	}
	if err != nil {
		os.Remove(f.Name())
		return 0, err
	}
	return n, nil
}

func (s *Store) Import(ctx context.Context, key, path string) (int64, error) {
	dst, err := s.path(key)
	if err != nil {
		return 0, err
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	fi, err := f.Stat()
	if err == nil {
		err = f.Sync()
	}
	f.Close()
	if err != nil {
		return 0, err
	}
	// The object is stored now, whenever the file was written: ModTime
	// tells how long it has been there (the gateway's sweep relies on it).
	now := time.Now()
	if err := os.Chtimes(path, now, now); err != nil {
		return 0, err
	}
	if err := s.place(path, dst); err != nil {
		if errors.Is(err, syscall.EXDEV) { // another file system: copy
			src, oerr := os.Open(path)
			if oerr != nil {
				return 0, oerr
			}
			defer src.Close()
			n, perr := s.Put(ctx, key, src)
			if perr == nil {
				os.Remove(path)
			}
			return n, perr
		}
		return 0, err
	}
	return fi.Size(), nil
}

// place renames a synced file to dst, creating and syncing directories.
func (s *Store) place(src, dst string) error {
	if err := s.mkdirAll(filepath.Dir(dst)); err != nil {
		return err
	}
	if err := os.Rename(src, dst); err != nil {
		return err
	}
	return s.syncs.sync(filepath.Dir(dst))
}

// mkdirAll creates dir and its missing parents, each durably: its parent
// is synced after it appeared, so that the path survives a crash. A folder
// that exists is durable unless another writer has just made it and not
// yet synced its parent: then this one waits for that sync too.
func (s *Store) mkdirAll(dir string) error {
	if fi, err := os.Stat(dir); err == nil && fi.IsDir() && !s.creating.has(dir) {
		return nil
	}
	parent := filepath.Dir(dir)
	if parent != dir && len(parent) >= len(s.root) {
		if err := s.mkdirAll(parent); err != nil {
			return err
		}
	}
	s.creating.add(dir)
	defer s.creating.remove(dir)
	if err := os.Mkdir(dir, 0o750); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return s.syncs.sync(parent)
}

func (s *Store) Open(ctx context.Context, key string) (io.ReadCloser, int64, error) {
	p, err := s.path(key)
	if err != nil {
		return nil, 0, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, 0, notFound(key, err)
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, 0, as2gate.Errorf(as2gate.ENotFound, "blob %s not found", key)
	}
	return f, fi.Size(), nil
}

func (s *Store) Stat(ctx context.Context, key string) (as2gate.BlobInfo, error) {
	p, err := s.path(key)
	if err != nil {
		return as2gate.BlobInfo{}, err
	}
	fi, err := os.Stat(p)
	if err != nil {
		return as2gate.BlobInfo{}, notFound(key, err)
	}
	return as2gate.BlobInfo{Key: key, Size: fi.Size(), ModTime: fi.ModTime()}, nil
}

func (s *Store) Delete(ctx context.Context, key string) error {
	p, err := s.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	s.prune(key)
	return nil
}

// prune removes the folders that the object at key leaves empty, down to
// the ones the layout keeps: a message's folder goes (AS2/files/<station>/
// <partner>/<box>/<name>, six elements) but not its box, everything below
// AS2/tmp/<area>/ goes, and the drop folders AS2/send/<station>/<partner>/
// stay. A folder that is not empty stays, so a concurrent writer is safe.
func (s *Store) prune(key string) {
	elems := strings.Split(key, "/")
	floor := 6
	if len(elems) > 2 && elems[0] == "AS2" && elems[1] == "tmp" {
		floor = 4
	}
	for n := len(elems) - 1; n >= floor; n-- {
		if os.Remove(filepath.Join(s.root, filepath.FromSlash(strings.Join(elems[:n], "/")))) != nil {
			return
		}
	}
}

func (s *Store) Rename(ctx context.Context, from, to string) error {
	src, dst, err := s.paths(from, to)
	if err != nil {
		return err
	}
	if _, err := os.Stat(src); err != nil {
		return notFound(from, err)
	}
	if err := s.place(src, dst); err != nil {
		return err
	}
	if err := s.syncs.sync(filepath.Dir(src)); err != nil {
		return err
	}
	s.prune(from)
	return nil
}

// Move renames an object without making the rename durable: after a crash
// the object may be at from again, whole. Moves that a later step redoes
// when needed (the gateway's staged files) save an fsync this way. The
// folders it creates are durable all the same: durable writes into them
// later count on it.
func (s *Store) Move(ctx context.Context, from, to string) error {
	src, dst, err := s.paths(from, to)
	if err != nil {
		return err
	}
	if err := s.mkdirAll(filepath.Dir(dst)); err != nil {
		return err
	}
	if err := os.Rename(src, dst); err != nil {
		return notFound(from, err)
	}
	s.prune(from)
	return nil
}

// List walks the objects under prefix (a key prefix ending in "/" or a
// whole key); entries whose names are not valid keys are skipped.
func (s *Store) List(ctx context.Context, prefix string) ([]as2gate.BlobInfo, error) {
	dir := strings.TrimSuffix(prefix, "/")
	base, err := s.path(dir)
	if err != nil {
		return nil, err
	}
	var out []as2gate.BlobInfo
	err = filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if strings.HasPrefix(d.Name(), ".") && p != base {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(s.root, p)
		if err != nil {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil
		}
		out = append(out, as2gate.BlobInfo{Key: filepath.ToSlash(rel), Size: fi.Size(), ModTime: fi.ModTime()})
		return ctx.Err()
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, err
}

func notFound(key string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return as2gate.Errorf(as2gate.ENotFound, "blob %s not found", key)
	}
	return err
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
