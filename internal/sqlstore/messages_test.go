package sqlstore

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/as2gate/as2gate"
)

func TestMessageRoundTrip(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		w := newWorld(t, s)
		yes, no := true, false
		// Every field differs from its zero value and from the others of
		// its type, so that a column read into the wrong field shows.
		full := &as2gate.Message{
			Direction: as2gate.Outbound, StationID: w.station.ID, PartnerID: w.partner.ID,
			StationAS2ID: "US", PartnerAS2ID: "THEM", MessageID: "<full@us>", Subject: "Invoice 7",
			Status: as2gate.StatusAwaitingMDN, Reason: "waiting", Attempts: 3,
			Signed: true, Encrypted: true, Compressed: true, Algorithms: "sha256, aes256-cbc",
			MIC: "abc=, sha-256", MDNMode: as2gate.MDNAsync, MDNURL: "https://us.example.com/mdn", MDNSigned: true,
			MDNMessageID: "<mdn@them>", MDNDisposition: "automatic-action/MDN-sent-automatically; processed",
			MDNStatus: "verified", MICMatched: &yes,
			Folder: "2026/06/full", RawKey: "raw", MDNKey: "mdn", Size: 1 << 40,
			Files: []as2gate.File{
				{Name: "a.edi", ContentType: "application/edi-x12", Size: 10, Key: "k/a", SHA256: "aa"},
				{Name: "b.xml", ContentType: "application/xml", Size: 20, Key: "k/b", SHA256: "bb"},
			},
			CompletedAt: stored(time.Now().Add(time.Minute)),
		}
		must(t, s.CreateMessage(ctx, full))
		if !as2gate.IsID(full.ID) || full.CreatedAt.IsZero() || !full.UpdatedAt.Equal(full.CreatedAt) || full.Version != 0 {
			t.Fatalf("CreateMessage set ID %q, times %v %v, version %d", full.ID, full.CreatedAt, full.UpdatedAt, full.Version)
		}
		got, err := s.GetMessage(ctx, full.ID)
		must(t, err)
		if !reflect.DeepEqual(got, full) {
			t.Fatalf("got  %+v\nwant %+v", got, full)
		}

		for _, matched := range []*bool{nil, &no} {
			m := message(nil, nil, as2gate.Inbound, as2gate.StatusRejected, "<bare@x>")
			m.MICMatched = matched
			must(t, s.CreateMessage(ctx, m))
			got, err := s.GetMessage(ctx, m.ID)
			must(t, err)
			if !reflect.DeepEqual(got, m) {
				t.Fatalf("got  %+v\nwant %+v", got, m)
			}
		}

		_, err = s.GetMessage(ctx, "missing")
		wantCode(t, err, as2gate.ENotFound, "message missing not found")
		gone := message(w.station, w.partner, as2gate.Outbound, as2gate.StatusQueued, "<gone@us>")
		gone.PartnerID = "deleted"
		wantCode(t, s.CreateMessage(ctx, gone), as2gate.EConflict, "the station or partner of message <gone@us> no longer exists")
	})
}

func TestDuplicateMessages(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		w := newWorld(t, s)
		other := newPartner(t, s, "OTHER", w.cert.ID)
		create := func(p *as2gate.Partner, dir as2gate.Direction, status as2gate.Status, id string) error {
			return s.CreateMessage(ctx, message(w.station, p, dir, status, id))
		}

		must(t, create(w.partner, as2gate.Inbound, as2gate.StatusReceived, "<1@them>"))
		wantCode(t, create(w.partner, as2gate.Inbound, as2gate.StatusReceived, "<1@them>"), as2gate.EConflict,
			`message <1@them> from partner "THEM" was already received`)
		// A duplicate that was answered with an error MDN is kept.
		must(t, create(w.partner, as2gate.Inbound, as2gate.StatusRejected, "<1@them>"))
		// The same Message-ID from another partner, or outbound, is no duplicate.
		must(t, create(other, as2gate.Inbound, as2gate.StatusReceived, "<1@them>"))
		must(t, create(w.partner, as2gate.Outbound, as2gate.StatusSent, "<1@them>"))
		must(t, create(w.partner, as2gate.Outbound, as2gate.StatusSent, "<1@them>"))

		// A resend after an error is received once.
		must(t, create(w.partner, as2gate.Inbound, as2gate.StatusRejected, "<2@them>"))
		must(t, create(w.partner, as2gate.Inbound, as2gate.StatusReceived, "<2@them>"))

		// Becoming received by an update is checked too.
		m := message(w.station, w.partner, as2gate.Inbound, as2gate.StatusRejected, "<2@them>")
		must(t, s.CreateMessage(ctx, m))
		m.Status = as2gate.StatusReceived
		wantCode(t, s.UpdateMessage(ctx, m, as2gate.JobChange{}), as2gate.EConflict, "was already received")
	})
}

