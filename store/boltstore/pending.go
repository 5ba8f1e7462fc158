package boltstore

import (
	"context"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/gatehouse-dev/gatehouse/store"
)

// pendingTable holds pending authorization requests until they expire;
// the sweeper removes them. Their IDs are random, so not append-only.
var pendingTable = newTable(bucketPending, nil)

// CreatePendingRequest stores a pending authorization request. An expired
// one with the same ID that the sweeper has not removed yet is replaced.
func (s *Store) CreatePendingRequest(ctx context.Context, p store.PendingRequest) error {
	if p.ID == "" || p.ExpiresAt.IsZero() {
		return fmt.Errorf("create pending request: ID and expiry are required")
	}
	now := s.now()
	var outcome error
	err := s.group.do(func(tx *bolt.Tx) error {
		outcome = nil // a shared commit may run this again after a rollback
		if pendingTable.exists(tx, now, []byte(p.ID)) {
			outcome = fmt.Errorf("pending request: %w", store.ErrConflict)
			return nil
		}
		return pendingTable.put(tx, []byte(p.ID), p.ExpiresAt, p)
	})
	if err != nil {
		return err
	}
	return outcome
}

// PendingRequest returns a pending authorization request until it expires.
func (s *Store) PendingRequest(ctx context.Context, id string) (store.PendingRequest, error) {
	var p store.PendingRequest
	err := s.load(pendingTable, []byte(id), &p, "pending request")
	return p, err
}
