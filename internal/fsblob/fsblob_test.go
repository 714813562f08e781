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
	"testing"

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
	// From another directory (possibly another file system) it works too.
	other := filepath.Join(t.TempDir(), "elsewhere")
	os.WriteFile(other, []byte("more"), 0o600)
	if n, err := s.Import(context.Background(), "AS2/k", other); err != nil || n != 4 {
		t.Fatalf("Import from elsewhere: %d %v", n, err)
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

// TestConcurrentPutsShareSyncs: many writers into one folder at once all
// end with their objects in place (the directory syncs they share cover
// every one of them).
func TestConcurrentPutsShareSyncs(t *testing.T) {
	ctx := context.Background()
	s, _ := New(t.TempDir())
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.Put(ctx, fmt.Sprintf("AS2/tmp/staging/%02d", i), strings.NewReader("x")); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if list, _ := s.List(ctx, "AS2/tmp/staging/"); len(list) != 50 {
		t.Fatalf("%d objects", len(list))
	}
	if len(s.syncs.dirs) != 0 {
		t.Fatalf("%d directories still tracked", len(s.syncs.dirs))
	}
}
