package heapwatch

import "testing"

// The peak must see an allocation made while watching and kept live.
func TestSeesAllocation(t *testing.T) {
	w := Start()
	before := w.Stop()
	w = Start()
	big := make([]byte, 64<<20)
	for i := range big {
		big[i] = byte(i)
	}
	peak := w.Stop()
	if peak < before+32<<20 || big[len(big)-1] != byte(len(big)-1) {
		t.Fatalf("peak %d bytes, %d before a 64 MiB allocation", peak, before)
	}
}
