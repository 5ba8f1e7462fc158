package cimd

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/gatehouse-dev/gatehouse/cache"
)

// resource is one validated response as cached: immutable once stored
// (ristretto hands the same pointer to every reader).
type resource[V any] struct {
	key          string
	value        V
	fetchedAt    time.Time // last 200
	checkedAt    time.Time // last 200 or 304
	expiresAt    time.Time // fresh until
	staleUntil   time.Time // may stand in for a failed refresh until
	etag         string
	lastModified string
	size         int64 // body bytes
	ttlReason    string
	// cacheHeaders are the Cache-Control and Expires of the last full
	// response: a 304 that omits them renews the entry under them.
	cacheHeaders http.Header
}

// resourceStore caches one kind of fetched resource (documents, key sets,
// logos) with the same rules for all: valid values only (CIMD -02 §5.2),
// HTTP freshness within bounds, conditional revalidation, singleflight,
// stale-if-error, eviction on 404/410 and per-URL backoff.
//
// Stale copies live in the same ristretto entry as fresh ones: the entry
// is kept for its lifetime, plus the stale window, plus one more lifetime
// so that the next fetch can still be conditional. expiresAt and
// staleUntil (on the injected clock) decide what it may be used for;
// ristretto's own TTL only reclaims memory. If ristretto drops the entry,
// the next use simply refetches.
type resourceStore[V any] struct {
	kind  Kind
	cache *cache.Cache[*resource[V]]
	group singleflight.Group
	r     *Resolver
	// parse validates a 200 response for key; its error is the client's.
	parse func(key string, resp *Response) (V, error)
	// cost estimates the retained bytes of a value with a body of n bytes.
	cost func(v V, n int64) int64
	// changed, if set, learns when a refetch replaced a cached value.
	changed func(key string, old, new V)
}

// get returns a fresh resource: from the cache, or by (re)fetching url.
func (s *resourceStore[V]) get(ctx context.Context, key string) (*resource[V], error) {
	if res, ok := s.cache.Get(key); ok && s.r.now().Before(res.expiresAt) {
		s.r.obs.cacheEvent(s.kind, CacheHit)
		return res, nil
	}
	return s.load(ctx, key, false)
}

// load fetches key once however many goroutines ask at the same time. A
// caller whose context ends stops waiting; the fetch itself runs on under
// its own deadline for the others. force refetches (conditionally) even a
// fresh entry.
func (s *resourceStore[V]) load(ctx context.Context, key string, force bool) (*resource[V], error) {
	ch := s.group.DoChan(key, func() (any, error) { return s.refresh(key, force) })
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		return res.Val.(*resource[V]), nil
	}
}

func (s *resourceStore[V]) refresh(key string, force bool) (*resource[V], error) {
	now := s.r.now()
	prev, havePrev := s.cache.Get(key)
	fresh := havePrev && now.Before(prev.expiresAt)
	usable := havePrev && now.Before(prev.staleUntil)
	if fresh && !force {
		return prev, nil // another flight refreshed it while we queued
	}
	if until, err := s.r.backoff.active(key, now); err != nil {
		s.r.obs.cacheEvent(s.kind, CacheBackoff)
		var fe *FetchError
		errors.As(err, &fe)
		if fresh || (usable && transient(fe)) {
			s.serveStale(fresh)
			return prev, nil
		}
		return nil, &backoffError{until: until, now: now, err: err}
	}
	s.r.obs.cacheEvent(s.kind, CacheMiss)
	req := Request{Kind: s.kind, URL: key}
	if havePrev { // even past its stale window: a 304 still proves it current
		req.ETag, req.LastModified = prev.etag, prev.lastModified
	}
	// The body is parsed inside the reported fetch, so that a 200 whose
	// body fails validation counts as invalid_document, not ok.
	var value V
	var invalid error
	resp, err := s.r.fetcher.fetchValidated(context.Background(), req, func(resp *Response) error {
		value, invalid = s.parse(key, resp)
		return invalid
	})
	if err != nil {
		return s.failed(key, prev, fresh, usable, now, err)
	}
	if resp.Status == http.StatusNotModified {
		return s.revalidated(prev, resp, now), nil
	}
	if invalid != nil {
		s.evict(key, havePrev)
		until := s.r.backoff.fail(key, now, invalid)
		s.r.log.Info("cimd: invalid response", "kind", string(s.kind), "url", key, "error", invalid, "backoff_until", until)
		return nil, invalid
	}
	fr := freshness(resp.Header, now, s.r.config().Cache)
	res := &resource[V]{
		key: key, value: value, fetchedAt: now, checkedAt: now,
		expiresAt: now.Add(fr.TTL), staleUntil: now.Add(fr.TTL + fr.StaleIfError),
		etag: resp.Header.Get("ETag"), lastModified: resp.Header.Get("Last-Modified"),
		size: int64(len(resp.Body)), ttlReason: fr.Reason, cacheHeaders: cacheHeaders(resp.Header, nil),
	}
	s.store(res, fr.TTL, now)
	s.r.backoff.clear(key)
	if havePrev && s.changed != nil {
		s.changed(key, prev.value, value)
	}
	return res, nil
}

