package boltstore

import (
	"context"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/gatehouse-dev/gatehouse/store"
)

var codesTable = appendOnly(newTable(bucketCodes, nil))

// CreateCode stores a new authorization code. Codes are issued on the
// /authorize hot path, so concurrent issuances share a commit.
func (s *Store) CreateCode(ctx context.Context, c store.AuthCode) error {
	if c.ID == "" || c.KeepUntil.IsZero() {
		return fmt.Errorf("create code: ID and KeepUntil are required")
	}
	now := s.now()
	var outcome error
	err := s.group.do(func(tx *bolt.Tx) error {
		// A shared commit may run this more than once (after a rollback
		// caused by another function); it only reads state the rollback
		// restored.
		outcome = nil
		if codesTable.exists(tx, now, []byte(c.ID)) {
			outcome = fmt.Errorf("code: %w", store.ErrConflict)
			return nil
		}
		return codesTable.put(tx, []byte(c.ID), c.KeepUntil, c)
	})
	if err != nil {
		return err
	}
	return outcome
}

// Code returns a code record until it is swept.
func (s *Store) Code(ctx context.Context, id string) (store.AuthCode, error) {
	var c store.AuthCode
	err := s.load(codesTable, []byte(id), &c, "code")
	return c, err
}

// RedeemCode marks the code redeemed and stores the grant it issues, in one
// commit shared with concurrent exchanges.
//
// Outcomes that are not storage failures (already redeemed, expired) are
// reported through a variable instead of the function's error: a function
// that fails rolls back its whole group, which is then re-run one by one,
// costing extra commits for every refused exchange.
func (s *Store) RedeemCode(ctx context.Context, id string, now time.Time, g store.Grant, rt store.RefreshToken) error {
	var outcome error
	err := s.group.do(func(tx *bolt.Tx) error {
		outcome = nil
		var c store.AuthCode
		ok, err := codesTable.get(tx, now, []byte(id), &c)
		switch {
		case err != nil:
			return err
		case !ok || !now.Before(c.ExpiresAt):
			outcome = fmt.Errorf("code: %w", store.ErrNotFound)
			return nil
		case c.Redeemed():
			outcome = fmt.Errorf("code: %w", store.ErrAlreadyRedeemed)
			return nil
		}
		c.RedeemedAt, c.GrantID = now, g.ID
		if err := codesTable.put(tx, []byte(id), c.KeepUntil, c); err != nil {
			return err
		}
		if err := putGrant(tx, g); err != nil {
			return err
		}
		if rt.ID == "" {
			return nil
		}
		rt.GrantID = g.ID
		return refreshTable.put(tx, []byte(rt.ID), rt.ExpiresAt, rt)
	})
	if err != nil {
		return err
	}
	return outcome
}
