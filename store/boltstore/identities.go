package boltstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/gatehouse-dev/gatehouse/store"
)

// identitiesTable is keyed provider\0subject; identities_by_user indexes
// it as user\0provider\0subject.
var identitiesTable = newTable(bucketIdentities, func(tx *bolt.Tx, _ time.Time, key, value []byte) error {
	var id store.Identity
	if err := json.Unmarshal(value, &id); err != nil {
		return err
	}
	return tx.Bucket(bucketIdentByUser).Delete(identityUserKey(id))
})

func identityKey(provider, subject string) []byte { return indexKey(provider, subject) }

func identityUserKey(id store.Identity) []byte { return indexKey(id.UserID, id.Provider, id.Subject) }

// Identity returns the identity linked to (provider, subject).
func (s *Store) Identity(ctx context.Context, provider, subject string) (store.Identity, error) {
	var id store.Identity
	err := s.load(identitiesTable, identityKey(provider, subject), &id, "identity "+provider+"/"+subject)
	return id, err
}

// IdentitiesByUser lists a user's identities ordered by provider, subject.
func (s *Store) IdentitiesByUser(ctx context.Context, userID string) ([]store.Identity, error) {
	var out []store.Identity
	err := s.db.View(func(tx *bolt.Tx) error {
		for _, k := range prefixKeys(tx, bucketIdentByUser, indexKey(userID, "")) {
			var id store.Identity
			ok, err := identitiesTable.get(tx, s.now(), k[len(userID)+1:], &id)
			if err != nil {
				return err
			}
			if ok {
				out = append(out, id)
			}
		}
		return nil
	})
	return out, err
}

// LinkIdentity links id to an existing user.
func (s *Store) LinkIdentity(ctx context.Context, id store.Identity) error {
	if err := checkIdentity(id); err != nil {
		return err
	}
	return s.update(func(tx *bolt.Tx) error {
		if !usersTable.exists(tx, s.now(), []byte(id.UserID)) {
			return fmt.Errorf("user id %s: %w", id.UserID, store.ErrNotFound)
		}
		return s.link(tx, id)
	})
}

// ProvisionUser creates u and links id to it atomically.
func (s *Store) ProvisionUser(ctx context.Context, u store.User, id store.Identity) error {
	if err := checkIdentity(id); err != nil {
		return err
	}
	if id.UserID != u.ID {
		return fmt.Errorf("provision user: identity names user %q, not %q", id.UserID, u.ID)
	}
	return s.update(func(tx *bolt.Tx) error {
		// The identity first: a concurrent first sign-in of the same
		// upstream account is the common conflict.
		if identitiesTable.exists(tx, s.now(), identityKey(id.Provider, id.Subject)) {
			return fmt.Errorf("identity %s/%s: %w", id.Provider, id.Subject, store.ErrConflict)
		}
		if err := s.createUser(tx, u); err != nil {
			return err
		}
		return s.link(tx, id)
	})
}

func (s *Store) link(tx *bolt.Tx, id store.Identity) error {
	key := identityKey(id.Provider, id.Subject)
	if identitiesTable.exists(tx, s.now(), key) {
		return fmt.Errorf("identity %s/%s: %w", id.Provider, id.Subject, store.ErrConflict)
	}
	if err := tx.Bucket(bucketIdentByUser).Put(identityUserKey(id), nil); err != nil {
		return err
	}
	return identitiesTable.put(tx, key, time.Time{}, id)
}

// UpdateIdentity replaces a linked identity's claims.
func (s *Store) UpdateIdentity(ctx context.Context, id store.Identity) error {
	return s.update(func(tx *bolt.Tx) error {
		key := identityKey(id.Provider, id.Subject)
		var old store.Identity
		ok, err := identitiesTable.get(tx, s.now(), key, &old)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("identity %s/%s: %w", id.Provider, id.Subject, store.ErrNotFound)
		}
		id.UserID, id.LinkedAt = old.UserID, old.LinkedAt
		return identitiesTable.put(tx, key, time.Time{}, id)
	})
}

// UnlinkIdentity removes a link.
func (s *Store) UnlinkIdentity(ctx context.Context, provider, subject string) error {
	return s.update(func(tx *bolt.Tx) error {
		key := identityKey(provider, subject)
		if !identitiesTable.exists(tx, s.now(), key) {
			return fmt.Errorf("identity %s/%s: %w", provider, subject, store.ErrNotFound)
		}
		return identitiesTable.del(tx, s.now(), key)
	})
}

func checkIdentity(id store.Identity) error {
	if id.Provider == "" || id.Subject == "" || id.UserID == "" {
		return fmt.Errorf("identity: provider, subject and user ID are required")
	}
	return nil
}
