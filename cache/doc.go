// Package cache is Gatehouse's one wrapper around ristretto v2: a generic,
// memory-bounded (by bytes, not entry count), TTL-aware cache keyed by plain
// strings.
//
// Nothing authoritative lives here. ristretto's Set is asynchronous and
// lossy (its buffer or its TinyLFU admission policy may drop an item), so
// every user must treat a miss as "go and get it", never as "it does not
// exist", and must never keep security state (codes, replay sets, tokens)
// in it. Stored values are shared between goroutines: store immutable values.
//
// The package imports no other Gatehouse package.
package cache
