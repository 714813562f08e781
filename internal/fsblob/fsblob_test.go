package fsblob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/as2gate/as2gate"
)

func TestPutOpenListDelete(t *testing.T) {
	ctx := context.Background()
	s, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	keys := []string{"AS2/files/st/pa/inbox/1-a/order.x12", "AS2/files/st/pa/inbox/1-a/b.txt", "AS2/files/st/pa/outbox/2-b/c"}
	for i, k := range keys {
		n, err := s.Put(ctx, k, strings.NewReader(strings.Repeat("x", i+1)))
		if err != nil || n != int64(i+1) {
			t.Fatalf("Put %s: %d %v", k, n, err)
		}
	}
	rc, size, err := s.Open(ctx, keys[0])
	if err != nil || size != 1 {
		t.Fatalf("Open: %v %d", err, size)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "x" {
		t.Fatalf("read %q", b)
	}
	list, err := s.List(ctx, "AS2/files/st/pa/inbox/")
	if err != nil || len(list) != 2 || list[0].Key != keys[1] || list[1].Key != keys[0] {
		t.Fatalf("List: %+v %v", list, err)
	}
	if list, _ := s.List(ctx, "AS2/files/none/"); len(list) != 0 {
		t.Fatalf("List of a missing prefix: %+v", list)
	}
	if err := s.Delete(ctx, keys[0]); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Open(ctx, keys[0]); as2gate.ErrorCode(err) != as2gate.ENotFound {
		t.Fatalf("Open after Delete: %v", err)
	}
	if err := s.Delete(ctx, keys[0]); err != nil {
		t.Fatalf("deleting twice: %v", err)
	}
}

func TestBadKeys(t *testing.T) {
	s, _ := New(t.TempDir())
	for _, k := range []string{"", "/etc/passwd", "a/../../b", "a/./b", "a//b", ".tmp/x", "a/.hidden", "a\\b", "a\x00b"} {
		if _, err := s.Put(context.Background(), k, strings.NewReader("x")); as2gate.ErrorCode(err) != as2gate.EInvalid {
			t.Errorf("Put(%q): %v, want an invalid-key error", k, err)
		}
		if _, _, err := s.Open(context.Background(), k); err == nil {
			t.Errorf("Open(%q) succeeded", k)
		}
	}
}

type failingReader struct{ n int }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errors.New("connection reset")
	}
	f.n -= len(p)
	return len(p), nil
}

