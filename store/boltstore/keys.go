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
