package gateway

import (
	"testing"
	"time"
)

// TestStrangerWindow: so many records a minute, the rest counted and
// reported once the minute is over.
func TestStrangerWindow(t *testing.T) {
	var w strangerWindow
	start := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	for i := range strangerRecordsPerMinute {
		if ok, _ := w.admit(start.Add(time.Duration(i) * time.Millisecond)); !ok {
			t.Fatalf("record %d refused", i+1)
		}
	}
	for range 5 {
		if ok, dropped := w.admit(start.Add(59 * time.Second)); ok || dropped != 0 {
			t.Fatalf("beyond the limit: admitted %v, dropped %d", ok, dropped)
		}
	}
	if ok, dropped := w.admit(start.Add(time.Minute)); !ok || dropped != 5 {
		t.Fatalf("next minute: admitted %v, dropped %d", ok, dropped)
	}
	if ok, dropped := w.admit(start.Add(-time.Hour)); !ok || dropped != 0 {
		t.Fatalf("clock set back: admitted %v, dropped %d", ok, dropped)
	}
}
