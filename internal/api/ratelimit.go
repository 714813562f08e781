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
	MaxLockout time.Duration // lockouts double up to this; 1 hour by default
}

// maxTracked bounds the usernames and addresses tracked. Past it, stale
// entries are dropped; when none is stale, new keys go untracked rather
// than let an attacker with many addresses exhaust memory.
const maxTracked = 100_000

// limiter counts failed logins per key (a username, a client address).
type limiter struct {
	cfg LoginLimit
	now func() time.Time

	mu      sync.Mutex
	entries map[string]*attempts
}

type attempts struct {
	failures    int
	windowStart time.Time
	lockedUntil time.Time
	lockouts    int // lockouts so far: each doubles the next
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
	return &limiter{cfg: cfg, now: time.Now, entries: map[string]*attempts{}}
}

// wait is how long the keys are locked out; 0 when none is.
func (l *limiter) wait(keys ...string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	var longest time.Duration
	for _, k := range keys {
		if e := l.entries[k]; e != nil && now.Before(e.lockedUntil) {
			longest = max(longest, e.lockedUntil.Sub(now))
		}
	}
	return longest
}

// fail counts a failed login against each key.
func (l *limiter) fail(keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	for _, k := range keys {
		e := l.entries[k]
		if e == nil {
			if len(l.entries) >= maxTracked && !l.prune(now) {
				continue
			}
			e = &attempts{}
			l.entries[k] = e
		}
		if now.Sub(e.windowStart) >= l.cfg.Window {
			e.failures, e.windowStart = 0, now
		}
		e.failures++
		if e.failures >= l.cfg.Failures {
			lock := l.cfg.Lockout << min(e.lockouts, 20)
			e.lockedUntil = now.Add(min(lock, l.cfg.MaxLockout))
			e.lockouts++
			e.failures, e.windowStart = 0, now
		}
	}
}

// succeed forgets the failures of the keys.
func (l *limiter) succeed(keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		delete(l.entries, k)
	}
}

// prune drops the entries that neither lock nor count any more, and
// reports whether there is room now.
func (l *limiter) prune(now time.Time) bool {
	for k, e := range l.entries {
		if !now.Before(e.lockedUntil) && now.Sub(e.windowStart) >= l.cfg.Window && now.Sub(e.lockedUntil) >= l.cfg.MaxLockout {
			delete(l.entries, k)
		}
	}
	return len(l.entries) < maxTracked
}
