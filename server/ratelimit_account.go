package server

import (
	"context"
	"math"
	"sync"
	"time"

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
	// next is the account's next free check slot under the slowdown.
	next time.Time
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
	f.m[account] = failureLevel{level: lvl, at: later(cur.at, now), next: cur.next}
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

// ReserveLoginCheck implements store.LoginFailureStore: the schedule of
// one instance. Past maxLimiterKeys accounts, an account with nothing
// recorded is refused its turn (as its level reads over every limit).
func (f *memoryLoginFailures) ReserveLoginCheck(_ context.Context, account string, now time.Time, every, maxWait time.Duration) (time.Duration, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	cur, found := f.m[account]
	if !found && len(f.m) >= maxLimiterKeys {
		return maxWait, false, nil
	}
	wait, ok, next := store.NextLoginCheck(cur.next, now, every, maxWait)
	if ok {
		cur.next = next
		f.m[account] = cur
	}
	return wait, ok, nil
}

func (f *memoryLoginFailures) cleanup(now time.Time, leak time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for k, v := range f.m {
		if store.DrainedLevel(v.level, v.at, now, leak) == 0 && !v.next.After(now) {
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
