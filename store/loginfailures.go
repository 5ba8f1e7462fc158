package store

import (
	"context"
	"time"
)

// LoginFailureStore counts failed sign-ins per account, for the
// per-account limit against distributed guessing. Several instances that
// share a database must share these counts (a guesser spreading over
// instances must not multiply the limit), so a backend that serves several
// instances implements it; the server keeps the count in memory otherwise.
//
// The count is a leaky bucket: each failure adds 1, and the level drains
// linearly by one failure per leak (login.failure_window divided by
// login.max_failures_per_account), never below 0. Callers pass leak on
// every call, so an implementation stores only the level and when it was
// last written: in SQL one upsert,
//
//	level = greatest(0, level - (now - updated_at) / leak) + 1.
//
// Accounts are the normalised login names as typed, existing or not (an
// unknown name is counted like a real one, so the count reveals nothing).
type LoginFailureStore interface {
	// AddLoginFailure records one failed sign-in for account at now and
	// returns the level after it.
	AddLoginFailure(ctx context.Context, account string, now time.Time, leak time.Duration) (float64, error)
	// LoginFailureLevel returns account's level at now (0 when nothing is
	// recorded). It writes nothing.
	LoginFailureLevel(ctx context.Context, account string, now time.Time, leak time.Duration) (float64, error)
}

// DrainedLevel is level, recorded at then, drained by one per leak until
// now (never below zero, never raised by a clock that went backwards).
func DrainedLevel(level float64, then, now time.Time, leak time.Duration) float64 {
	if leak <= 0 {
		return 0
	}
	elapsed := now.Sub(then)
	if elapsed < 0 {
		elapsed = 0
	}
	return max(0, level-float64(elapsed)/float64(leak))
}
