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
//
// Past the per-account limit an account is slowed: its password checks
// are spaced login.account_slowdown apart. The schedule of those checks
// lives here too (ReserveLoginCheck), so that N instances sharing a
// database give a guesser one check per slowdown, not N.
type LoginFailureStore interface {
	// AddLoginFailure records one failed sign-in for account at now and
	// returns the level after it.
	AddLoginFailure(ctx context.Context, account string, now time.Time, leak time.Duration) (float64, error)
	// LoginFailureLevel returns account's level at now (0 when nothing is
	// recorded). It writes nothing.
	LoginFailureLevel(ctx context.Context, account string, now time.Time, leak time.Duration) (float64, error)
	// ReserveLoginCheck takes account's next password-check slot: slots
	// are every apart, and a reservation takes the first free one at or
	// after now. It returns how long the check must wait for its slot
	// (0 when the account's schedule is free). When that wait would be
	// longer than maxWait, nothing is reserved, ok is false, and wait is
	// the wait the caller would have had (for Retry-After). One atomic
	// step: concurrent reservations, from any number of instances, get
	// distinct slots every apart. A clock that went backwards never frees
	// a slot already taken.
	ReserveLoginCheck(ctx context.Context, account string, now time.Time, every, maxWait time.Duration) (wait time.Duration, ok bool, err error)
}

// NextLoginCheck is the one rule of ReserveLoginCheck for every backend:
// given the account's next free slot (zero: none recorded), it returns
// the slot a reservation at now takes, the wait until it, whether it is
// within maxWait, and the next free slot after it.
func NextLoginCheck(next, now time.Time, every, maxWait time.Duration) (wait time.Duration, ok bool, after time.Time) {
	slot := now
	if next.After(now) {
		slot = next
	}
	wait = slot.Sub(now)
	if wait > maxWait {
		return wait, false, next
	}
	return wait, true, slot.Add(every)
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
