package boltstore

import (
	"context"
	"fmt"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/gatehouse-dev/gatehouse/store"
)

var usersTable = newTable(bucketUsers, nil)

// CreateUser stores a new user.
func (s *Store) CreateUser(ctx context.Context, u store.User) error {
	if u.ID == "" || u.Name == "" {
		return fmt.Errorf("create user: ID and name are required")
	}
	return s.update(func(tx *bolt.Tx) error { return s.createUser(tx, u) })
}

func (s *Store) createUser(tx *bolt.Tx, u store.User) error {
	names := tx.Bucket(bucketUsersByName)
	if names.Get([]byte(u.Name)) != nil {
		return fmt.Errorf("user %q: %w", u.Name, store.ErrConflict)
	}
	if usersTable.exists(tx, s.now(), []byte(u.ID)) {
		return fmt.Errorf("user id %s: %w", u.ID, store.ErrConflict)
	}
	if err := names.Put([]byte(u.Name), []byte(u.ID)); err != nil {
		return err
	}
	return usersTable.put(tx, []byte(u.ID), time.Time{}, u)
}

// UserByName returns the user with that login name.
func (s *Store) UserByName(ctx context.Context, name string) (store.User, error) {
	var u store.User
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		u, err = s.userByName(tx, name)
		return err
	})
	return u, err
}

func (s *Store) userByName(tx *bolt.Tx, name string) (store.User, error) {
	var u store.User
	id := tx.Bucket(bucketUsersByName).Get([]byte(name))
	if id == nil {
		return u, fmt.Errorf("user %q: %w", name, store.ErrNotFound)
	}
	ok, err := usersTable.get(tx, s.now(), id, &u)
	if err == nil && !ok {
		err = fmt.Errorf("user %q: %w", name, store.ErrNotFound)
	}
	return u, err
}

// UserByID returns the user with that subject identifier.
func (s *Store) UserByID(ctx context.Context, id string) (store.User, error) {
	var u store.User
	err := s.load(usersTable, []byte(id), &u, "user id "+id)
	return u, err
}

// ListUsers returns every user ordered by name.
func (s *Store) ListUsers(ctx context.Context) ([]store.User, error) {
	var users []store.User
	now := s.now()
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketUsers).ForEach(func(k, _ []byte) error {
			var u store.User
			ok, err := usersTable.get(tx, now, k, &u)
			if ok {
				users = append(users, u)
			}
			return err
		})
	})
	sort.Slice(users, func(i, j int) bool { return users[i].Name < users[j].Name })
	return users, err
}

// SetPassword replaces the password hash of the named user.
func (s *Store) SetPassword(ctx context.Context, name, hash string, now time.Time) error {
	return s.update(func(tx *bolt.Tx) error {
		u, err := s.userByName(tx, name)
		if err != nil {
			return err
		}
		u.PasswordHash = hash
		u.UpdatedAt = now
		return usersTable.put(tx, []byte(u.ID), time.Time{}, u)
	})
}

// DeleteUser removes the named user with their sessions, consents and
// grants.
func (s *Store) DeleteUser(ctx context.Context, name string) error {
	return s.update(func(tx *bolt.Tx) error {
		u, err := s.userByName(tx, name)
		if err != nil {
			return err
		}
		for _, k := range prefixKeys(tx, bucketSessionByUser, indexKey(u.ID, "")) {
			sessionID := k[len(u.ID)+1:]
			if err := sessionsTable.del(tx, s.now(), sessionID); err != nil {
				return err
			}
		}
		if err := revokeUserClientGrants(tx, s.now(), u.ID, ""); err != nil {
			return err
		}
		for _, k := range prefixKeys(tx, bucketConsents, indexKey(u.ID, "")) {
			if err := consentsTable.del(tx, s.now(), k); err != nil {
				return err
			}
		}
		for _, k := range prefixKeys(tx, bucketIdentByUser, indexKey(u.ID, "")) {
			if err := identitiesTable.del(tx, s.now(), k[len(u.ID)+1:]); err != nil {
				return err
			}
		}
		if err := tx.Bucket(bucketUsersByName).Delete([]byte(u.Name)); err != nil {
			return err
		}
		return usersTable.del(tx, s.now(), []byte(u.ID))
	})
}
