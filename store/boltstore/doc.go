// Package boltstore is Gatehouse's embedded storage backend: one bbolt file
// in the data directory, implementing store.Store.
//
// Layout. Each entity has its own bucket. Every value is an 8-byte
// big-endian expiry (Unix nanoseconds, 0 for none) followed by the record's
// JSON. Records with an expiry are also listed in the "expiry" index bucket
// under BigEndian(expiry)||bucket||0||key, so the sweeper walks only what is
// due instead of scanning every bucket (the approach of dex's garbage
// collector). Reads treat an expired record as missing, so correctness never
// depends on how recently the sweeper ran. The registration dedup lookup is
// the one index kept in memory, rebuilt at open from a log keyed by client
// ID, so that registrations append instead of writing a random page each
// (dedup.go).
//
// Safety. The file is opened with a lock timeout: a second process gets
// store.ErrLocked instead of hanging. Values are decoded (copied) inside the
// transaction that read them; bbolt memory never escapes. Writes that many
// requests make at once go through a group committer (group.go) with
// idempotent functions, so concurrent requests share one fsync without a
// batching delay.
package boltstore
