package cimd

import (
	"errors"
	"sync"
	"time"
)

// maxTrackedURLs bounds the backoff and refetch maps: an attacker who
// cycles through client_ids cannot grow them without limit.
const maxTrackedURLs = 10_000

// backoff makes fetches of a URL that just failed fail fast, without
// network, for a while (decision §6.4: "a host cannot make us hammer it").
// The pause starts at base and doubles with each consecutive failure up to
// max; a success forgets the URL. A URL is forgotten too once it has been
// quiet for max after its pause, so an old failure does not inflate the
// next one forever.
type backoff struct {
	base, max time.Duration
	// retryMax bounds a host's Retry-After (see fail).
	retryMax time.Duration

	mu     sync.Mutex
	failed map[string]*failure
}

type failure struct {
	count int
	until time.Time
	err   error
}

// newBackoff pauses from base doubling to max, and honours a host's
// Retry-After up to retryMax.
func newBackoff(base, max, retryMax time.Duration) *backoff {
	return &backoff{base: base, max: max, retryMax: retryMax, failed: map[string]*failure{}}
}

// retryAfterBound is how long a Retry-After may pause a URL: the longer of
// the backoff ceiling and the stale-if-error window (the time a cached
// copy can bridge), never more than MaxRetryAfter.
func retryAfterBound(c CacheConfig) time.Duration {
	return min(max(c.FailureBackoffMax, c.StaleIfError), MaxRetryAfter)
}

// active returns when url's backoff ends and the error that put it there,
// or a nil error when a fetch may go ahead.
func (b *backoff) active(url string, now time.Time) (time.Time, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	f := b.failed[url]
	if f == nil || !now.Before(f.until) {
		return time.Time{}, nil
	}
	return f.until, f.err
}

// fail records a failed fetch and returns when the next attempt may go:
// after the exponential pause, or after the Retry-After of a throttled
// answer (RFC 9110 §10.2.3) when that is later, up to retryMax.
func (b *backoff) fail(url string, now time.Time, err error) time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	f := b.failed[url]
	if f != nil && now.After(f.until.Add(b.max)) {
		f = nil // quiet long enough: start over
	}
	if f == nil {
		if len(b.failed) >= maxTrackedURLs {
			b.sweepLocked(now)
		}
		f = &failure{}
		b.failed[url] = f
	}
	f.count++
	pause := b.base
	for i := 1; i < f.count && pause < b.max; i++ {
		pause *= 2
	}
	pause = min(pause, b.max)
	var fe *FetchError
	if errors.As(err, &fe) && fe.RetryAfter > pause {
		pause = min(fe.RetryAfter, max(b.retryMax, b.max))
	}
	f.until = now.Add(pause)
	f.err = err
	return f.until
}

// clear forgets url after a success (or an operator purge).
func (b *backoff) clear(url string) {
	b.mu.Lock()
	delete(b.failed, url)
	b.mu.Unlock()
}

func (b *backoff) reset() {
	b.mu.Lock()
	b.failed = map[string]*failure{}
	b.mu.Unlock()
}

// sweepLocked drops expired entries; if none expired, it drops the one
// that ends soonest, so the map never exceeds maxTrackedURLs.
func (b *backoff) sweepLocked(now time.Time) {
	var soonest string
	for url, f := range b.failed {
		if !now.Before(f.until) {
			delete(b.failed, url)
		} else if soonest == "" || f.until.Before(b.failed[soonest].until) {
			soonest = url
		}
	}
	if len(b.failed) >= maxTrackedURLs {
		delete(b.failed, soonest)
	}
}

// refetchLimiter allows one out-of-turn refetch per key per interval: the
// redirect-mismatch refetch (decision §6.5) and the unknown-kid refetch.
type refetchLimiter struct {
	interval time.Duration

	mu   sync.Mutex
	last map[string]time.Time
}

func newRefetchLimiter(interval time.Duration) *refetchLimiter {
	return &refetchLimiter{interval: interval, last: map[string]time.Time{}}
}

func (l *refetchLimiter) allow(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t, ok := l.last[key]; ok && now.Sub(t) < l.interval {
		return false
	}
	if len(l.last) >= maxTrackedURLs {
		for k, t := range l.last {
			if now.Sub(t) >= l.interval {
				delete(l.last, k)
			}
		}
		if len(l.last) >= maxTrackedURLs {
			return false // fail closed: the caller reports the mismatch
		}
	}
	l.last[key] = now
	return true
}
