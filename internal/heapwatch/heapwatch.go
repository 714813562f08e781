// Package heapwatch measures the peak of the live Go heap while code runs,
// for the tests that prove a transfer streams in bounded memory.
package heapwatch

import (
	"runtime/metrics"
	"sync"
	"time"
)

// interval is how often the heap is sampled; a variable for the test that
// the last sample is taken however short the run.
var interval = 5 * time.Millisecond

// Watcher samples the heap when started, every interval, and when stopped.
type Watcher struct {
	stop   chan struct{}
	done   sync.WaitGroup
	sample []metrics.Sample
	peak   uint64
}

// Start begins sampling.
func Start() *Watcher {
	w := &Watcher{stop: make(chan struct{}), sample: []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}}
	w.read()
	w.done.Go(func() {
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-w.stop:
				// The heap as the watched code left it: a run shorter
				// than a tick, or a peak at its very end, counts too.
				w.read()
				return
			case <-tick.C:
				w.read()
			}
		}
	})
	return w
}

func (w *Watcher) read() {
	metrics.Read(w.sample)
	w.peak = max(w.peak, w.sample[0].Value.Uint64())
}

// Stop ends sampling and returns the peak in bytes.
func (w *Watcher) Stop() uint64 {
	close(w.stop)
	w.done.Wait()
	return w.peak
}
