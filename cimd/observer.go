package cimd

import "time"

// Kind says what a fetch is for; it is a metric label.
type Kind string

const (
	KindDocument Kind = "document" // a client_id metadata document
	KindJWKS     Kind = "jwks"     // a jwks_uri key set
	KindLogo     Kind = "logo"     // a logo_uri image
)

// Cache events reported to Observer.CacheEvent.
const (
	CacheHit         = "hit"          // fresh entry served
	CacheMiss        = "miss"         // nothing usable cached: fetched
	CacheRevalidated = "revalidated"  // 304: the entry's lifetime was renewed
	CacheStaleServed = "stale_served" // refresh failed; last valid copy served
	CacheEvicted     = "evicted"      // 404/410 or an invalid refresh removed the entry
	CacheBackoff     = "backoff"      // a recent failure made the call fail fast
	CacheDropped     = "dropped"      // ristretto refused the Set; next use refetches
)

// Observer receives events for metrics. Implementations must be safe for
// concurrent use and fast; a nil Observer is fine everywhere.
type Observer interface {
	// FetchDone reports one fetch, exactly once, with its final outcome
	// label (errors.go). A fetch that gets a 200 is reported after its body
	// was validated: a document, key set or logo that breaks Gatehouse's
	// rules (a logo that is not a PNG, JPEG, GIF or WebP image included) is
	// invalid_document. A client_id the Resolver refuses before any I/O
	// (cimd.enabled, the host allow and deny lists, the client_id URL rules)
	// is reported as a document fetch with outcome policy_denied (or
	// blocked_address for an ambiguous IP spelling) and d == 0: nothing was
	// sent. Cache hits and failure-backoff refusals are not fetches.
	FetchDone(kind Kind, outcome string, d time.Duration)
	// CacheEvent reports a cache decision.
	CacheEvent(kind Kind, event string)
}

// observer is the nil-safe wrapper every component calls.
type observer struct{ o Observer }

func (o observer) fetchDone(kind Kind, outcome string, d time.Duration) {
	if o.o != nil {
		o.o.FetchDone(kind, outcome, d)
	}
}

func (o observer) cacheEvent(kind Kind, event string) {
	if o.o != nil {
		o.o.CacheEvent(kind, event)
	}
}
