package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/as2gate/as2gate"
	"github.com/as2gate/as2gate/client"
)

const (
	crashMessages = 40
	crashTimeout  = 90 * time.Second // for every message to reach a final state
)

// TestCrashSafety kills a sender (A) and a receiver (B) with SIGKILL while
// messages flow, restarts them on the same data folders and ports, and
// checks that every message accepted for sending was delivered exactly
// once: all sent, each received once with its bytes, nothing stored twice,
// and no temporary file left but those of the killed processes.
func TestCrashSafety(t *testing.T) {
	start := time.Now()
	a, b, _, _ := pair(t, fastFlags, []string{"--retries", "50", "--retry-delay", "1s"}, nil)
	// The messages: half queued with `as2gate send`, half dropped into the
	// send folder, of 1 to 4 MiB each.
	staging := t.TempDir()
	sums := map[string]string{} // file name -> sha256
	var names []string
	for i := range crashMessages {
		name := fmt.Sprintf("msg-%02d.bin", i)
		size := int64(1<<20) + int64(i*797_161)%(3<<20)
		sums[name] = writeRandom(t, filepath.Join(staging, name), size, uint64(1000+i))
		names = append(names, name)
	}
	sendDir := filepath.Join(a.Data, "AS2", "send", "A", "B")
	if err := os.MkdirAll(sendDir, 0o750); err != nil {
		t.Fatal(err)
	}
	queue := func(name string) { a.OK("send", "--station", "A", "--partner", "B", filepath.Join(staging, name)) }
	drop := func(name string) {
		// As a user's program would: written in place, picked up once it stops changing.
		writeFile(t, filepath.Join(sendDir, name), readFile(t, filepath.Join(staging, name)))
	}
	inbox := filepath.Join(b.Data, "AS2", "files", "B", "A", "inbox")
	received := func() int { // inbox folders on B: a sign of progress, not the result
		entries, _ := os.ReadDir(inbox)
		return len(entries)
	}
	landed := func() int { // inbox folders holding a payload file
		n := 0
		folders, _ := os.ReadDir(inbox)
		for _, d := range folders {
			if files, _ := os.ReadDir(filepath.Join(inbox, d.Name())); len(files) > 0 {
				n++
			}
		}
		return n
	}
	killed := map[*Server]time.Time{}
	// killAt kills s at the moment given, polled every millisecond, or
	// after limit in any case (the test then goes on, less sharp).
	killAt := func(s *Server, what string, limit time.Duration, moment func() bool) {
		t.Helper()
		deadline := time.Now().Add(limit)
		hit := false
		for !hit && time.Now().Before(deadline) {
			if hit = moment(); !hit {
				time.Sleep(time.Millisecond)
			}
		}
		s.Kill()
		killed[s] = time.Now()
		t.Logf("%6.2fs: killed %s %s (moment hit: %v; B has %d inbox folders)", time.Since(start).Seconds(), s.Name, what, hit, received())
	}
	after := func(n int, inFlight func() bool) func() bool {
		return func() bool { return received() >= n && inFlight() }
	}

	// Kill A right after the queueing starts, while it sends the first message.
	queue(names[0])
	killAt(a, "while sending the first message", 3*time.Second, func() bool { return hasTmp(a.Data, "out-") })
	// A is down: the CLI still queues, and files wait in the send folder.
	for _, n := range names[1:20] {
		queue(n)
	}
	for _, n := range names[20:30] {
		drop(n)
	}
	a.Start()
	for _, n := range names[30:] {
		drop(n)
		time.Sleep(30 * time.Millisecond)
	}
	// Kill B while it reads a request; then at the moment a payload lands
	// in its inbox, before the message is recorded and its MDN returned;
	// then A while it sends. Each time with work left to do.
	killAt(b, "while receiving", 20*time.Second, after(5, func() bool { return hasTmp(b.Data, "in-") }))
	time.Sleep(300 * time.Millisecond)
	b.Start()
	base := landed()
	last := base
	killAt(b, "as a payload lands in the inbox", 20*time.Second, func() bool {
		n := landed()
		defer func() { last = n }()
		return n >= base+3 && n > last
	})
	time.Sleep(300 * time.Millisecond)
	b.Start()
	killAt(a, "while sending", 20*time.Second, after(received()+4, func() bool { return hasTmp(a.Data, "out-") }))
	a.Start()

	// Every message reaches a final state.
	var outbound map[string]string // file name -> Message-ID
	waitFor(t, crashTimeout, "every message to be sent", func() bool {
		list := messages(t, a, "--direction", "out")
		final := 0
		outbound = map[string]string{}
		for _, m := range list {
			if as2gate.Status(m.Status).Final() {
				final++
			}
			for _, f := range m.Files {
				if _, dup := outbound[f.Name]; dup {
					t.Fatalf("file %s was queued twice", f.Name)
				}
				outbound[f.Name] = m.MessageID
			}
		}
		return len(list) >= crashMessages && final == len(list)
	})
	t.Logf("%6.2fs: every message is in a final state", time.Since(start).Seconds())
	retried := 0
	for _, m := range messages(t, a, "--direction", "out") {
		if m.Status != "sent" || m.MICMatched == nil || !*m.MICMatched {
			t.Errorf("message %s (%v): %s, MIC matched %v: %s", m.MessageID, fileNames(m.Files), m.Status, m.MICMatched, m.Reason)
		}
		if m.Attempts > 1 {
			retried++
		}
	}
	if len(outbound) != crashMessages {
		t.Errorf("%d files sent, want %d: %v", len(outbound), crashMessages, outbound)
	}
	t.Logf("%d of %d messages needed more than one attempt", retried, crashMessages)

	// B received each message once, with its bytes.
	byID := map[string]bool{}
	recorded := map[string]bool{} // record IDs on A and B
	for _, m := range messages(t, a, "--direction", "out") {
		recorded[m.ID] = true
	}
	for _, m := range messages(t, b, "--direction", "in") {
		recorded[m.ID] = true
		if m.Status != "received" || len(m.Files) != 1 {
			t.Errorf("B recorded %s: %s with %d files: %s", m.MessageID, m.Status, len(m.Files), m.Reason)
			continue
		}
		if byID[m.MessageID] {
			t.Errorf("B recorded %s twice", m.MessageID)
		}
		byID[m.MessageID] = true
		f := m.Files[0]
		if outbound[f.Name] != m.MessageID || f.SHA256 != sums[f.Name] {
			t.Errorf("B received %s as %s (sha256 %s); A sent it as %s (sha256 %s)", f.Name, m.MessageID, f.SHA256, outbound[f.Name], sums[f.Name])
		}
	}
	if len(byID) != crashMessages {
		t.Errorf("B recorded %d messages, want %d", len(byID), crashMessages)
	}

	// On B's disk, each payload exactly once, whole.
	stored := map[string][]string{} // sha256 -> files
	folders, _ := os.ReadDir(inbox)
	for _, d := range folders {
		files, _ := os.ReadDir(filepath.Join(inbox, d.Name()))
		for _, f := range files {
			p := filepath.Join(inbox, d.Name(), f.Name())
			sum := sha256File(t, p)
			stored[sum] = append(stored[sum], d.Name()+"/"+f.Name())
		}
	}
	for name, sum := range sums {
		if len(stored[sum]) != 1 {
			t.Errorf("%s is stored %d times on B: %v", name, len(stored[sum]), stored[sum])
		}
		delete(stored, sum)
	}
	if len(stored) > 0 {
		t.Errorf("B holds payload files that match nothing sent: %v", stored)
	}
	if raws := countFiles(filepath.Join(b.Data, "AS2", "raw-message")); raws != crashMessages {
		t.Errorf("B keeps %d raw messages, want %d", raws, crashMessages)
	}
	if len(folders) != crashMessages {
		t.Logf("B has %d inbox folders for %d messages", len(folders), crashMessages)
	}

	// Nothing left in the send folder and the pickup area. In the temporary
	// areas, only files of the killed processes (written before the kill):
	// spooled bodies, and files staged for messages that were never
	// recorded (the partner sent them again), which the sweep removes after
	// an hour. Files staged for a recorded message must have been moved.
	if n := countFiles(sendDir); n != 0 {
		t.Errorf("%d files are left in A's send folder", n)
	}
	for _, s := range []*Server{a, b} {
		var left []string
		for _, rel := range listTmp(t, s.Data) {
			fi, err := os.Stat(filepath.Join(s.Data, rel))
			if err != nil {
				continue // removed meanwhile
			}
			staged, isStaged := strings.CutPrefix(rel, filepath.Join("AS2", "tmp", "staging")+string(filepath.Separator))
			orphan := isStaged && len(staged) > 26 && !recorded[staged[:26]]
			if (strings.HasPrefix(rel, filepath.Join("AS2", "tmp")) && !orphan) || fi.ModTime().After(killed[s]) {
				t.Errorf("server %s: %s (%d bytes, %s) is left over, and not from a killed process", s.Name, rel, fi.Size(), fi.ModTime().Format(time.RFC3339Nano))
			}
			left = append(left, fmt.Sprintf("%s (%d bytes)", filepath.Base(rel), fi.Size()))
		}
		sort.Strings(left)
		t.Logf("server %s: %d temporary files left by the killed processes: %v", s.Name, len(left), left)
	}
	t.Logf("%6.2fs: done", time.Since(start).Seconds())
}

// hasTmp reports whether a data folder's .tmp holds a file named prefix*.
func hasTmp(data, prefix string) bool {
	entries, _ := os.ReadDir(filepath.Join(data, ".tmp"))
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) {
			return true
		}
	}
	return false
}

// countFiles counts the regular files under dir.
func countFiles(dir string) int {
	n := 0
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			n++
		}
		return nil
	})
	return n
}

func fileNames(files []client.File) []string {
	var names []string
	for _, f := range files {
		names = append(names, f.Name)
	}
	return names
}
