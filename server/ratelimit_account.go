package server

import (
	"context"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/gatehouse-dev/gatehouse/store"
)

// memoryLoginFailures is the in-process store.LoginFailureStore, for a
// single instance (the embedded bbolt backend). Accounts whose level has
// drained to zero are forgotten by cleanup; past maxLimiterKeys accounts,
// an account with nothing recorded reads as over every limit, so a flood
// of fresh names slows sign-ins (never refuses them) instead of erasing
// the history of real ones.
type memoryLoginFailures struct {
	mu sync.Mutex
	m  map[string]failureLevel
}

type failureLevel struct {
	level float64
	at    time.Time
}

func newMemoryLoginFailures() *memoryLoginFailures {
	return &memoryLoginFailures{m: map[string]failureLevel{}}
}

// AddLoginFailure implements store.LoginFailureStore.
func (f *memoryLoginFailures) AddLoginFailure(_ context.Context, account string, now time.Time, leak time.Duration) (float64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	cur, ok := f.m[account]
	if !ok && len(f.m) >= maxLimiterKeys {
		return math.Inf(1), nil
	}
	lvl := store.DrainedLevel(cur.level, cur.at, now, leak) + 1
	f.m[account] = failureLevel{level: lvl, at: later(cur.at, now)}
	return lvl, nil
}

// LoginFailureLevel implements store.LoginFailureStore.
func (f *memoryLoginFailures) LoginFailureLevel(_ context.Context, account string, now time.Time, leak time.Duration) (float64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	cur, ok := f.m[account]
	if !ok {
		if len(f.m) >= maxLimiterKeys {
			return math.Inf(1), nil
		}
		return 0, nil
	}
	return store.DrainedLevel(cur.level, cur.at, now, leak), nil
}

func (f *memoryLoginFailures) cleanup(now time.Time, leak time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for k, v := range f.m {
		if store.DrainedLevel(v.level, v.at, now, leak) == 0 {
			delete(f.m, k)
		}
	}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// maxSlowedWait is the longest a slowed sign-in waits for its turn; it
// stays well under the server's 30 s write timeout. Only a flood of
// concurrent guesses at one account makes the queue that long, and then
// the request is answered 429 with the wait instead.
const maxSlowedWait = 20 * time.Second

// accountPacer spaces the password checks of accounts that are over the
// per-account limit: at most one per slowdown for each account on this
// instance, each request waiting for its turn. The right password still
// signs in, only later; a distributed guesser gets one guess per slowdown.
type accountPacer struct {
	mu    sync.Mutex
	every time.Duration
	m     map[string]*rate.Limiter
}

func newAccountPacer(every time.Duration) *accountPacer {
	return &accountPacer{every: every, m: map[string]*rate.Limiter{}}
}

// reserve returns how long a check of account must wait for its turn, or
// ok=false (and the wait) when that is longer than maxSlowedWait; the turn
// is then not taken.
func (p *accountPacer) reserve(account string, now time.Time) (time.Duration, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	l, found := p.m[account]
	if !found {
		if len(p.m) >= maxLimiterKeys {
			return maxSlowedWait, false
		}
		l = rate.NewLimiter(rate.Every(p.every), 1)
		p.m[account] = l
	}
	r := l.ReserveN(now, 1)
	wait := r.DelayFrom(now)
	if wait > maxSlowedWait {
		r.CancelAt(now)
		return wait, false
	}
	return wait, true
}

func (p *accountPacer) cleanup(now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, l := range p.m {
		if l.TokensAt(now) >= 1 {
			delete(p.m, k)
		}
	}
}
