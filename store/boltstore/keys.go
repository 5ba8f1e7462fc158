package boltstore

import (
	"context"
	"fmt"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/gatehouse-dev/gatehouse/store"
)

var keysTable = newTable(bucketKeys, nil)

// SigningKeys returns every unexpired key, newest first.
func (s *Store) SigningKeys(ctx context.Context) ([]store.SigningKey, error) {
	now := s.now()
	var keys []store.SigningKey
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketKeys).ForEach(func(k, _ []byte) error {
			var key store.SigningKey
			ok, err := keysTable.get(tx, now, k, &key)
			if ok {
				keys = append(keys, key)
			}
			return err
		})
	})
	sort.Slice(keys, func(i, j int) bool { return keys[i].CreatedAt.After(keys[j].CreatedAt) })
	return keys, err
}

// RotateSigningKey stores next as the active key and retires the others.
func (s *Store) RotateSigningKey(ctx context.Context, next store.SigningKey, publishUntil time.Time) error {
	if next.ID == "" || !next.Active() {
		return fmt.Errorf("rotate: the new key needs an ID and must be active")
	}
	now := s.now()
	return s.update(func(tx *bolt.Tx) error {
		if keysTable.exists(tx, now, []byte(next.ID)) {
			return fmt.Errorf("signing key %s: %w", next.ID, store.ErrConflict)
		}
		var active []store.SigningKey
		err := tx.Bucket(bucketKeys).ForEach(func(k, _ []byte) error {
			var key store.SigningKey
			ok, err := keysTable.get(tx, now, k, &key)
			if ok && key.Active() {
				active = append(active, key)
			}
			return err
		})
		if err != nil {
			return err
		}
		for _, key := range active {
			key.RetiredAt = next.Activation()
			key.PublishUntil = publishUntil
			if err := keysTable.put(tx, []byte(key.ID), publishUntil, key); err != nil {
				return err
			}
		}
		return keysTable.put(tx, []byte(next.ID), time.Time{}, next)
	})
}

// CreateFirstSigningKey stores first unless an active key exists, in one
// write transaction.
func (s *Store) CreateFirstSigningKey(ctx context.Context, first store.SigningKey) (bool, error) {
	if first.ID == "" || !first.Active() {
		return false, fmt.Errorf("first key: it needs an ID and must be active")
	}
	now := s.now()
	created := false
	err := s.update(func(tx *bolt.Tx) error {
		created = false // the committer may run the function again
		if keysTable.exists(tx, now, []byte(first.ID)) {
			return fmt.Errorf("signing key %s: %w", first.ID, store.ErrConflict)
		}
		active := false
		err := tx.Bucket(bucketKeys).ForEach(func(k, _ []byte) error {
			var key store.SigningKey
			ok, err := keysTable.get(tx, now, k, &key)
			active = active || (ok && key.Active())
			return err
		})
		if err != nil || active {
			return err
		}
		created = true
		return keysTable.put(tx, []byte(first.ID), time.Time{}, first)
	})
	return created && err == nil, err
}
