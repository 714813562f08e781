package sqlstore

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/as2gate/as2gate"
)

func TestClaimJob(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		t0 := stored(time.Now())
		next, err := s.NextJobTime(ctx)
		must(t, err)
		if !next.IsZero() {
			t.Fatalf("no jobs, yet NextJobTime %v", next)
		}
		j, err := s.ClaimJob(ctx, "w1", t0, time.Minute)
		if j != nil || err != nil {
			t.Fatalf("no jobs, yet claimed %+v, %v", j, err)
		}

		w := newWorld(t, s)
		m := message(w.station, w.partner, as2gate.Outbound, as2gate.StatusQueued, "<q@us>")
		must(t, s.CreateMessage(ctx, m,
			as2gate.Job{Kind: as2gate.JobSend, RunAt: t0.Add(10 * time.Second)},
			as2gate.Job{Kind: as2gate.JobMDNTimeout, RunAt: t0.Add(time.Minute)}))
		jobs, err := s.ListJobs(ctx, m.ID)
		must(t, err)
		send, timeout := jobs[0], jobs[1]
		if len(jobs) != 2 || send.Kind != as2gate.JobSend || timeout.Kind != as2gate.JobMDNTimeout ||
			!as2gate.IsID(send.ID) || send.MessageID != m.ID || send.CreatedAt.IsZero() {
			t.Fatalf("jobs %+v", jobs)
		}

		claim := func(owner string, at time.Time, lease time.Duration) *as2gate.Job {
			t.Helper()
			j, err := s.ClaimJob(ctx, owner, at, lease)
			must(t, err)
			return j
		}
		wantNext := func(want time.Time) {
			t.Helper()
			next, err := s.NextJobTime(ctx)
			must(t, err)
			if !next.Equal(want) {
				t.Fatalf("NextJobTime %v, want %v", next, want)
			}
		}

		wantNext(send.RunAt)
		if j := claim("w1", t0, time.Minute); j != nil {
			t.Fatalf("claimed %+v before it is due", j)
		}
		j = claim("w1", t0.Add(10*time.Second), 30*time.Second)
		if j == nil || j.ID != send.ID || j.LeaseOwner != "w1" || j.Attempts != 1 ||
			!j.LeaseUntil.Equal(t0.Add(40*time.Second)) || !j.RunAt.Equal(send.RunAt) {
			t.Fatalf("first claim: %+v", j)
		}
		// Leased: not claimable until the lease ends.
		if j := claim("w2", t0.Add(39*time.Second), time.Minute); j != nil {
			t.Fatalf("claimed %+v while leased", j)
		}
		wantNext(t0.Add(40 * time.Second))

		// The lease ended (its worker crashed): another worker takes it up.
		j = claim("w2", t0.Add(40*time.Second), time.Minute)
		if j == nil || j.ID != send.ID || j.LeaseOwner != "w2" || j.Attempts != 2 {
			t.Fatalf("claim after the lease ended: %+v", j)
		}
		wantCode(t, s.ExtendLease(ctx, send.ID, "w1", t0.Add(time.Hour)), as2gate.EConflict, "no longer leased to w1")
		must(t, s.ExtendLease(ctx, send.ID, "w2", t0.Add(5*time.Minute)))
		wantCode(t, s.ExtendLease(ctx, "missing", "w2", t0), as2gate.ENotFound, "job missing not found")
		// w1 lost the lease: it can neither finish nor reschedule the job,
		// nor update the message while trying.
		for _, c := range []as2gate.JobChange{
			{Owner: "w1", Done: send.ID},
			{Owner: "w1", Retry: &as2gate.Job{ID: send.ID, RunAt: t0.Add(time.Hour)}},
		} {
			cur, err := s.GetMessage(ctx, m.ID)
			must(t, err)
			cur.Status = as2gate.StatusFailed
			wantCode(t, s.UpdateMessage(ctx, cur, c), as2gate.ENotFound, "not leased to w1")
			if after, _ := s.GetMessage(ctx, m.ID); after.Status != as2gate.StatusQueued {
				t.Fatalf("the message was updated: %s", after.Status)
			}
		}
		cur, err := s.GetMessage(ctx, m.ID)
		must(t, err)
		must(t, s.UpdateMessage(ctx, cur, as2gate.JobChange{Owner: "w2", Retry: &as2gate.Job{ID: send.ID, RunAt: t0.Add(40 * time.Second)}}))
		j = claim("w2", t0.Add(40*time.Second), time.Minute)
		if j == nil || j.ID != send.ID {
			t.Fatalf("claim after the owner's retry: %+v", j)
		}
		must(t, s.ExtendLease(ctx, send.ID, "w2", t0.Add(5*time.Minute)))
		wantNext(timeout.RunAt)

		j = claim("w1", t0.Add(2*time.Minute), time.Minute)
		if j == nil || j.ID != timeout.ID {
			t.Fatalf("claim of the second job: %+v", j)
		}
		if j := claim("w1", t0.Add(2*time.Minute), time.Minute); j != nil {
			t.Fatalf("claimed %+v while all are leased", j)
		}
		wantNext(t0.Add(3 * time.Minute))

		for _, c := range []struct {
			owner string
			lease time.Duration
		}{{"", time.Minute}, {"w1", 0}, {"w1", -time.Second}} {
			_, err := s.ClaimJob(ctx, c.owner, t0, c.lease)
			wantCode(t, err, as2gate.EInvalid, "")
		}
	})
}