func TestFindMessage(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		w := newWorld(t, s)
		create := func(p *as2gate.Partner, dir as2gate.Direction, status as2gate.Status, id string) *as2gate.Message {
			time.Sleep(2 * time.Millisecond) // "newest" is by ID, whose order is by the millisecond
			m := message(w.station, p, dir, status, id)
			must(t, s.CreateMessage(ctx, m))
			return m
		}
		create(w.partner, as2gate.Inbound, as2gate.StatusRejected, "<in@them>")
		received := create(w.partner, as2gate.Inbound, as2gate.StatusReceived, "<in@them>")
		create(w.partner, as2gate.Inbound, as2gate.StatusRejected, "<in@them>")
		create(w.partner, as2gate.Outbound, as2gate.StatusFailed, "<out@us>")
		newestOut := create(w.partner, as2gate.Outbound, as2gate.StatusQueued, "<out@us>")
		create(w.partner, as2gate.Inbound, as2gate.StatusRejected, "<only-rejected@them>")
		lastRejected := create(w.partner, as2gate.Inbound, as2gate.StatusRejected, "<only-rejected@them>")
		unknown := create(nil, as2gate.Inbound, as2gate.StatusRejected, "<in@them>")

		for _, c := range []struct {
			name      string
			partnerID string
			dir       as2gate.Direction
			id        string
			want      *as2gate.Message
		}{
			{"received first", w.partner.ID, as2gate.Inbound, "<in@them>", received},
			{"newest outbound", w.partner.ID, as2gate.Outbound, "<out@us>", newestOut},
			{"newest rejected", w.partner.ID, as2gate.Inbound, "<only-rejected@them>", lastRejected},
			{"unknown partner", "", as2gate.Inbound, "<in@them>", unknown},
		} {
			got, err := s.FindMessage(ctx, c.partnerID, c.dir, c.id)
			must(t, err)
			if got.ID != c.want.ID {
				t.Errorf("%s: found %s (%s), want %s", c.name, got.ID, got.Status, c.want.ID)
			}
		}
		_, err := s.FindMessage(ctx, w.partner.ID, as2gate.Inbound, "<out@us>")
		wantCode(t, err, as2gate.ENotFound, "message <out@us> not found")
	})
}

