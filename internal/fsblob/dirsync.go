package fsblob

import (
	"os"
	"sync"
)

// dirSyncs shares directory fsyncs between concurrent writers: a caller
// that needs a directory synced after its change joins the next sync of
// that directory, one that starts after the running one (if any) ends,
// and gets that sync's own result. Receivers that stage files in the same
// directory at once then wait for one or two fsyncs, not one each.
type dirSyncs struct {
	mu   sync.Mutex
	dirs map[string]*dirSync
}

type dirSync struct {
	running *syncRound // the fsync under way
	next    *syncRound // the one that starts after it, with who joined it
}

type syncRound struct {
	done chan struct{} // closed when err is set
	err  error
}

// sync makes the entries of dir durable.
func (ds *dirSyncs) sync(dir string) error {
	ds.mu.Lock()
	if ds.dirs == nil {
		ds.dirs = map[string]*dirSync{}
	}
	d := ds.dirs[dir]
	if d == nil {
		d = &dirSync{}
		ds.dirs[dir] = d
	}
	if d.next == nil {
		d.next = &syncRound{done: make(chan struct{})}
	}
	round := d.next
	for d.running != nil {
		running := d.running.done
		ds.mu.Unlock()
		<-running
		ds.mu.Lock()
	}
	if d.next != round { // another member of the round started it
		ds.mu.Unlock()
		<-round.done
		return round.err
	}
	d.next, d.running = nil, round
	ds.mu.Unlock()

	round.err = fsyncDir(dir)

	ds.mu.Lock()
	d.running = nil
	close(round.done)
	if d.next == nil && ds.dirs[dir] == d { // nobody waits: forget the folder
		delete(ds.dirs, dir)
	}
	ds.mu.Unlock()
	return round.err
}

// fsyncDir is a variable for the tests that count and order the syncs.
var fsyncDir = func(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// folderSet counts the writers that are creating each folder.
type folderSet struct {
	mu sync.Mutex
	n  map[string]int
}

func (f *folderSet) add(dir string) {
	f.mu.Lock()
	if f.n == nil {
		f.n = map[string]int{}
	}
	f.n[dir]++
	f.mu.Unlock()
}

func (f *folderSet) remove(dir string) {
	f.mu.Lock()
	if f.n[dir]--; f.n[dir] <= 0 {
		delete(f.n, dir)
	}
	f.mu.Unlock()
}

func (f *folderSet) has(dir string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n[dir] > 0
}
