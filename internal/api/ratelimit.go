package api

import (
	"sync"
	"time"
)

// LoginLimit is how failed logins are limited.
type LoginLimit struct {
	Failures   int           // failures allowed within Window; 5 by default
	Window     time.Duration // 1 minute by default
	Lockout    time.Duration // the first lockout; 1 minute by default
	MaxLockout time.Duration // lockouts double up to this; 1 hour by default, at most maxLockout
}

const (
	// maxTracked bounds the usernames and addresses tracked, so that an
	// attacker with many addresses cannot exhaust memory. Past it, stale
	// entries are dropped, then entries not locked out (see prune); only
	// a table full of lockouts refuses new keys.
	maxTracked = 100_000
	// maxLockout caps any lockout: a locked-out user waits at most a day.
	maxLockout = 24 * time.Hour
	// inFlightWait is the Retry-After of a login refused because the
	// attempts still being checked fill its key's budget: a password
	// check takes well under a second.
	inFlightWait = time.Second
)

// limiter counts login attempts per key (a username, a client address).
// An attempt counts from before its password is checked (begin) until
// it is settled (end): parallel attempts cannot all pass before the
// first failure is recorded.
type limiter struct {
	cfg LoginLimit
	now func() time.Time

	mu      sync.Mutex
	entries map[string]*attempts
}

type attempts struct {
	inFlight    int // attempts begun and not ended
	failures    int // failures within the window that began at windowStart
	windowStart time.Time
	lockedUntil time.Time
	lockouts    int  // lockouts so far: each doubles the next
	reported    bool // a refusal was reported since the lockout or window began
}

func newLimiter(cfg LoginLimit) *limiter {
	if cfg.Failures <= 0 {
		cfg.Failures = 5
	}
	if cfg.Window <= 0 {
		cfg.Window = time.Minute
	}
	if cfg.Lockout <= 0 {
		cfg.Lockout = time.Minute
	}
	if cfg.MaxLockout <= 0 {
		cfg.MaxLockout = time.Hour
	}
	cfg.MaxLockout = min(cfg.MaxLockout, maxLockout)
	cfg.Lockout = min(cfg.Lockout, cfg.MaxLockout)
	return &limiter{cfg: cfg, now: time.Now, entries: map[string]*attempts{}}
}

// begin counts an attempt against each key, or refuses it and returns
// how long to wait (then nothing is counted): when a key is locked out,
// when its failures and attempts in flight reach the limit, or when there
// is no room to track a new key. report is set for the first refusal by a
// key in its lockout or window, so that a flood of refused attempts is
// recorded once, not once each.
func (l *limiter) begin(keys ...string) (wait time.Duration, report bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	fresh := 0
	for _, k := range keys {
		e := l.entries[k]
		if e == nil {
			fresh++
			continue
		}
		if now.Sub(e.windowStart) >= l.cfg.Window {
			e.failures, e.windowStart, e.reported = 0, now, false
		}
		refused := true
		switch {
		case now.Before(e.lockedUntil):
			wait = max(wait, e.lockedUntil.Sub(now))
		case e.failures+e.inFlight >= l.cfg.Failures:
			wait = max(wait, inFlightWait)
		default:
			refused = false
		}
		if refused && !e.reported {
			e.reported, report = true, true
		}
	}
	if wait > 0 {
		return wait, report
	}
	if fresh > 0 && len(l.entries)+fresh > maxTracked && !l.prune(now, fresh) {
		return l.cfg.Window, true
	}
	for _, k := range keys {
		e := l.entries[k]
		if e == nil {
			e = &attempts{windowStart: now}
			l.entries[k] = e
		}
		e.inFlight++
	}
	return 0, false
}

// end settles an attempt begun: failed counts a failure against each key,
// locking it out once it has too many.
func (l *limiter) end(failed bool, keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	for _, k := range keys {
		e := l.entries[k]
		if e == nil {
			continue
		}
		e.inFlight--
		if !failed {
			l.dropIdle(k, e)
			continue
		}
		if now.Sub(e.windowStart) >= l.cfg.Window {
			e.failures, e.windowStart = 0, now
		}
		e.failures++
		if e.failures >= l.cfg.Failures {
			e.lockedUntil = now.Add(l.lockout(e.lockouts))
			e.lockouts++
			e.failures, e.windowStart, e.reported = 0, now, false
		}
	}
}

// lockout is the length of the lockout after n earlier ones: doubled n
// times, bounded by MaxLockout before each doubling so it cannot overflow.
func (l *limiter) lockout(n int) time.Duration {
	d := l.cfg.Lockout
	for ; n > 0 && d < l.cfg.MaxLockout; n-- {
		d *= 2
	}
	return min(d, l.cfg.MaxLockout)
}

// forget clears the failures and lockouts of a key (a user who logged in),
// keeping its attempts in flight counted.
func (l *limiter) forget(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e := l.entries[key]; e != nil {
		*e = attempts{inFlight: e.inFlight, windowStart: e.windowStart}
		l.dropIdle(key, e)
	}
}

// dropIdle removes an entry that counts nothing, to keep room.
func (l *limiter) dropIdle(key string, e *attempts) {
	if e.inFlight == 0 && e.failures == 0 && e.lockouts == 0 {
		delete(l.entries, key)
	}
}

// prune makes room for n new entries. It drops the entries that neither
// lock, count nor remember a recent lockout any more; when that is not
// enough, it drops entries that are not locked out, and a hundredth more
// so that a flood does not scan the table at every attempt. Their
// failures within the window are forgotten: an attacker wins back a few
// guesses for every maxTracked attempts from new keys, while without it
// an attacker with that many addresses would keep every new user out.
// Lockouts and attempts in flight stay. It reports whether there is room.
func (l *limiter) prune(now time.Time, n int) bool {
	for k, e := range l.entries {
		if e.inFlight == 0 && !now.Before(e.lockedUntil) && now.Sub(e.windowStart) >= l.cfg.Window && now.Sub(e.lockedUntil) >= l.cfg.MaxLockout {
			delete(l.entries, k)
		}
	}
	target := maxTracked - n - maxTracked/100
	for k, e := range l.entries {
		if len(l.entries) <= target {
			break
		}
		if e.inFlight == 0 && !now.Before(e.lockedUntil) {
			delete(l.entries, k)
		}
	}
	return len(l.entries)+n <= maxTracked
}
