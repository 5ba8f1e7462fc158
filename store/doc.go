// Package store defines what Gatehouse persists and the interfaces a storage
// backend implements: signing keys, user accounts, login sessions and the
// housekeeping every backend owes (schema version, expiry sweeping).
//
// The interfaces are written so that a second backend (PostgreSQL) can
// implement them: every method takes a context, returns plain record values
// (never pointers into backend memory), and states its atomicity. Operations
// that must be atomic across records are single methods, never a sequence the
// caller composes.
//
// The embedded default lives in store/boltstore; store/storetest is the
// conformance suite every backend must pass.
package store
