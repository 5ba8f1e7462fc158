package cimd

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/cache"
	"github.com/gatehouse-dev/gatehouse/oauth"
)

// Purge forgets a client_id: its cached document and any failure backoff.
// The next use fetches it again.
func (r *Resolver) Purge(clientID string) {
	r.docs.cache.Del(clientID)
	r.backoff.clear(clientID)
}

// PurgeAll empties every cache (documents, key sets, logos) and the
// failure backoff.
func (r *Resolver) PurgeAll() {
	r.docs.cache.Clear()
	r.keys.cache.Clear()
	r.logos.cache.Clear()
	r.backoff.reset()
}

// Refresh refetches a client's document now (conditionally when cached),
// ignoring any failure backoff, and returns the resulting client.
func (r *Resolver) Refresh(ctx context.Context, clientID string) (*oauth.Client, error) {
	if err := r.admit(clientID); err != nil {
		return nil, err
	}
	r.backoff.clear(clientID)
	res, err := r.docs.load(ctx, clientID, true)
	if err != nil {
		return nil, clientError("metadata document", err)
	}
	return res.value.client, nil
}

// EntryInfo describes one cached document, for an admin "cache list".
type EntryInfo struct {
	ClientID     string    `json:"client_id"`
	ClientName   string    `json:"client_name,omitempty"`
	Fingerprint  string    `json:"fingerprint"`
	FetchedAt    time.Time `json:"fetched_at"`  // last full fetch (200)
	CheckedAt    time.Time `json:"checked_at"`  // last fetch or revalidation (200 or 304)
	ExpiresAt    time.Time `json:"expires_at"`  // fresh until
	StaleUntil   time.Time `json:"stale_until"` // may be served on refresh failure until
	ETag         string    `json:"etag,omitempty"`
	LastModified string    `json:"last_modified,omitempty"`
	Size         int64     `json:"size_bytes"` // document bytes
	TTLReason    string    `json:"ttl_reason"`
}

// Entries lists the cached documents, sorted by client_id. Expired entries
// that are still kept for revalidation are included; compare ExpiresAt.
func (r *Resolver) Entries() []EntryInfo {
	var out []EntryInfo
	for res := range r.docs.cache.Values() {
		c := res.value.client
		out = append(out, EntryInfo{
			ClientID: res.key, ClientName: c.Metadata.ClientName, Fingerprint: c.Fingerprint,
			FetchedAt: res.fetchedAt, CheckedAt: res.checkedAt, ExpiresAt: res.expiresAt, StaleUntil: res.staleUntil,
			ETag: res.etag, LastModified: res.lastModified, Size: res.size, TTLReason: res.ttlReason,
		})
	}
	slices.SortFunc(out, func(a, b EntryInfo) int { return strings.Compare(a.ClientID, b.ClientID) })
	return out
}

// CacheStats returns the document cache's counters (hits, misses,
// evictions, dropped sets, bytes used), for metrics.
func (r *Resolver) CacheStats() cache.Stats { return r.docs.cache.Stats() }

// CacheInfo describes one of the resolver's caches for metrics.
type CacheInfo struct {
	Kind    Kind
	Stats   cache.Stats
	Entries int
}

// Caches reports every cache (documents, key sets, logos). Counting
// entries walks the cache: call it at scrape frequency, not per request.
func (r *Resolver) Caches() []CacheInfo {
	return []CacheInfo{
		{Kind: KindDocument, Stats: r.docs.cache.Stats(), Entries: r.docs.cache.Len()},
		{Kind: KindJWKS, Stats: r.keys.cache.Stats(), Entries: r.keys.cache.Len()},
		{Kind: KindLogo, Stats: r.logos.cache.Stats(), Entries: r.logos.cache.Len()},
	}
}