// revalidated renews prev after a 304 (RFC 9111 §4.3.4): same value, new
// lifetime from the stored caching headers updated with the 304's.
func (s *resourceStore[V]) revalidated(prev *resource[V], resp *Response, now time.Time) *resource[V] {
	h := cacheHeaders(resp.Header, prev.cacheHeaders)
	fr := freshness(h, now, s.r.config().Cache)
	res := *prev
	res.cacheHeaders = cacheHeaders(h, nil)
	res.checkedAt = now
	res.expiresAt = now.Add(fr.TTL)
	res.staleUntil = now.Add(fr.TTL + fr.StaleIfError)
	res.ttlReason = fr.Reason
	if etag := resp.Header.Get("ETag"); etag != "" {
		res.etag = etag
	}
	s.store(&res, fr.TTL, now)
	s.r.backoff.clear(prev.key)
	s.r.obs.cacheEvent(s.kind, CacheRevalidated)
	return &res
}

// cacheHeaders returns the freshness headers of h (Cache-Control,
// Expires, and the Date and Age they are relative to), falling back to
// stored's Cache-Control and Expires where h has none.
func cacheHeaders(h, stored http.Header) http.Header {
	out := http.Header{}
	for _, k := range []string{"Cache-Control", "Expires", "Date", "Age"} {
		if v := h.Values(k); len(v) > 0 {
			out[k] = v
		} else if v := stored.Values(k); len(v) > 0 && (k == "Cache-Control" || k == "Expires") {
			out[k] = v
		}
	}
	return out
}

// failed decides what a failed fetch means for the cached copy:
//   - 404, 410, an invalid or oversized document, a blocked address or a
//     policy refusal are definitive: the entry goes at once;
//   - timeouts, network errors, 5xx and throttling (429, 503, an HTML 403
//     bot challenge: OutcomeThrottled) are transient: the last valid copy
//     is served within its stale-if-error window, and the next attempt
//     waits for the backoff or the host's Retry-After, whichever is later;
//   - anything else (3xx, other 4xx, a 403 that is not HTML) keeps a
//     still-fresh copy (a forced refetch) and otherwise evicts.
func (s *resourceStore[V]) failed(key string, prev *resource[V], fresh, usable bool, now time.Time, err error) (*resource[V], error) {
	until := s.r.backoff.fail(key, now, err)
	s.r.log.Info("cimd: fetch failed", "kind", string(s.kind), "url", key, "outcome", OutcomeOf(err),
		"error", err, "backoff_until", until)
	var fe *FetchError
	errors.As(err, &fe)
	switch {
	case definitive(fe):
	case transient(fe) && usable:
		s.serveStale(fresh)
		s.r.log.Warn("cimd: refresh failed, serving the last valid copy",
			"kind", string(s.kind), "url", key, "outcome", OutcomeOf(err), "error", err)
		return prev, nil
	case fresh:
		return prev, nil
	}
	s.evict(key, prev != nil)
	return nil, err
}

func (s *resourceStore[V]) serveStale(fresh bool) {
	if !fresh {
		s.r.obs.cacheEvent(s.kind, CacheStaleServed)
	}
}

func definitive(fe *FetchError) bool {
	if fe == nil {
		return false
	}
	switch fe.Outcome {
	case OutcomeInvalidDocument, OutcomeTooLarge, OutcomeBlockedAddress, OutcomePolicyDenied:
		return true
	case OutcomeBadStatus:
		return fe.Status == http.StatusNotFound || fe.Status == http.StatusGone
	}
	return false
}

func transient(fe *FetchError) bool {
	if fe == nil {
		return false
	}
	switch fe.Outcome {
	case OutcomeTimeout, OutcomeNetworkError, OutcomeThrottled:
		return true
	case OutcomeBadStatus:
		return fe.Status == http.StatusTooManyRequests || fe.Status >= 500
	}
	return false
}

func (s *resourceStore[V]) evict(key string, had bool) {
	s.cache.Del(key)
	if had {
		s.r.obs.cacheEvent(s.kind, CacheEvicted)
	}
}

func (s *resourceStore[V]) store(res *resource[V], ttl time.Duration, now time.Time) {
	keep := res.staleUntil.Sub(now) + ttl
	if !s.cache.Set(res.key, res, s.cost(res.value, res.size), keep) {
		s.r.obs.cacheEvent(s.kind, CacheDropped)
	}
	// Read-your-write: goroutines arriving after this flight must find the
	// entry instead of starting another fetch (one fetch per stampede).
	s.cache.Wait()
}

// backoffError is returned while a URL is in failure backoff.
type backoffError struct {
	until, now time.Time
	err        error
}

func (e *backoffError) Error() string {
	return fmt.Sprintf("%v; not retried for %s (failure backoff)", e.err, e.until.Sub(e.now).Round(time.Second))
}

func (e *backoffError) Unwrap() error { return e.err }
