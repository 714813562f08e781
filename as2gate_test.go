package as2gate

import "testing"

func TestNewIDIncreases(t *testing.T) {
	prev := NewID()
	for i := 0; i < 10000; i++ {
		id := NewID()
		if id <= prev || !IsID(id) {
			t.Fatalf("%s after %s", id, prev)
		}
		prev = id
	}
}
