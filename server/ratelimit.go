package server

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// maxLimiterKeys bounds the memory of one keyed limiter. Keys whose bucket
// has refilled are dropped by cleanup, so only keys with recent failures
// count; past the bound, new keys are refused (fail closed) rather than
// letting a flood of fresh keys erase the history of real ones.
const maxLimiterKeys = 1 << 20

// keyedLimiter is a token bucket per key that only failures drain: burst
// failures are allowed, refilling at burst per window.
type keyedLimiter struct {
	mu    sync.Mutex
	every rate.Limit
	burst int
	m     map[string]*rate.Limiter
}

func newKeyedLimiter(burst int, window time.Duration) *keyedLimiter {
	return &keyedLimiter{
		every: rate.Limit(float64(burst) / window.Seconds()),
		burst: burst,
		m:     map[string]*rate.Limiter{},
	}
}

// wait returns how long key must wait before another attempt; zero means
// it may try now.
func (k *keyedLimiter) wait(key string, now time.Time) time.Duration {
	k.mu.Lock()
	defer k.mu.Unlock()
	l, ok := k.m[key]
	if !ok {
		if len(k.m) >= maxLimiterKeys {
			return time.Minute
		}
		return 0
	}
	tokens := l.TokensAt(now)
	if tokens >= 1 {
		return 0
	}
	secs := (1 - tokens) / float64(k.every)
	return time.Duration(math.Ceil(secs * float64(time.Second)))
}

// fail records a failed attempt for key.
func (k *keyedLimiter) fail(key string, now time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	l, ok := k.m[key]
	if !ok {
		if len(k.m) >= maxLimiterKeys {
			return
		}
		l = rate.NewLimiter(k.every, k.burst)
		k.m[key] = l
	}
	l.AllowN(now, 1)
}

// cleanup forgets keys whose bucket is full again.
func (k *keyedLimiter) cleanup(now time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for key, l := range k.m {
		if l.TokensAt(now) >= float64(k.burst) {
			delete(k.m, key)
		}
	}
}

// loginLimiter throttles failed sign-ins per account and per client IP.
// Per account stops guessing one password from many addresses; per IP
// stops one address from spraying many accounts.
type loginLimiter struct {
	account, ip *keyedLimiter
}

func newLoginLimiter(l LoginLimits) *loginLimiter {
	return &loginLimiter{
		account: newKeyedLimiter(l.MaxFailuresAccount, l.Window),
		ip:      newKeyedLimiter(l.MaxFailuresIP, l.Window),
	}
}

// wait is how long before account may be tried again from ip.
func (l *loginLimiter) wait(account, ip string, now time.Time) time.Duration {
	return max(l.account.wait(account, now), l.ip.wait(ip, now))
}

func (l *loginLimiter) fail(account, ip string, now time.Time) {
	l.account.fail(account, now)
	l.ip.fail(ip, now)
}

func (l *loginLimiter) cleanup(now time.Time) {
	l.account.cleanup(now)
	l.ip.cleanup(now)
}