// TestPutIsAllOrNothing: an interrupted upload leaves no object and no
// temporary file behind.
func TestPutIsAllOrNothing(t *testing.T) {
	dir := t.TempDir()
	s, _ := New(dir)
	if _, err := s.Put(context.Background(), "AS2/x/y", &failingReader{n: 100000}); err == nil {
		t.Fatal("no error")
	}
	if _, err := s.Stat(context.Background(), "AS2/x/y"); as2gate.ErrorCode(err) != as2gate.ENotFound {
		t.Fatalf("a partial object is visible: %v", err)
	}
	if entries, _ := os.ReadDir(s.TempDir()); len(entries) != 0 {
		t.Fatalf("temporary files left: %d", len(entries))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Put(ctx, "AS2/x/z", bytes.NewReader(make([]byte, 10))); err == nil {
		t.Fatal("canceled Put succeeded")
	}
}

func TestImport(t *testing.T) {
	s, _ := New(t.TempDir())
	src := filepath.Join(s.TempDir(), "upload")
	os.WriteFile(src, []byte("payload"), 0o600)
	n, err := s.Import(context.Background(), "AS2/files/a/b/inbox/1-x/p.bin", src)
	if err != nil || n != 7 {
		t.Fatalf("Import: %d %v", n, err)
	}
	if _, err := os.Stat(src); !os.IsNotExist(err) {
		t.Fatal("the imported file is still in place")
	}
	// It is stored now, whatever the file's age.
	old := filepath.Join(s.TempDir(), "old")
	os.WriteFile(old, []byte("old"), 0o600)
	os.Chtimes(old, time.Now().Add(-48*time.Hour), time.Now().Add(-48*time.Hour))
	s.Import(context.Background(), "AS2/old", old)
	if info, err := s.Stat(context.Background(), "AS2/old"); err != nil || time.Since(info.ModTime) > time.Minute {
		t.Fatalf("imported: %+v %v", info, err)
	}
}

// TestImportFromAnotherFileSystem copies what it cannot rename.
func TestImportFromAnotherFileSystem(t *testing.T) {
	s, _ := New(t.TempDir())
	shm, err := os.MkdirTemp("/dev/shm", "fsblob-")
	if err != nil {
		t.Skipf("NO /dev/shm, cannot test importing across file systems: %v", err)
	}
	defer os.RemoveAll(shm)
	var a, b syscall.Stat_t
	if syscall.Stat(shm, &a) != nil || syscall.Stat(s.Root(), &b) != nil || a.Dev == b.Dev {
		t.Skip("/dev/shm IS ON THE SAME FILE SYSTEM AS THE TEST FOLDER: cannot test importing across file systems")
	}
	other := filepath.Join(shm, "elsewhere")
	os.WriteFile(other, []byte("more"), 0o600)
	if n, err := s.Import(context.Background(), "AS2/k", other); err != nil || n != 4 {
		t.Fatalf("Import from another file system: %d %v", n, err)
	}
	if _, err := os.Stat(other); !os.IsNotExist(err) {
		t.Fatal("the imported file is still in place")
	}
}

func TestRename(t *testing.T) {
	ctx := context.Background()
	s, _ := New(t.TempDir())
	s.Put(ctx, "AS2/send/st/pa/order.x12", strings.NewReader("data"))
	if err := s.Rename(ctx, "AS2/send/st/pa/order.x12", "AS2/tmp/pickup/1/order.x12"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Stat(ctx, "AS2/send/st/pa/order.x12"); as2gate.ErrorCode(err) != as2gate.ENotFound {
		t.Fatalf("source still there: %v", err)
	}
	if info, err := s.Stat(ctx, "AS2/tmp/pickup/1/order.x12"); err != nil || info.Size != 4 {
		t.Fatalf("destination: %+v %v", info, err)
	}
	if err := s.Rename(ctx, "AS2/none", "AS2/x"); as2gate.ErrorCode(err) != as2gate.ENotFound {
		t.Fatalf("renaming nothing: %v", err)
	}
}

// TestPrune: deleting or moving the last object of a message's folder
// removes the folder, but never the folders the layout keeps.
func TestPrune(t *testing.T) {
	ctx := context.Background()
	s, _ := New(t.TempDir())
	for _, k := range []string{"AS2/files/st/pa/inbox/1-a/x", "AS2/files/st/pa/inbox/1-a/y", "AS2/send/st/pa/drop.x12",
		"AS2/tmp/pickup/id1/st/pa/z"} {
		s.Put(ctx, k, strings.NewReader("x"))
	}
	dirExists := func(key string) bool {
		fi, err := os.Stat(filepath.Join(s.Root(), filepath.FromSlash(key)))
		return err == nil && fi.IsDir()
	}
	s.Delete(ctx, "AS2/files/st/pa/inbox/1-a/x")
	if !dirExists("AS2/files/st/pa/inbox/1-a") {
		t.Fatal("a folder that still holds a file was removed")
	}
	s.Delete(ctx, "AS2/files/st/pa/inbox/1-a/y")
	if dirExists("AS2/files/st/pa/inbox/1-a") || !dirExists("AS2/files/st/pa/inbox") {
		t.Fatal("the emptied message folder must go, its box stay")
	}
	s.Rename(ctx, "AS2/send/st/pa/drop.x12", "AS2/tmp/pickup/id2/st/pa/drop.x12")
	if !dirExists("AS2/send/st/pa") {
		t.Fatal("the drop folder was removed")
	}
	s.Rename(ctx, "AS2/tmp/pickup/id1/st/pa/z", "AS2/files/st/pa/outbox/2-b/z")
	if dirExists("AS2/tmp/pickup/id1") || !dirExists("AS2/tmp/pickup") {
		t.Fatal("the emptied pickup folders must go, the pickup area stay")
	}
}

func TestMove(t *testing.T) {
	ctx := context.Background()
	s, _ := New(t.TempDir())
	s.Put(ctx, "AS2/tmp/staging/x-raw", strings.NewReader("raw"))
	if err := s.Move(ctx, "AS2/tmp/staging/x-raw", "AS2/raw-message/st/pa/inbox/1-a/message.raw"); err != nil {
		t.Fatal(err)
	}
	if info, err := s.Stat(ctx, "AS2/raw-message/st/pa/inbox/1-a/message.raw"); err != nil || info.Size != 3 {
		t.Fatalf("moved: %+v %v", info, err)
	}
	if err := s.Move(ctx, "AS2/tmp/staging/x-raw", "AS2/x"); as2gate.ErrorCode(err) != as2gate.ENotFound {
		t.Fatalf("moving nothing: %v", err)
	}
}

// recordSyncs replaces fsyncDir for a test: it notes each sync (folder,
// start and end on a clock that callers share) and fails those failOn says.
type syncLog struct {
	mu    sync.Mutex
	clock atomic.Int64
	syncs []syncEntry
}

type syncEntry struct {
	dir        string
	start, end int64
	err        error
}

func recordSyncs(t *testing.T, failOn func(n int) bool) *syncLog {
	l := &syncLog{}
	real := fsyncDir
	t.Cleanup(func() { fsyncDir = real })
	fsyncDir = func(dir string) error {
		start := l.clock.Add(1)
		err := real(dir)
		time.Sleep(time.Millisecond) // a slow disk, so that writers pile up
		l.mu.Lock()
		defer l.mu.Unlock()
		if err == nil && failOn != nil && failOn(len(l.syncs)) {
			err = fmt.Errorf("sync %d failed", len(l.syncs))
		}
		l.syncs = append(l.syncs, syncEntry{dir, start, l.clock.Add(1), err})
		return err
	}
	return l
}

func (l *syncLog) synced(dir string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range l.syncs {
		if e.dir == dir {
			return true
		}
	}
	return false
}

// TestConcurrentSyncsShareAndReport: many writers asking for one folder's
// sync at once share fsyncs, and each gets the result of a sync that
// started after it asked and ended before it returned.
func TestConcurrentSyncsShareAndReport(t *testing.T) {
	log := recordSyncs(t, func(n int) bool { return n%3 == 1 })
	var ds dirSyncs
	dir := t.TempDir()
	const writers = 50
	type result struct {
		asked, returned int64
		err             error
	}
	results := make([]result, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			asked := log.clock.Add(1)
			err := ds.sync(dir)
			results[i] = result{asked, log.clock.Add(1), err}
		})
	}
	wg.Wait()
	if len(log.syncs) >= writers {
		t.Errorf("%d fsyncs for %d writers: none shared", len(log.syncs), writers)
	}
	for i, r := range results {
		// Which round a writer joined depends on when it took the lock,
		// after it asked: any sync inside its window may be its own. Sync
		// errors are numbered, so an error names the very sync.
		found := false
		for _, e := range log.syncs {
			if e.start > r.asked && e.end < r.returned && fmt.Sprint(e.err) == fmt.Sprint(r.err) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("writer %d: got %v, from no sync that started after it asked and ended before it returned", i, r.err)
		}
	}
	if len(ds.dirs) != 0 {
		t.Fatalf("%d directories still tracked", len(ds.dirs))
	}
}

