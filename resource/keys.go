package resource

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// maxDocumentBytes caps a metadata or JWKS response body.
const maxDocumentBytes = 1 << 20

// keySet is one fetched JWKS, immutable once published.
type keySet struct {
	byKID     map[string][]jose.JSONWebKey
	fetchedAt time.Time
	etag      string
}

// keyCache holds the issuer's public keys. Lookups of known kids are a map
// read; everything that touches the network goes through one fetch at a
// time, started at most once per KeyRefreshInterval.
type keyCache struct {
	cfg   *Config
	state atomic.Pointer[keySet]

	mu        sync.Mutex
	inflight  *fetchCall
	lastStart time.Time // when the last fetch started
	lastErr   error     // how the last fetch ended

	// jwksURL is Config.JWKSURL or the discovered jwks_uri; only the fetch
	// in flight reads or writes it.
	jwksURL string

	fetches, failures atomic.Int64
	lastFetch         atomic.Int64 // unix nanoseconds of the last success
}

// fetchCall is one fetch in flight; done closes when it ends.
type fetchCall struct {
	done chan struct{}
	err  error
}

func newKeyCache(cfg *Config) *keyCache {
	return &keyCache{cfg: cfg, jwksURL: cfg.JWKSURL}
}

// lookup returns the keys published under kid. A stale set is refreshed in
// the background while its keys keep working; an unknown kid (or a cold
// cache) waits for a fetch, unless one ran less than KeyRefreshInterval
// ago: then the kid is unknown without any request to the issuer, which is
// what stops a flood of forged kids from reaching it.
func (kc *keyCache) lookup(ctx context.Context, kid string) ([]jose.JSONWebKey, error) {
	now := kc.cfg.Now()
	if s := kc.state.Load(); s != nil {
		if keys, ok := s.byKID[kid]; ok {
			if now.Sub(s.fetchedAt) >= kc.cfg.KeyCacheTTL {
				kc.start(now, false) // in the background; these keys serve meanwhile
			}
			return keys, nil
		}
	}
	if testHookLookupMiss != nil {
		testHookLookupMiss()
	}
	call, lastErr := kc.start(now, false)
	if call != nil {
		select {
		case <-call.done:
		case <-ctx.Done():
			return nil, newError(ErrKeysUnavailable, ctx.Err(), "the authorization server's keys are unavailable; retry later")
		}
		lastErr = call.err
	}
	// Look again even when no fetch was started: another request's fetch
	// may have landed since the first look.
	s := kc.state.Load()
	if s != nil {
		if keys, ok := s.byKID[kid]; ok {
			return keys, nil
		}
	}
	if lastErr != nil || s == nil {
		return nil, newError(ErrKeysUnavailable, lastErr, "the authorization server's keys are unavailable; retry later")
	}
	return nil, newError(ErrUnknownKey, nil, "the token's signing key (kid) is not one the authorization server publishes")
}

// testHookLookupMiss, when set by a test, runs after lookup's first look
// misses: it lets a test land a fetch exactly there.
var testHookLookupMiss func()

// start begins a fetch, or joins the one in flight. Unless force is set, it
// returns nil (and how the last fetch ended) when the last one started
// less than KeyRefreshInterval ago.
func (kc *keyCache) start(now time.Time, force bool) (*fetchCall, error) {
	kc.mu.Lock()
	defer kc.mu.Unlock()
	if kc.inflight != nil {
		return kc.inflight, nil
	}
	// now may be a little older than lastStart (read before another
	// request started a fetch); a clock that jumped back further than the
	// interval does not block fetches.
	interval := kc.cfg.KeyRefreshInterval
	if elapsed := now.Sub(kc.lastStart); !force && !kc.lastStart.IsZero() && elapsed > -interval && elapsed < interval {
		return nil, kc.lastErr
	}
	kc.lastStart = now
	call := &fetchCall{done: make(chan struct{})}
	kc.inflight = call
	go kc.run(call)
	return call, nil
}

