package server

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// maxLimiterKeys bounds the memory of one keyed limiter. Keys whose bucket
// has refilled and that have no check in flight are dropped by cleanup, so
// only keys with recent or pending failures count; past the bound, new keys
// are refused (fail closed) rather than letting a flood of fresh keys erase
// the history of real ones.
const maxLimiterKeys = 1 << 20

// keyedLimiter is a token bucket per key that only failures drain: burst
// failures are allowed, refilling at burst per window. An attempt reserves
// one unit of the allowance before its (slow) check runs and keeps it only
// if the check fails, so checks in flight and failures recorded together
// never exceed what the bucket holds: concurrent guesses cannot all be
// checked before the first failure is counted.
type keyedLimiter struct {
	mu    sync.Mutex
	every rate.Limit
	burst int
	m     map[string]*failureBucket
}

// failureBucket is one key's recorded failures and its checks in flight.
type failureBucket struct {
	failures *rate.Limiter
	inFlight int
}

func newKeyedLimiter(burst int, window time.Duration) *keyedLimiter {
	return &keyedLimiter{
		every: rate.Limit(float64(burst) / window.Seconds()),
		burst: burst,
		m:     map[string]*failureBucket{},
	}
}

// reserve admits one attempt for key and returns zero, or returns how long
// key must wait before another attempt. An admitted attempt must be ended
// with finish.
func (k *keyedLimiter) reserve(key string, now time.Time) time.Duration {
	k.mu.Lock()
	defer k.mu.Unlock()
	b, ok := k.m[key]
	if !ok {
		if len(k.m) >= maxLimiterKeys {
			return time.Minute
		}
		b = &failureBucket{failures: rate.NewLimiter(k.every, k.burst)}
		k.m[key] = b
	}
	if wait := k.waitLocked(b, now); wait > 0 {
		return wait
	}
	b.inFlight++
	return 0
}

// peek is how long key must wait, without reserving anything.
func (k *keyedLimiter) peek(key string, now time.Time) time.Duration {
	k.mu.Lock()
	defer k.mu.Unlock()
	b, ok := k.m[key]
	if !ok {
		if len(k.m) >= maxLimiterKeys {
			return time.Minute
		}
		return 0
	}
	return k.waitLocked(b, now)
}

// waitLocked counts checks in flight as if they had failed already: that
// is the worst case they can end in.
func (k *keyedLimiter) waitLocked(b *failureBucket, now time.Time) time.Duration {
	avail := b.failures.TokensAt(now) - float64(b.inFlight)
	if avail >= 1 {
		return 0
	}
	secs := (1 - avail) / float64(k.every)
	return time.Duration(math.Ceil(secs * float64(time.Second)))
}

// finish ends an attempt admitted by reserve: a failure keeps the unit it
// reserved, anything else gives it back.
func (k *keyedLimiter) finish(key string, now time.Time, failed bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	b, ok := k.m[key]
	if !ok || b.inFlight == 0 {
		return // not reserved; cleanup never drops a key with checks in flight
	}
	b.inFlight--
	if failed {
		// The reservation guaranteed a token; ReserveN (not AllowN) records
		// the failure even if rounding left a hair less than one.
		b.failures.ReserveN(now, 1)
	}
}

// cleanup forgets keys whose bucket is full again and that have no check
// in flight.
func (k *keyedLimiter) cleanup(now time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for key, b := range k.m {
		if b.inFlight == 0 && b.failures.TokensAt(now) >= float64(k.burst) {
			delete(k.m, key)
		}
	}
}

// loginLimiter refuses guessing from one place: failed sign-ins per
// (account, client address) and per client address, both keyed by
// policy.AddressKey (an IPv6 host counts as its /64). Keyed on the pair,
// a guesser at one address cannot lock the real user, signing in from
// anywhere else, out of their account (CWE-645); per address, one host
// cannot spray many accounts. Guessing one account from many addresses is
// the per-account limit's job, which slows instead (paceAccount).
//
// A trusted device (login_device.go) skips both: its checks are counted
// against the device instead, with one address's allowance.
type loginLimiter struct {
	accountIP, ip, device *keyedLimiter
}

func newLoginLimiter(l LoginLimits) *loginLimiter {
	return &loginLimiter{
		accountIP: newKeyedLimiter(l.MaxFailuresAccountIP, l.Window),
		ip:        newKeyedLimiter(l.MaxFailuresIP, l.Window),
		device:    newKeyedLimiter(l.MaxFailuresAccountIP, l.Window),
	}
}

// accountIPKey joins an account and an address key; NUL cannot occur in
// either.
func accountIPKey(account, ipKey string) string { return account + "\x00" + ipKey }

// begin admits one password check of account from ipKey, holding a unit
// of both allowances until finish; or it says how long to wait.
func (l *loginLimiter) begin(account, ipKey string, now time.Time) time.Duration {
	pair := accountIPKey(account, ipKey)
	if wait := l.accountIP.reserve(pair, now); wait > 0 {
		return max(wait, l.ip.peek(ipKey, now))
	}
	if wait := l.ip.reserve(ipKey, now); wait > 0 {
		l.accountIP.finish(pair, now, false)
		return wait
	}
	return 0
}

// finish ends a check admitted by begin; only a failed one is counted.
func (l *loginLimiter) finish(account, ipKey string, now time.Time, failed bool) {
	l.accountIP.finish(accountIPKey(account, ipKey), now, failed)
	l.ip.finish(ipKey, now, failed)
}

func (l *loginLimiter) cleanup(now time.Time) {
	l.accountIP.cleanup(now)
	l.ip.cleanup(now)
	l.device.cleanup(now)
}
