package heapwatch

import (
	"runtime"
	"testing"
	"time"
)

// baseline is the heap with no garbage left, as a Watcher sees it.
func baseline() uint64 {
	runtime.GC()
	return Start().Stop()
}

// The peak must see an allocation made while watching and kept live.
func TestSeesAllocation(t *testing.T) {
	before := baseline()
	w := Start()
	big := make([]byte, 64<<20)
	for i := range big {
		big[i] = byte(i)
	}
	peak := w.Stop()
	if peak < before+32<<20 || big[len(big)-1] != byte(len(big)-1) {
		t.Fatalf("peak %d bytes, %d before a 64 MiB allocation", peak, before)
	}
}

// TestSeesTheEnd: memory still held when Stop is called counts, though no
// tick came after it was allocated.
func TestSeesTheEnd(t *testing.T) {
	before := baseline()
	defer func(saved time.Duration) { interval = saved }(interval)
	interval = time.Hour // no tick: a sample at Start, one at Stop
	w := Start()
	big := make([]byte, 64<<20)
	peak := w.Stop()
	runtime.KeepAlive(big)
	if peak < before+32<<20 {
		t.Fatalf("peak %d bytes, %d before a 64 MiB allocation", peak, before)
	}
}
