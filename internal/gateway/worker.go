package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/as2gate/as2gate"
)

// Run works the job queue and watches the send folders until ctx ends.
func (g *Gateway) Run(ctx context.Context) {
	host, _ := os.Hostname()
	var r [4]byte
	rand.Read(r[:])
	owner := fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(r[:]))
	var wg sync.WaitGroup
	for i := 0; i < g.opt.Workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g.work(ctx, owner)
		}()
	}
	wg.Add(2)
	go func() {
		defer wg.Done()
		g.scanSendFolders(ctx)
	}()
	go func() {
		defer wg.Done()
		g.sweepPeriodically(ctx)
	}()
	wg.Wait()
}

func (g *Gateway) work(ctx context.Context, owner string) {
	for ctx.Err() == nil {
		job, err := g.store.ClaimJob(ctx, owner, g.now(), g.opt.Lease)
		if err != nil {
			if ctx.Err() == nil {
				g.log.Error("claiming a job", "error", err)
			}
			g.sleep(ctx, g.opt.PollInterval)
			continue
		}
		if job == nil {
			g.sleep(ctx, g.untilNextJob(ctx))
			continue
		}
		g.runJob(ctx, job)
	}
}

// untilNextJob is how long to wait for work: until the next job is due,
// but never longer than the poll interval (jobs made by another process
// or node do not wake us).
func (g *Gateway) untilNextJob(ctx context.Context) time.Duration {
	next, err := g.store.NextJobTime(ctx)
	if err != nil || next.IsZero() {
		return g.opt.PollInterval
	}
	return min(max(next.Sub(g.now()), 10*time.Millisecond), g.opt.PollInterval)
}

func (g *Gateway) sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-g.wake:
	case <-t.C:
	}
}

// finished and retryAt are the changes a worker makes to the job it runs:
// they apply only while it still holds the job's lease.
func finished(job *as2gate.Job) as2gate.JobChange {
	return as2gate.JobChange{Owner: job.LeaseOwner, Done: job.ID}
}

func retryAt(job *as2gate.Job, at time.Time, lastError string) as2gate.JobChange {
	return as2gate.JobChange{Owner: job.LeaseOwner, Retry: &as2gate.Job{ID: job.ID, RunAt: at, LastError: lastError}}
}

func (g *Gateway) runJob(ctx context.Context, job *as2gate.Job) {
	switch job.Kind {
	case as2gate.JobSend:
		g.runSend(ctx, job)
	case as2gate.JobMDNTimeout:
		g.runMDNTimeout(ctx, job)
	case as2gate.JobSendMDN:
		g.runSendMDN(ctx, job)
	default:
		g.log.Error("unknown job kind", "kind", job.Kind, "job", job.ID)
	}
}
