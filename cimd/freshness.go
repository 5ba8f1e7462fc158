package cimd

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pquerna/cachecontrol/cacheobject"
)

// Freshness is how long a fetched response may be used, and why.
type Freshness struct {
	// TTL is the lifetime after clamping to [MinTTL, MaxTTL].
	TTL time.Duration
	// StaleIfError is how long after TTL the copy may still be served when
	// refreshes fail (network errors, timeouts, 5xx).
	StaleIfError time.Duration
	// Reason explains TTL in words for the check report and logs.
	Reason string
}

// freshness computes a response's lifetime per RFC 9111 as a shared cache
// (Gatehouse serves one copy to every user), with pquerna/cachecontrol
// doing the header semantics, then applies the operator's bounds
// (CIMD -02 §5.2 lets the AS set its own lower and upper bounds):
//
//   - s-maxage, then max-age, then Expires minus Date, minus the Age header;
//   - no-store, no-cache and private get MinTTL, not zero. Revalidating on
//     every use would put a network round trip on every authorization
//     request and make the host's availability part of the token exchange
//     (better-auth#11161); MinTTL (default 30 s) still bounds staleness;
//   - an Expires in the past, or invalid ("Expires: 0"), is expired: MinTTL;
//   - a response that says nothing gets DefaultTTL. The Last-Modified
//     heuristic (RFC 9111 §4.2.2) is deliberately not used: "says nothing"
//     means the operator's default;
//   - an unparseable Cache-Control header is treated as saying nothing.
//
// The stale-if-error window is the operator's StaleIfError, shortened by a
// stale-if-error directive (RFC 5861) and zero under must-revalidate or
// proxy-revalidate (RFC 9111 §5.2.2.2, §5.2.2.8).
func freshness(h http.Header, now time.Time, cfg CacheConfig) Freshness {
	dir, err := cacheobject.ParseResponseCacheControl(h.Get("Cache-Control"))
	if err != nil {
		return Freshness{TTL: cfg.DefaultTTL, StaleIfError: cfg.StaleIfError,
			Reason: fmt.Sprintf("default %s (Cache-Control %q is malformed)", human(cfg.DefaultTTL), h.Get("Cache-Control"))}
	}
	f := Freshness{StaleIfError: staleWindow(dir, cfg)}
	if dir.NoStore || dir.NoCachePresent || dir.PrivatePresent {
		f.TTL = cfg.MinTTL
		f.Reason = fmt.Sprintf("minimum %s (Cache-Control %q: Gatehouse keeps uncacheable documents for cimd.cache.min_ttl)",
			human(cfg.MinTTL), h.Get("Cache-Control"))
		return f
	}
	lifetime, source, known := explicitLifetime(h, dir, now)
	if !known {
		f.TTL = cfg.DefaultTTL
		f.Reason = fmt.Sprintf("default %s (no Cache-Control max-age or Expires)", human(cfg.DefaultTTL))
		return f
	}
	f.TTL = clampTTL(lifetime, cfg)
	switch {
	case f.TTL == lifetime:
		f.Reason = fmt.Sprintf("%s (%s)", human(f.TTL), source)
	case f.TTL > lifetime:
		f.Reason = fmt.Sprintf("%s (%s, raised to cimd.cache.min_ttl)", human(f.TTL), source)
	default:
		f.Reason = fmt.Sprintf("%s (%s, capped at cimd.cache.max_ttl)", human(f.TTL), source)
	}
	return f
}

// explicitLifetime returns the response's remaining freshness lifetime
// (freshness lifetime minus current age) and which header gave it.
func explicitLifetime(h http.Header, dir *cacheobject.ResponseCacheDirectives, now time.Time) (time.Duration, string, bool) {
	obj := &cacheobject.Object{
		RespDirectives: dir,
		RespHeaders:    h,
		RespStatusCode: http.StatusOK,
		ReqMethod:      http.MethodGet,
		ReqHeaders:     http.Header{},
		ReqDirectives:  &cacheobject.RequestCacheDirectives{MaxAge: -1, MaxStale: -1, MinFresh: -1},
		NowUTC:         now.UTC(),
	}
	if v := h.Get("Expires"); v != "" {
		t, err := http.ParseTime(v)
		switch {
		case err == nil:
			obj.RespExpiresHeader = t.UTC()
		case dir.SMaxAge == -1 && dir.MaxAge == -1:
			// RFC 9111 §5.3: an invalid Expires ("0") means already expired.
			return 0, fmt.Sprintf("Expires %q is invalid, so already expired", v), true
		}
	}
	if d, err := http.ParseTime(h.Get("Date")); err == nil {
		obj.RespDateHeader = d.UTC()
	}
	var res cacheobject.ObjectResults
	cacheobject.ExpirationObject(obj, &res)
	if res.OutExpirationTime.IsZero() || slices.Contains(res.OutWarnings, cacheobject.WarningHeuristicExpiration) {
		return 0, "", false
	}
	source := "Expires"
	switch {
	case dir.SMaxAge != -1:
		source = fmt.Sprintf("s-maxage=%d", dir.SMaxAge)
	case dir.MaxAge != -1:
		source = fmt.Sprintf("max-age=%d", dir.MaxAge)
	}
	lifetime := res.OutExpirationTime.Sub(now)
	if age, err := strconv.ParseInt(h.Get("Age"), 10, 64); err == nil && age > 0 {
		lifetime -= time.Duration(min(age, 1<<31)) * time.Second
		source += fmt.Sprintf(", Age %d", age)
	}
	return lifetime, source, true
}

func clampTTL(d time.Duration, cfg CacheConfig) time.Duration {
	return min(max(d, cfg.MinTTL), cfg.MaxTTL)
}

func staleWindow(dir *cacheobject.ResponseCacheDirectives, cfg CacheConfig) time.Duration {
	if dir.MustRevalidate || dir.ProxyRevalidate {
		return 0
	}
	if dir.StaleIfError >= 0 {
		return min(cfg.StaleIfError, time.Duration(dir.StaleIfError)*time.Second)
	}
	return cfg.StaleIfError
}

// human formats a duration without zero units: "1h", "5m", "1h30m", "45s".
func human(d time.Duration) string {
	s := d.Round(time.Second).String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}
