package fsblob

import (
	"os"
	"sync"
)

// dirSyncs shares directory fsyncs between concurrent writers: a caller
// that needs a directory synced after its change waits for a sync that
// started after the change, and one sync serves everybody who asked while
// the previous one ran. Receivers that stage files in the same directory
// at once then wait for one or two fsyncs, not one each.
type dirSyncs struct {
	mu   sync.Mutex
	dirs map[string]*dirSync
}

type dirSync struct {
	requested uint64 // changes that asked for a sync
	done      uint64 // changes covered by a finished sync
	running   bool
	err       error // of the last finished sync
	wake      *sync.Cond
}

// sync makes the entries of dir durable.
func (ds *dirSyncs) sync(dir string) error {
	ds.mu.Lock()
	if ds.dirs == nil {
		ds.dirs = map[string]*dirSync{}
	}
	d := ds.dirs[dir]
	if d == nil {
		d = &dirSync{wake: sync.NewCond(&ds.mu)}
		ds.dirs[dir] = d
	}
	d.requested++
	mine := d.requested
	for d.done < mine {
		if d.running {
			d.wake.Wait()
			continue
		}
		d.running = true
		covers := d.requested
		ds.mu.Unlock()
		err := fsyncDir(dir)
		ds.mu.Lock()
		d.running, d.done, d.err = false, covers, err
		d.wake.Broadcast()
	}
	err := d.err
	if !d.running && d.done == d.requested {
		delete(ds.dirs, dir) // nobody waits: forget it
	}
	ds.mu.Unlock()
	return err
}

func fsyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