func TestListMessages(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		w := newWorld(t, s)
		st2 := newStation(t, s, "US2", w.cert.ID)
		p2 := newPartner(t, s, "THEM2", w.cert.ID)
		base := stored(time.Now().Add(-10 * time.Hour))
		var all []*as2gate.Message // oldest first
		add := func(st *as2gate.Station, p *as2gate.Partner, dir as2gate.Direction, status as2gate.Status, subject string) *as2gate.Message {
			m := message(st, p, dir, status, as2gate.NewID()+"@x")
			m.Subject = subject
			m.CreatedAt = base.Add(time.Duration(len(all)) * time.Hour)
			m.ID = as2gate.IDFloor(m.CreatedAt) // as NewID makes it at that time
			m.Files = []as2gate.File{{Name: subject + ".edi", Key: "k/" + m.MessageID}}
			must(t, s.CreateMessage(ctx, m))
			all = append(all, m)
			return m
		}
		m0 := add(w.station, w.partner, as2gate.Outbound, as2gate.StatusSent, "Invoice 42%")
		m1 := add(w.station, p2, as2gate.Inbound, as2gate.StatusReceived, "invoice 420")
		m2 := add(st2, w.partner, as2gate.Outbound, as2gate.StatusFailed, "Order_1")
		m3 := add(st2, p2, as2gate.Inbound, as2gate.StatusRejected, "Order 1")
		m4 := add(w.station, w.partner, as2gate.Outbound, as2gate.StatusQueued, `Back\slash`)
		newest := newestFirst(all...)

		for _, c := range []struct {
			name string
			f    as2gate.MessageFilter
			want []*as2gate.Message
		}{
			{"all", as2gate.MessageFilter{}, newest},
			{"direction", as2gate.MessageFilter{Direction: as2gate.Inbound}, []*as2gate.Message{m3, m1}},
			{"station", as2gate.MessageFilter{StationID: st2.ID}, []*as2gate.Message{m3, m2}},
			{"partner", as2gate.MessageFilter{PartnerID: w.partner.ID}, []*as2gate.Message{m4, m2, m0}},
			{"status", as2gate.MessageFilter{Status: []as2gate.Status{as2gate.StatusFailed, as2gate.StatusSent}}, []*as2gate.Message{m2, m0}},
			{"message id", as2gate.MessageFilter{MessageID: m1.MessageID}, []*as2gate.Message{m1}},
			{"subject any case", as2gate.MessageFilter{Subject: "INVOICE"}, []*as2gate.Message{m1, m0}},
			{"subject with %", as2gate.MessageFilter{Subject: "42%"}, []*as2gate.Message{m0}},
			{"subject with _", as2gate.MessageFilter{Subject: "order_"}, []*as2gate.Message{m2}},
			{`subject with \`, as2gate.MessageFilter{Subject: `k\s`}, []*as2gate.Message{m4}},
			{"since", as2gate.MessageFilter{Since: m3.CreatedAt}, []*as2gate.Message{m4, m3}},
			{"until", as2gate.MessageFilter{Until: m1.CreatedAt}, []*as2gate.Message{m0}},
			{"after", as2gate.MessageFilter{After: newest[2].ID}, newest[3:]},
			{"limit", as2gate.MessageFilter{Limit: 2}, newest[:2]},
			{"combined", as2gate.MessageFilter{Direction: as2gate.Outbound, PartnerID: w.partner.ID,
				Status: []as2gate.Status{as2gate.StatusSent, as2gate.StatusQueued}, Since: m0.CreatedAt.Add(time.Minute)},
				[]*as2gate.Message{m4}},
			{"nothing", as2gate.MessageFilter{Subject: "none such"}, nil},
		} {
			got, err := s.ListMessages(ctx, c.f)
			must(t, err)
			if want := newestFirst(c.want...); !reflect.DeepEqual(got, want) {
				t.Errorf("%s: got %v, want %v", c.name, subjects(got), subjects(want))
			}
		}

		// Pages of two, following the cursor, give every message once, files included.
		var paged []*as2gate.Message
		f := as2gate.MessageFilter{Limit: 2}
		for range 10 {
			page, err := s.ListMessages(ctx, f)
			must(t, err)
			if len(page) == 0 {
				break
			}
			paged = append(paged, page...)
			f.After = page[len(page)-1].ID
		}
		if !reflect.DeepEqual(paged, newest) {
			t.Fatalf("pages: got %v, want %v", subjects(paged), subjects(newest))
		}
	})
}

func TestListMessagesLimits(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		for range defaultLimit + 1 {
			must(t, s.CreateMessage(ctx, message(nil, nil, as2gate.Inbound, as2gate.StatusRejected, "<x@y>")))
		}
		for _, c := range []struct {
			limit, want int
		}{{0, defaultLimit}, {-1, defaultLimit}, {maxLimit + 1, defaultLimit + 1}, {3, 3}} {
			got, err := s.ListMessages(ctx, as2gate.MessageFilter{Limit: c.limit})
			must(t, err)
			if len(got) != c.want {
				t.Errorf("limit %d: %d messages, want %d", c.limit, len(got), c.want)
			}
		}
	})
}

// newestFirst sorts messages by ID, descending; nil for none.
func newestFirst(ms ...*as2gate.Message) []*as2gate.Message {
	if len(ms) == 0 {
		return nil
	}
	ms = slices.Clone(ms)
	slices.SortFunc(ms, func(a, b *as2gate.Message) int { return strings.Compare(b.ID, a.ID) })
	return ms
}

func subjects(ms []*as2gate.Message) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Subject)
	}
	return out
}

func TestUpdateMessage(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		w := newWorld(t, s)
		m := message(w.station, w.partner, as2gate.Outbound, as2gate.StatusQueued, "<u@us>")
		m.Files = []as2gate.File{{Name: "a.edi", Key: "k/a"}}
		must(t, s.CreateMessage(ctx, m))
		stale, err := s.GetMessage(ctx, m.ID)
		must(t, err)

		m.Status, m.Reason, m.Attempts = as2gate.StatusFailed, "refused", 1
		m.CompletedAt = stored(time.Now())
		m.Files = []as2gate.File{{Name: "b.edi", Key: "k/b", Size: 5}, {Name: "c.edi", Key: "k/c"}}
		before := m.UpdatedAt
		time.Sleep(2 * time.Millisecond)
		must(t, s.UpdateMessage(ctx, m, as2gate.JobChange{}))
		if m.Version != 1 || !m.UpdatedAt.After(before) {
			t.Fatalf("after update: version %d, updated %v (before %v)", m.Version, m.UpdatedAt, before)
		}
		got, err := s.GetMessage(ctx, m.ID)
		must(t, err)
		if !reflect.DeepEqual(got, m) {
			t.Fatalf("got  %+v\nwant %+v", got, m)
		}

		stale.Subject = "lost update"
		wantCode(t, s.UpdateMessage(ctx, stale, as2gate.JobChange{}), as2gate.EConflict, "changed meanwhile")
		if stale.Version != 0 {
			t.Fatalf("a failed update changed the version to %d", stale.Version)
		}
		got, err = s.GetMessage(ctx, m.ID)
		must(t, err)
		if got.Subject != m.Subject || got.Version != 1 {
			t.Fatalf("the stale update was saved: %q, version %d", got.Subject, got.Version)
		}

		// Unchanged files stay; no files remove them.
		m.Reason = "again"
		must(t, s.UpdateMessage(ctx, m, as2gate.JobChange{}))
		got, err = s.GetMessage(ctx, m.ID)
		must(t, err)
		if !reflect.DeepEqual(got.Files, m.Files) || got.Version != 2 {
			t.Fatalf("files %+v version %d, want %+v version 2", got.Files, got.Version, m.Files)
		}
		m.Files = nil
		must(t, s.UpdateMessage(ctx, m, as2gate.JobChange{}))
		got, err = s.GetMessage(ctx, m.ID)
		must(t, err)
		if got.Files != nil {
			t.Fatalf("files not removed: %+v", got.Files)
		}

		missing := *m
		missing.ID = "missing"
		wantCode(t, s.UpdateMessage(ctx, &missing, as2gate.JobChange{}), as2gate.ENotFound, "message missing not found")
	})
}

func TestUpdateMessageJobs(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		w := newWorld(t, s)
		t0 := stored(time.Now())
		m := message(w.station, w.partner, as2gate.Outbound, as2gate.StatusQueued, "<j@us>")
		must(t, s.CreateMessage(ctx, m, as2gate.Job{Kind: as2gate.JobSend, RunAt: t0}))
		other := message(w.station, w.partner, as2gate.Outbound, as2gate.StatusQueued, "<other@us>")
		must(t, s.CreateMessage(ctx, other, as2gate.Job{Kind: as2gate.JobSend, RunAt: t0.Add(time.Hour)}))
		otherJobs, err := s.ListJobs(ctx, other.ID)
		must(t, err)

		kinds := func() []as2gate.JobKind {
			t.Helper()
			jobs, err := s.ListJobs(ctx, m.ID)
			must(t, err)
			var ks []as2gate.JobKind
			for _, j := range jobs {
				ks = append(ks, j.Kind)
			}
			return ks
		}

		// Retry: back in the queue later, lease cleared, error kept.
		job, err := s.ClaimJob(ctx, "w1", t0, time.Minute)
		must(t, err)
		if job == nil || job.MessageID != m.ID {
			t.Fatalf("claimed %+v, want the send job of %s", job, m.ID)
		}
		m.Status = as2gate.StatusSending
		retry := *job
		retry.RunAt, retry.LastError = t0.Add(30*time.Second), "connection refused"
		must(t, s.UpdateMessage(ctx, m, as2gate.JobChange{Retry: &retry}))
		jobs, err := s.ListJobs(ctx, m.ID)
		must(t, err)
		want := as2gate.Job{ID: job.ID, Kind: as2gate.JobSend, MessageID: m.ID, RunAt: retry.RunAt, Attempts: 1,
			LastError: "connection refused", CreatedAt: job.CreatedAt}
		if len(jobs) != 1 || !reflect.DeepEqual(jobs[0], want) {
			t.Fatalf("after retry: got %+v\nwant %+v", jobs, want)
		}

		// Done and enqueue at once.
		m.Status = as2gate.StatusAwaitingMDN
		must(t, s.UpdateMessage(ctx, m, as2gate.JobChange{Done: job.ID, Enqueue: []as2gate.Job{
			{Kind: as2gate.JobMDNTimeout, RunAt: t0.Add(time.Hour)},
			{Kind: as2gate.JobSendMDN, RunAt: t0.Add(2 * time.Hour)},
		}}))
		if got := kinds(); !slices.Equal(got, []as2gate.JobKind{as2gate.JobMDNTimeout, as2gate.JobSendMDN}) {
			t.Fatalf("after done and enqueue: %v", got)
		}

		// Cancel then enqueue: the canceled kind comes back once.
		must(t, s.UpdateMessage(ctx, m, as2gate.JobChange{
			CancelKinds: []as2gate.JobKind{as2gate.JobMDNTimeout, as2gate.JobSend},
			Enqueue:     []as2gate.Job{{Kind: as2gate.JobMDNTimeout, RunAt: t0.Add(3 * time.Hour)}},
		}))
		if got := kinds(); !slices.Equal(got, []as2gate.JobKind{as2gate.JobSendMDN, as2gate.JobMDNTimeout}) {
			t.Fatalf("after cancel and enqueue: %v", got)
		}

		// A failing job change undoes the whole update.
		version := m.Version
		m.Subject = "not saved"
		for _, c := range []struct {
			name   string
			change as2gate.JobChange
			code   as2gate.Code
		}{
			{"done of another message", as2gate.JobChange{Done: otherJobs[0].ID}, as2gate.ENotFound},
			{"retry of a missing job", as2gate.JobChange{Retry: &as2gate.Job{ID: "missing"}}, as2gate.ENotFound},
			{"enqueue for another message", as2gate.JobChange{CancelKinds: []as2gate.JobKind{as2gate.JobSendMDN},
				Enqueue: []as2gate.Job{{Kind: as2gate.JobSend, MessageID: other.ID}}}, as2gate.EInvalid},
			{"enqueue without kind", as2gate.JobChange{Enqueue: []as2gate.Job{{}}}, as2gate.EInvalid},
		} {
			err := s.UpdateMessage(ctx, m, c.change)
			wantCode(t, err, c.code, "")
			got, err := s.GetMessage(ctx, m.ID)
			must(t, err)
			if got.Version != version || m.Version != version || got.Subject == "not saved" {
				t.Fatalf("%s: the update was saved (version %d, subject %q)", c.name, got.Version, got.Subject)
			}
			if got := kinds(); !slices.Equal(got, []as2gate.JobKind{as2gate.JobSendMDN, as2gate.JobMDNTimeout}) {
				t.Fatalf("%s: jobs changed: %v", c.name, got)
			}
		}
		if jobs, err := s.ListJobs(ctx, other.ID); err != nil || !reflect.DeepEqual(jobs, otherJobs) {
			t.Fatalf("the other message's jobs changed: %+v, %v", jobs, err)
		}
	})
}

// TestMessageTextIsCleaned: text a partner sent (any bytes) is stored as
// valid UTF-8 without NUL, on PostgreSQL as on SQLite, and read back as
// the caller's copy says.
func TestMessageTextIsCleaned(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		w := newWorld(t, s)
		m := message(w.station, w.partner, as2gate.Inbound, as2gate.StatusRejected, "<dirty@them>")
		m.Subject = "caf\xe9 \x00 order"
		m.Reason = "the partner answered HTTP 500 " + strings.Repeat("é", maxTextBytes) // cut inside a rune
		m.Files = []as2gate.File{{Name: "a.edi", ContentType: "text/\xff\xfe", Key: "k/a"}}
		must(t, s.CreateMessage(ctx, m))
		m.MDNMessageID, m.MDNDisposition = "<\x00@them>", "automatic-action/MDN-sent-automatically; processed/error: \xc3"
		must(t, s.UpdateMessage(ctx, m, as2gate.JobChange{}))
		got, err := s.GetMessage(ctx, m.ID)
		must(t, err)
		if !reflect.DeepEqual(got, m) {
			t.Fatalf("got  %+v\nwant %+v", got, m)
		}
		for _, v := range []string{got.Subject, got.Reason, got.MDNMessageID, got.MDNDisposition, got.Files[0].ContentType} {
			if !utf8.ValidString(v) || strings.ContainsRune(v, 0) || len(v) > maxTextBytes {
				t.Errorf("stored %q", v)
			}
		}
		if got.Subject != "caf\uFFFD \uFFFD order" || !strings.HasSuffix(got.Reason, "é") {
			t.Errorf("subject %q, reason ends %q", got.Subject, got.Reason[len(got.Reason)-4:])
		}
	})
}
