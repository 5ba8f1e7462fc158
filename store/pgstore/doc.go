// Package pgstore is the PostgreSQL implementation of store.Store, for
// several Gatehouse instances sharing one database behind a load balancer.
//
// Every authoritative record lives in the database; each state change that
// the embedded backend makes in one bbolt transaction is one PostgreSQL
// transaction here (code redemption, refresh rotation, registration
// deduplication, user deletion with its grants), with row locks taken in a
// fixed order so concurrent instances serialise on the row they contend for
// and nothing else. Records are kept as JSON (the store types' JSON tags)
// beside the columns that are queried or indexed, so the persisted shape is
// the same as bbolt's and one conformance suite covers both.
//
// The schema is versioned by goose migrations embedded in the binary and
// applied at Open under a PostgreSQL advisory lock: instances starting
// together migrate once. A database migrated by a newer Gatehouse is
// refused with store.ErrSchemaTooNew.
//
// The subpackage pgtest starts a throwaway cluster for tests.
package pgstore
