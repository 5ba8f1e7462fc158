package boltstore

import (
	"bytes"
	"context"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/gatehouse-dev/gatehouse/store"
)

// Consents are keyed user\0client, so a prefix scan lists a user's;
// consents_by_client (client\0user) finds a client's, so that they go
// when a registered client does.
var (
	consentsTable = newTable(bucketConsents, func(tx *bolt.Tx, _ time.Time, key, _ []byte) error {
		user, client, _ := bytes.Cut(key, []byte{0})
		return tx.Bucket(bucketConsentByClnt).Delete(indexKey(string(client), string(user)))
	})
	assertionsTable = newTable(bucketAssertions, nil)
)

// PutConsent stores a consent, replacing the previous one.
func (s *Store) PutConsent(ctx context.Context, c store.Consent) error {
	if c.UserID == "" || c.ClientID == "" {
		return fmt.Errorf("consent: user and client are required")
	}
	return s.update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketConsentByClnt).Put(indexKey(c.ClientID, c.UserID), nil); err != nil {
			return err
		}
		return consentsTable.put(tx, indexKey(c.UserID, c.ClientID), time.Time{}, c)
	})
}

// ClientHasConsent looks for one consents_by_client entry of the client.
func (s *Store) ClientHasConsent(ctx context.Context, clientID string) (bool, error) {
	var found bool
	err := s.db.View(func(tx *bolt.Tx) error {
		prefix := indexKey(clientID, "")
		k, _ := tx.Bucket(bucketConsentByClnt).Cursor().Seek(prefix)
		found = k != nil && bytes.HasPrefix(k, prefix)
		return nil
	})
	return found, err
}

// deleteClientConsents removes every user's consent to a client.
func deleteClientConsents(tx *bolt.Tx, now time.Time, clientID string) error {
	prefix := indexKey(clientID, "")
	for _, k := range prefixKeys(tx, bucketConsentByClnt, prefix) {
		if err := consentsTable.del(tx, now, indexKey(string(k[len(prefix):]), clientID)); err != nil {
			return err
		}
	}
	return nil
}

// indexConsentsByClient fills consents_by_client for consents stored
// before the index existed (it is created empty on the first open by a
// version that has it), and drops the consents to registered clients
// that were deleted before consents went with them.
func indexConsentsByClient(tx *bolt.Tx) error {
	idx, consents, clients := tx.Bucket(bucketConsentByClnt), tx.Bucket(bucketConsents), tx.Bucket(bucketClients)
	var orphans [][]byte
	err := consents.ForEach(func(k, _ []byte) error {
		user, client, ok := bytes.Cut(k, []byte{0})
		if !ok {
			return nil
		}
		if bytes.HasPrefix(client, []byte(registeredPrefix)) && clients.Get(client) == nil {
			orphans = append(orphans, bytes.Clone(k))
			return nil
		}
		return idx.Put(indexKey(string(client), string(user)), nil)
	})
	for _, k := range orphans {
		if err == nil {
			err = consents.Delete(k)
		}
	}
	return err
}

// registeredPrefix starts every dynamically registered client's ID.
const registeredPrefix = "dcr_"

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