// Workers on two connections (two stores, as two processes) claim every
// job exactly once while the leases hold.
func TestClaimJobConcurrently(t *testing.T) {
	const jobs, perStore = 200, 4
	eachEngine(t, func(t *testing.T, e engine) {
		u := e.newDB(t)
		stores := []*Store{openStore(t, u), openStore(t, u)}
		ctx := t.Context()
		w := newWorld(t, stores[0])
		t0 := stored(time.Now())
		m := message(w.station, w.partner, as2gate.Outbound, as2gate.StatusQueued, "<many@us>")
		queue := make([]as2gate.Job, jobs)
		for i := range queue {
			queue[i] = as2gate.Job{Kind: as2gate.JobSend, RunAt: t0.Add(-time.Duration(i) * time.Millisecond)}
		}
		must(t, stores[0].CreateMessage(ctx, m, queue...))

		var mu sync.Mutex
		claimed := map[string]string{} // job ID → owner
		var problems []error
		var wg sync.WaitGroup
		for si, s := range stores {
			for wi := range perStore {
				owner := fmt.Sprintf("store%d-worker%d", si, wi)
				wg.Go(func() {
					for {
						j, err := s.ClaimJob(ctx, owner, t0, time.Hour)
						mu.Lock()
						switch {
						case err != nil:
							problems = append(problems, err)
						case j != nil:
							if first, ok := claimed[j.ID]; ok {
								problems = append(problems, fmt.Errorf("job %s claimed by %s and %s", j.ID, first, owner))
							}
							claimed[j.ID] = owner
						}
						mu.Unlock()
						if err != nil || j == nil {
							return
						}
					}
				})
			}
		}
		wg.Wait()
		for _, err := range problems[:min(len(problems), 5)] {
			t.Error(err)
		}
		if len(claimed) != jobs {
			t.Fatalf("%d jobs claimed, want %d", len(claimed), jobs)
		}
		owners := map[string]bool{}
		for _, o := range claimed {
			owners[o[:len("store0")]] = true
		}
		if len(owners) != 2 {
			t.Logf("only %v claimed jobs (the test is still valid, but did not interleave)", owners)
		}
	})
}

// TestJobErrorIsCleaned: a job's last error may quote a partner's answer
// (any bytes); it is stored cleaned on PostgreSQL as on SQLite, so that
// the retry is recorded.
func TestJobErrorIsCleaned(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		w := newWorld(t, s)
		m := message(w.station, w.partner, as2gate.Outbound, as2gate.StatusQueued, "<job-err@us>")
		job := as2gate.Job{ID: as2gate.NewID(), Kind: as2gate.JobSend, RunAt: now(), LastError: "first \xfe"}
		must(t, s.CreateMessage(ctx, m, job))
		must(t, s.UpdateMessage(ctx, m, as2gate.JobChange{Retry: &as2gate.Job{ID: job.ID, RunAt: now(),
			LastError: "partner answered HTTP 500 \xff\x00"}}))
		jobs, err := s.ListJobs(ctx, m.ID)
		must(t, err)
		if len(jobs) != 1 || jobs[0].LastError != "partner answered HTTP 500 \uFFFD\uFFFD" {
			t.Fatalf("jobs %+v", jobs)
		}
	})
}
