package boltstore

import (
	"bytes"
	"context"
	"encoding/json"
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

// CodeUser returns the code and its user (nil when there is none) in one
// read transaction.
func (s *Store) CodeUser(ctx context.Context, id string) (store.AuthCode, *store.User, error) {
	var (
		c store.AuthCode
		u *store.User
	)
	err := s.db.View(func(tx *bolt.Tx) error {
		now := s.now()
		ok, err := codesTable.get(tx, now, []byte(id), &c)
		if err == nil && !ok {
			return fmt.Errorf("code %s: %w", id, store.ErrNotFound)
		}
		if err != nil || c.UserID == "" {
			return err
		}
		var user store.User
		if ok, err = usersTable.get(tx, now, []byte(c.UserID), &user); ok {
			u = &user
		}
		return err
	})
	if err != nil {
		return store.AuthCode{}, nil, err
	}
	return c, u, nil
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
		raw := tx.Bucket(bucketCodes).Get([]byte(id))
		if raw == nil {
			outcome = fmt.Errorf("code: %w", store.ErrNotFound)
			return nil
		}
		keep, body, err := split(raw)
		if err != nil {
			return fmt.Errorf("%s: %w", bucketCodes, err)
		}
		// Only the two fields the decision needs are decoded: the caller
		// decoded the whole record already (to check the client, the
		// redirect URI and PKCE), and the write below patches the stored
		// JSON instead of decoding and re-encoding all of it.
		var state codeState
		if err := json.Unmarshal(body, &state); err != nil {
			return fmt.Errorf("%s: decode: %w", bucketCodes, err)
		}
		switch {
		case expired(keep, now) || !now.Before(state.ExpiresAt):
			outcome = fmt.Errorf("code: %w", store.ErrNotFound)
			return nil
		case !state.RedeemedAt.IsZero():
			outcome = fmt.Errorf("code: %w", store.ErrAlreadyRedeemed)
			return nil
		}
		patched, err := markRedeemed(raw, now, g.ID)
		if err != nil {
			return err
		}
		b := tx.Bucket(bucketCodes)
		b.FillPercent = 0.95 // as codesTable.put: time-ordered keys
		if err := b.Put([]byte(id), patched); err != nil {
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

// codeState is the part of a stored AuthCode that redemption decides on.
type codeState struct {
	ExpiresAt  time.Time `json:"expires_at"`
	RedeemedAt time.Time `json:"redeemed_at,omitzero"`
}

// markRedeemed returns a copy of a stored unredeemed code (expiry prefix
// and JSON object) with redeemed_at and grant_id added. An unredeemed
// record has neither key (both are omitted while zero), so appending them
// keeps the object valid with no duplicate keys; the expiry prefix, and
// so the expiry index entry, stay as they are.
func markRedeemed(raw []byte, now time.Time, grantID string) ([]byte, error) {
	body := bytes.TrimRight(raw[8:], " \t\r\n")
	if len(body) < 2 || body[len(body)-1] != '}' {
		return nil, fmt.Errorf("%s: stored code is not a JSON object", bucketCodes)
	}
	at, err := json.Marshal(now)
	if err != nil {
		return nil, err
	}
	id, err := json.Marshal(grantID)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(raw)+len(at)+len(id)+32)
	out = append(out, raw[:8]...)
	out = append(out, body[:len(body)-1]...)
	if len(body) > 2 { // not an empty object
		out = append(out, ',')
	}
	out = append(out, `"redeemed_at":`...)
	out = append(out, at...)
	out = append(out, `,"grant_id":`...)
	out = append(out, id...)
	return append(out, '}'), nil
}
