package as2gate

import (
	"testing"
	"time"
)

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

func TestIDFloor(t *testing.T) {
	// An ID made within the millisecond of now, as far as the clock tells.
	now, id := time.Now(), NewID()
	for time.Now().UnixMilli() != now.UnixMilli() {
		now, id = time.Now(), NewID()
	}
	for _, c := range []struct {
		name   string
		t      time.Time
		before bool // whether the ID made now sorts before IDFloor(t)
	}{
		{"a millisecond ago", now.Add(-time.Millisecond), false},
		{"the millisecond of the ID", now.Truncate(time.Millisecond), false},
		{"a millisecond later", now.Add(time.Millisecond), true},
		{"an hour later", now.Add(time.Hour), true},
		{"before 1970", time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), false},
		{"beyond the 48 bits of time", time.Date(20000, 1, 1, 0, 0, 0, 0, time.UTC), true},
	} {
		floor := IDFloor(c.t)
		if !IsID(floor) {
			t.Errorf("%s: IDFloor = %q, not an ID", c.name, floor)
		}
		if got := id < floor; got != c.before {
			t.Errorf("%s: ID %s < IDFloor %s is %v, want %v", c.name, id, floor, got, c.before)
		}
	}
}

func TestIsCredentialHeader(t *testing.T) {
	for name, want := range map[string]bool{
		"Authorization": true, "authorization": true, "PROXY-AUTHORIZATION": true, "Cookie": true, "Set-Cookie": true,
		"AS2-From": false, "Content-Type": false, "Authorization-Info": false, "": false,
	} {
		if got := IsCredentialHeader(name); got != want {
			t.Errorf("%q: %v", name, got)
		}
	}
}
