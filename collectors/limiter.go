package collectors

import (
	"context"
	"math"
	"sync"
	"time"
)

// Limiter is a token bucket shared by every call made with one token: VK allows 3
// requests a second per user or service token and 20 per community token, OK and the Graph
// API have their own budgets. It is safe for concurrent use.
type Limiter struct {
	mu     sync.Mutex
	now    func() time.Time
	every  time.Duration // one token per every
	burst  int
	next   time.Time // when the bucket is full again minus burst·every: the "theoretical arrival time"
	paused time.Time // no token before paused (set by Pause)
}

// NewLimiter returns a limiter allowing perSecond calls a second on average, with bursts
// of up to burst calls. perSecond ≤ 0 means no limit.
func NewLimiter(perSecond float64, burst int) *Limiter {
	return NewLimiterClock(perSecond, burst, time.Now)
}

// NewLimiterClock is NewLimiter with an injected clock, for simulations.
func NewLimiterClock(perSecond float64, burst int, now func() time.Time) *Limiter {
	if burst < 1 {
		burst = 1
	}
	l := &Limiter{now: now, burst: burst}
	if perSecond > 0 {
		// Rounded up, so that n calls never fit in a second that allows n−1.
		l.every = time.Duration(math.Ceil(float64(time.Second) / perSecond))
	}
	return l
}

// Reserve takes one token and returns how long the caller must wait before using it.
func (l *Limiter) Reserve() time.Duration {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if l.every == 0 {
		if l.paused.After(now) {
			return l.paused.Sub(now)
		}
		return 0
	}
	// Generic cell rate algorithm: a call conforms at t when t ≥ next − (burst−1)·every.
	earliest := l.next.Add(-time.Duration(l.burst-1) * l.every)
	at := now
	if earliest.After(at) {
		at = earliest
	}
	if l.paused.After(at) {
		at = l.paused
	}
	base := l.next
	if base.Before(at) {
		base = at
	}
	l.next = base.Add(l.every)
	return at.Sub(now)
}

// Wait blocks until a token is available or ctx is done. A token taken by a call that
// gives up on ctx is not returned (the limiter stays conservative).
func (l *Limiter) Wait(ctx context.Context) error {
	if !Sleep(ctx, l.Reserve()) {
		return ctx.Err()
	}
	return nil
}

// Pause stops handing out tokens for d: after the network answered "too many requests",
// every caller sharing the token backs off together.
func (l *Limiter) Pause(d time.Duration) {
	if l == nil || d <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	until := l.now().Add(d)
	if until.After(l.paused) {
		l.paused = until
	}
}
