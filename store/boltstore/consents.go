package boltstore

import (
	"context"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/gatehouse-dev/gatehouse/store"
)

// Consents are keyed user\0client, so a prefix scan lists a user's.
var (
	consentsTable   = newTable(bucketConsents, nil)
	assertionsTable = newTable(bucketAssertions, nil)
)

// PutConsent stores a consent, replacing the previous one.
func (s *Store) PutConsent(ctx context.Context, c store.Consent) error {
	if c.UserID == "" || c.ClientID == "" {
		return fmt.Errorf("consent: user and client are required")
	}
	return s.update(func(tx *bolt.Tx) error {
		return consentsTable.put(tx, indexKey(c.UserID, c.ClientID), time.Time{}, c)
	})
}

// Consent returns the user's consent for the client.
func (s *Store) Consent(ctx context.Context, userID, clientID string) (store.Consent, error) {
	var c store.Consent
	err := s.load(consentsTable, indexKey(userID, clientID), &c, "consent")
	return c, err
}

// ConsentsByUser lists a user's consents, ordered by client ID.
func (s *Store) ConsentsByUser(ctx context.Context, userID string) ([]store.Consent, error) {
	var out []store.Consent
	err := s.db.View(func(tx *bolt.Tx) error {
		for _, k := range prefixKeys(tx, bucketConsents, indexKey(userID, "")) {
			var c store.Consent
			ok, err := consentsTable.get(tx, s.now(), k, &c)
			if err != nil {
				return err
			}
			if ok {
				out = append(out, c)
			}
		}
		return nil
	})
	return out, err
}

// RevokeConsent deletes a consent and the user's grants to that client.
func (s *Store) RevokeConsent(ctx context.Context, userID, clientID string) error {
	return s.update(func(tx *bolt.Tx) error {
		key := indexKey(userID, clientID)
		if !consentsTable.exists(tx, s.now(), key) {
			return fmt.Errorf("consent: %w", store.ErrNotFound)
		}
		if err := revokeUserClientGrants(tx, s.now(), userID, clientID); err != nil {
			return err
		}
		return consentsTable.del(tx, s.now(), key)
	})
}

// revokeUserClientGrants revokes a user's grants, all of them when
// clientID is empty.
func revokeUserClientGrants(tx *bolt.Tx, now time.Time, userID, clientID string) error {
	prefix := indexKey(userID, "")
	for _, k := range prefixKeys(tx, bucketGrantByUser, prefix) {
		id := k[len(prefix):]
		if clientID != "" {
			var g store.Grant
			ok, err := grantsTable.get(tx, now, id, &g)
			if err != nil {
				return err
			}
			if !ok || g.ClientID != clientID {
				continue
			}
		}
		if _, err := revokeGrant(tx, now, id); err != nil {
			return err
		}
	}
	return nil
}

// UseAssertionID records a client assertion's jti until it expires.
func (s *Store) UseAssertionID(ctx context.Context, clientID, jti string, expiresAt time.Time) error {
	if jti == "" || expiresAt.IsZero() {
		return fmt.Errorf("assertion id: jti and expiry are required")
	}
	now := s.now()
	key := indexKey(clientID, jti)
	var outcome error
	err := s.group.do(func(tx *bolt.Tx) error {
		outcome = nil
		if assertionsTable.exists(tx, now, key) {
			outcome = fmt.Errorf("assertion id: %w", store.ErrConflict)
			return nil
		}
		return assertionsTable.put(tx, key, expiresAt, struct{}{})
	})
	if err != nil {
		return err
	}
	return outcome
}
