package cache

import (
	"errors"
	"iter"
	"time"

	"github.com/dgraph-io/ristretto/v2"
)

// Config sizes a cache.
type Config struct {
	// MaxCost is the memory budget in bytes: the sum of the costs passed to
	// Set never exceeds it (items are evicted to make room).
	MaxCost int64
	// ExpectedEntries is how many items the cache holds when full; it sizes
	// the admission policy's frequency counters (10 per entry, ristretto's
	// recommendation). Zero means MaxCost/1024 (1 KiB per item).
	ExpectedEntries int64
	// BufferItems is ristretto's Get buffer size; zero means 64.
	BufferItems int64
	// DisableMetrics turns off hit/miss/eviction counting (Stats then
	// reports zeros). Metrics cost a few nanoseconds per operation.
	DisableMetrics bool
}

// Cache is a memory-bounded string-keyed cache of V.
type Cache[V any] struct {
	rc *ristretto.Cache[string, V]
}

// New builds a cache. Call Close when done: ristretto runs goroutines.
func New[V any](cfg Config) (*Cache[V], error) {
	if cfg.MaxCost <= 0 {
		return nil, errors.New("cache: MaxCost must be positive")
	}
	entries := cfg.ExpectedEntries
	if entries <= 0 {
		entries = max(cfg.MaxCost/1024, 1)
	}
	buffer := cfg.BufferItems
	if buffer <= 0 {
		buffer = 64
	}
	rc, err := ristretto.NewCache(&ristretto.Config[string, V]{
		NumCounters: 10 * entries,
		MaxCost:     cfg.MaxCost,
		BufferItems: buffer,
		Metrics:     !cfg.DisableMetrics,
		// Costs are bytes we computed ourselves; without this flag
		// ristretto adds ~56 bytes of its own per item and keeps far fewer
		// items than the budget allows.
		IgnoreInternalCost: true,
	})
	if err != nil {
		return nil, err
	}
	return &Cache[V]{rc: rc}, nil
}

// Get returns the value stored under key, if present and not expired.
func (c *Cache[V]) Get(key string) (V, bool) { return c.rc.Get(key) }

// Set stores v under key with the given cost (bytes) for ttl (zero means no
// expiry; a negative ttl stores nothing). It reports whether the item was
// queued; even then, the admission policy may still drop it. A Get right
// after Set may miss: call Wait first when the caller must read its write.
func (c *Cache[V]) Set(key string, v V, cost int64, ttl time.Duration) bool {
	return c.rc.SetWithTTL(key, v, cost, ttl)
}

// Del removes key at once.
func (c *Cache[V]) Del(key string) { c.rc.Del(key) }

// Clear removes every item and resets the counters.
func (c *Cache[V]) Clear() { c.rc.Clear() }

// Wait blocks until every Set issued before it has been applied (or dropped).
func (c *Cache[V]) Wait() { c.rc.Wait() }

// Close stops the cache's goroutines; later calls are no-ops, and Get/Set
// on a closed cache miss and drop.
func (c *Cache[V]) Close() { c.rc.Close() }

// Values iterates over the live (unexpired) values in no particular order,
// for admin listings. It holds a shard read lock while yielding, so the loop
// body must not call Set, Del or Clear on this cache.
func (c *Cache[V]) Values() iter.Seq[V] {
	return func(yield func(V) bool) {
		c.rc.IterValues(func(v V) (stop bool) { return !yield(v) })
	}
}

// Len counts the live values by iterating over them: O(n), for admin use.
func (c *Cache[V]) Len() int {
	n := 0
	for range c.Values() {
		n++
	}
	return n
}

// Stats is a snapshot of the cache's counters since creation (or Clear).
type Stats struct {
	Hits         uint64
	Misses       uint64
	KeysAdded    uint64
	KeysUpdated  uint64
	KeysEvicted  uint64
	SetsDropped  uint64 // lost because the set buffer was full
	SetsRejected uint64 // refused by the admission policy
	CostUsed     int64  // bytes currently accounted for
	MaxCost      int64
}

// HitRatio is Hits / (Hits + Misses), or 0 before any Get.
func (s Stats) HitRatio() float64 {
	if s.Hits+s.Misses == 0 {
		return 0
	}
	return float64(s.Hits) / float64(s.Hits+s.Misses)
}

// Stats returns the current counters.
func (c *Cache[V]) Stats() Stats {
	m := c.rc.Metrics // nil-safe accessors
	return Stats{
		Hits:         m.Hits(),
		Misses:       m.Misses(),
		KeysAdded:    m.KeysAdded(),
		KeysUpdated:  m.KeysUpdated(),
		KeysEvicted:  m.KeysEvicted(),
		SetsDropped:  m.SetsDropped(),
		SetsRejected: m.SetsRejected(),
		CostUsed:     c.rc.MaxCost() - c.rc.RemainingCost(),
		MaxCost:      c.rc.MaxCost(),
	}
}
