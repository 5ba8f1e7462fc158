package server

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
)

// approvalCacheTTL bounds how long an instance answers a client's approval
// state (approved, pending, blocked, or no record) from memory. It is the
// staleness bound when another instance's announcement is lost: an
// administrator's block stops token issuance on every instance within it,
// as the "admin actions reach other instances within a second" rule says.
const approvalCacheTTL = time.Second

// approvalCacheMax bounds the entries kept; past it, expired ones are
// dropped, and if none were, the whole cache (it is only ever a shortcut).
const approvalCacheMax = 10000

// approvalCache keeps the approval records that /authorize and /token read
// on every request, per instance, when several instances share the store
// (PostgreSQL: the read is a database round trip). An entry is dropped at
// once on this instance when it changes the record (approvalChanged),
// on the others when the announcement (store.EventApproval) arrives,
// everywhere when the event connection was lost (store.EventResync), and
// in any case approvalCacheTTL after it was read. Answers without a
// record are kept under the same rules.
//
// A read that started before an invalidation never stores its (possibly
// older) answer after it: every invalidation bumps gen, and a fill stores
// only if gen is still the one it saw before reading.
type approvalCache struct {
	now func() time.Time
	ttl time.Duration
	max int

	mu      sync.Mutex
	gen     uint64
	entries map[string]approvalEntry
}

type approvalEntry struct {
	rec   store.ClientApproval
	found bool
	until time.Time
}

func newApprovalCache(now func() time.Time) *approvalCache {
	return &approvalCache{now: now, ttl: approvalCacheTTL, max: approvalCacheMax, entries: map[string]approvalEntry{}}
}

// get returns the approval record of clientID from memory when fresh, or
// reads it through st. found is false when the client has no record.
func (c *approvalCache) get(ctx context.Context, st store.ApprovalStore, clientID string) (rec store.ClientApproval, found bool, err error) {
	c.mu.Lock()
	e, ok := c.entries[clientID]
	gen := c.gen
	c.mu.Unlock()
	now := c.now()
	if ok && now.Before(e.until) {
		return e.rec, e.found, nil
	}
	rec, err = st.ClientApproval(ctx, clientID)
	switch {
	case err == nil:
		found = true
	case errors.Is(err, store.ErrNotFound):
		err = nil
	default:
		return store.ClientApproval{}, false, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return rec, found, nil // changed while reading: answer, do not keep
	}
	if len(c.entries) >= c.max {
		for id, old := range c.entries {
			if !now.Before(old.until) {
				delete(c.entries, id)
			}
		}
		if len(c.entries) >= c.max {
			clear(c.entries)
		}
	}
	c.entries[clientID] = approvalEntry{rec: rec, found: found, until: now.Add(c.ttl)}
	return rec, found, nil
}

// forget drops clientID's entry, or every entry when clientID is "".
func (c *approvalCache) forget(clientID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if clientID == "" {
		clear(c.entries)
		return
	}
	delete(c.entries, clientID)
}

// clientApproval is the approval record the request paths read: from the
// cache when the store is shared, straight from the store otherwise (the
// embedded store reads in process, and its offline CLI cannot run beside
// the server). found is false when the client has no record.
func (s *Server) clientApproval(ctx context.Context, clientID string) (store.ClientApproval, bool, error) {
	if s.approvals != nil {
		return s.approvals.get(ctx, s.store, clientID)
	}
	rec, err := s.store.ClientApproval(ctx, clientID)
	if errors.Is(err, store.ErrNotFound) {
		return store.ClientApproval{}, false, nil
	}
	return rec, err == nil, err
}

// ApprovalChanged drops this instance's cached approval of clientID (all
// of them when clientID is ""): another instance, or the CLI, changed it,
// or events may have been missed (store.EventResync).
func (s *Server) ApprovalChanged(clientID string) {
	if s.approvals != nil {
		s.approvals.forget(clientID)
	}
}

// approvalChanged is called after this instance changed clientID's
// approval record: its own cache forgets it at once, and the other
// instances are told.
func (s *Server) approvalChanged(ctx context.Context, clientID string) {
	s.ApprovalChanged(clientID)
	s.announce(ctx, store.Event{Kind: store.EventApproval, Key: clientID})
}

// approvalRequested follows RequestClientApproval: the record may have
// changed (pending brought up to date, or approved turned pending), so
// this instance forgets its copy; a newly queued record is announced.
func (s *Server) approvalRequested(ctx context.Context, clientID string, queued bool) {
	if queued {
		s.approvalChanged(ctx, clientID)
		return
	}
	s.ApprovalChanged(clientID)
}