// TestFoldersAreDurable: every folder a write or a move creates has its
// parent synced, and a folder that exists while its creator has not yet
// synced its parent is not taken as durable.
func TestFoldersAreDurable(t *testing.T) {
	ctx := context.Background()
	s, _ := New(t.TempDir())
	log := recordSyncs(t, nil)
	s.Put(ctx, "AS2/tmp/staging/x-raw", strings.NewReader("raw"))
	if err := s.Move(ctx, "AS2/tmp/staging/x-raw", "AS2/raw-message/st/pa/inbox/1-a/message.raw"); err != nil {
		t.Fatal(err)
	}
	for _, made := range []string{"AS2/tmp/staging", "AS2/raw-message", "AS2/raw-message/st/pa/inbox/1-a"} {
		parent := filepath.Dir(filepath.Join(s.Root(), made))
		if !log.synced(parent) {
			t.Errorf("%s was created and %s not synced", made, parent)
		}
	}

	log = recordSyncs(t, nil) // from here on
	fresh := filepath.Join(s.Root(), "AS2", "fresh")
	s.creating.add(fresh) // as a writer does between its mkdir and its sync
	os.Mkdir(fresh, 0o750)
	if err := s.mkdirAll(fresh); err != nil {
		t.Fatal(err)
	}
	s.creating.remove(fresh)
	if !log.synced(filepath.Dir(fresh)) {
		t.Error("a folder another writer was creating was taken as durable")
	}
}
