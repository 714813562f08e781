package e2e

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/as2gate/as2gate/client"
)

const (
	bigSize = 1 << 30   // bytes sent
	maxRSS  = 150 << 20 // peak resident memory allowed to each process
)

// TestBigFile sends 1 GiB from A to B (signed, encrypted, signed sync MDN)
// and checks that it arrives intact while neither server's peak resident
// memory, nor that of `as2gate send`, reaches 150 MiB.
func TestBigFile(t *testing.T) {
	if testing.Short() {
		t.Skip("sends 1 GiB: a long test")
	}
	a, b, _, _ := pair(t, fastFlags, nil, nil)
	file := filepath.Join(t.TempDir(), "big.bin")
	begin := time.Now()
	sum := writeRandom(t, file, bigSize, 42)
	t.Logf("wrote 1 GiB in %v", time.Since(begin).Round(time.Millisecond))

	begin = time.Now()
	r := a.Run("send", "--station", "A", "--partner", "B", "--wait", "--wait-timeout", "5m", "--json", file)
	took := time.Since(begin)
	if r.Err != nil {
		t.Fatalf("as2gate send: %v\n%s%s", r.Err, r.Stderr, r.Stdout)
	}
	t.Logf("as2gate send --wait took %v (queue, send, receive, store, MDN)", took.Round(time.Millisecond))
	list := messages(t, b, "--direction", "in")
	if len(list) != 1 || list[0].Status != "received" || len(list[0].Files) != 1 {
		t.Fatalf("B holds %+v, want one message received", list)
	}
	if f := list[0].Files[0]; f.Size != bigSize || f.SHA256 != sum {
		t.Errorf("B recorded %s: %d bytes, sha256 %s; want %d bytes, %s", f.Name, f.Size, f.SHA256, int64(bigSize), sum)
	}
	// The file on B's disk, hashed here rather than trusted from B's record.
	stored := findStored(t, b, list[0])
	if got := sha256File(t, stored); got != sum {
		t.Errorf("the file stored on B has sha256 %s, want %s", got, sum)
	}

	for _, s := range []*Server{a, b} {
		peak, err := s.PeakRSS()
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("server %s: peak RSS %.1f MiB", s.Name, float64(peak)/(1<<20))
		if peak >= maxRSS {
			t.Errorf("server %s: peak RSS %.1f MiB, want under %d MiB", s.Name, float64(peak)/(1<<20), maxRSS>>20)
		}
	}
	if r.Usage != nil {
		peak := r.Usage.Maxrss << 10 // KiB on Linux
		t.Logf("as2gate send: peak RSS %.1f MiB", float64(peak)/(1<<20))
		if peak >= maxRSS {
			t.Errorf("as2gate send: peak RSS %.1f MiB, want under %d MiB", float64(peak)/(1<<20), maxRSS>>20)
		}
	}
}

// findStored is the path of the one file of an inbound message in the
// server's inbox folders.
func findStored(t *testing.T, s *Server, m client.Message) string {
	t.Helper()
	matches, err := filepath.Glob(filepath.Join(s.Data, "AS2", "files", m.StationAS2ID, m.PartnerAS2ID, "inbox", "*", m.Files[0].Name))
	if err != nil || len(matches) != 1 {
		t.Fatalf("%d stored copies of %s on %s (%v), want 1", len(matches), m.Files[0].Name, s.Name, err)
	}
	return matches[0]
}
