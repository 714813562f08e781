// Package heapwatch measures the peak of the live Go heap while code runs,
// for the tests that prove a transfer streams in bounded memory.
package heapwatch

import (
	"runtime/metrics"
	"sync"
	"time"
)

// Watcher samples the heap every few milliseconds until stopped.
type Watcher struct {
	stop chan struct{}
	done sync.WaitGroup
	peak uint64
}

// Start begins sampling.
func Start() *Watcher {
	w := &Watcher{stop: make(chan struct{})}
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	w.done.Go(func() {
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(sample)
			w.peak = max(w.peak, sample[0].Value.Uint64())
			select {
			case <-w.stop:
				return
			case <-tick.C:
			}
		}
	})
	return w
}

// Stop ends sampling and returns the peak in bytes.
func (w *Watcher) Stop() uint64 {
	close(w.stop)
	w.done.Wait()
	return w.peak
}
