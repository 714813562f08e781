package gateway

import (
	"sync"
	"time"
)

// strangerRecordsPerMinute bounds how many messages from unknown AS2
// identifiers one process records each minute: anyone can send them, and
// each costs a database row. Beyond it they are refused just the same and
// only counted in the log.
const strangerRecordsPerMinute = 60

// strangerWindow counts the records of the current minute.
type strangerWindow struct {
	mu      sync.Mutex
	start   time.Time
	count   int
	dropped int
}

// admit tells whether one more message may be recorded at now, and how
// many were not recorded in the minute that just ended (to log once).
func (w *strangerWindow) admit(now time.Time) (ok bool, droppedBefore int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if now.Sub(w.start) >= time.Minute || now.Before(w.start) {
		droppedBefore = w.dropped
		w.start, w.count, w.dropped = now, 0, 0
	}
	if w.count >= strangerRecordsPerMinute {
		w.dropped++
		return false, droppedBefore
	}
	w.count++
	return true, droppedBefore
}