// run performs one fetch, detached from any request: a client giving up
// must not cancel the fetch the others are waiting for.
func (kc *keyCache) run(call *fetchCall) {
	ctx, cancel := context.WithTimeout(context.Background(), DefaultFetchTimeout)
	defer cancel()
	kc.fetches.Add(1)
	err := kc.fetch(ctx)
	if err != nil {
		kc.failures.Add(1)
		kc.cfg.Logger.Warn("resource: fetching the issuer's signing keys failed", "issuer", kc.cfg.Issuer, "err", err)
	}
	kc.mu.Lock()
	kc.inflight, kc.lastErr = nil, err
	kc.mu.Unlock()
	call.err = err
	close(call.done)
}

// refresh fetches the keys now, ignoring the rate limit (Verifier.Refresh),
// or waits for the fetch in flight.
func (kc *keyCache) refresh(ctx context.Context) error {
	call, _ := kc.start(kc.cfg.Now(), true)
	select {
	case <-call.done:
		return call.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// fetch downloads the JWKS (RFC 7517 §5), discovering its URL first if
// needed, and publishes the usable keys. A 304 to our If-None-Match keeps
// the current set and restarts its TTL.
func (kc *keyCache) fetch(ctx context.Context) error {
	if kc.jwksURL == "" {
		u, err := discoverJWKSURL(ctx, kc.cfg)
		if err != nil {
			return err
		}
		kc.jwksURL = u
	}
	old := kc.state.Load()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, kc.jwksURL, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	if old != nil && old.etag != "" {
		req.Header.Set("If-None-Match", old.etag)
	}
	body, resp, err := readDocument(kc.cfg.HTTPClient, req)
	if err != nil {
		if kc.cfg.JWKSURL == "" {
			kc.jwksURL = "" // the issuer may have moved it: discover again
		}
		return fmt.Errorf("jwks %s: %w", kc.jwksURL, err)
	}
	now := kc.cfg.Now()
	if resp.StatusCode == http.StatusNotModified && old != nil {
		kc.state.Store(&keySet{byKID: old.byKID, fetchedAt: now, etag: old.etag})
		kc.lastFetch.Store(now.UnixNano())
		return nil
	}
	byKID, err := parseJWKS(body, kc.cfg.Algorithms, kc.cfg.Logger)
	if err != nil {
		return fmt.Errorf("jwks %s: %w", kc.jwksURL, err)
	}
	if old == nil || !sameKIDs(old.byKID, byKID) {
		kc.cfg.Logger.Info("resource: signing keys loaded", "issuer", kc.cfg.Issuer, "kids", sortedKIDs(byKID))
	}
	kc.state.Store(&keySet{byKID: byKID, fetchedAt: now, etag: resp.Header.Get("ETag")})
	kc.lastFetch.Store(now.UnixNano())
	return nil
}

// parseJWKS reads a JWK Set one key at a time, keeping the keys a token
// could be verified with: public, valid, with a kid, for signatures, and
// for an accepted algorithm. Unsupported key types are skipped rather than
// failing the whole set (go-jose rejects a set with any such key).
func parseJWKS(body []byte, algs []string, log *slog.Logger) (map[string][]jose.JSONWebKey, error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("not a JWK Set: %w", err)
	}
	if doc.Keys == nil {
		return nil, fmt.Errorf("not a JWK Set: no \"keys\" member")
	}
	byKID := map[string][]jose.JSONWebKey{}
	for i, raw := range doc.Keys {
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(raw); err != nil {
			log.Debug("resource: skipping a JWK", "index", i, "err", err)
			continue
		}
		switch {
		case k.KeyID == "", !k.Valid(), !k.IsPublic(),
			k.Use != "" && k.Use != "sig",
			k.Algorithm != "" && !slices.Contains(algs, k.Algorithm):
			log.Debug("resource: skipping a JWK", "index", i, "kid", k.KeyID)
			continue
		}
		byKID[k.KeyID] = append(byKID[k.KeyID], k)
	}
	return byKID, nil
}

func sameKIDs(a, b map[string][]jose.JSONWebKey) bool {
	return slices.Equal(sortedKIDs(a), sortedKIDs(b))
}

func sortedKIDs(m map[string][]jose.JSONWebKey) []string {
	kids := make([]string, 0, len(m))
	for kid := range m {
		kids = append(kids, kid)
	}
	slices.Sort(kids)
	return kids
}
