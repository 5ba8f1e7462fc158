package boltstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/gatehouse-dev/gatehouse/store"
)

// sessionsTable keeps sessions_by_user in step with sessions, including
// when the sweeper removes an expired session.
var sessionsTable = newTable(bucketSessions, func(tx *bolt.Tx, now time.Time, key, value []byte) error {
	var s store.Session
	if err := json.Unmarshal(value, &s); err != nil {
		return nil // corrupt record: nothing to unindex
	}
	return tx.Bucket(bucketSessionByUser).Delete(indexKey(s.UserID, string(key)))
})

// CreateSession stores a new session.
func (s *Store) CreateSession(ctx context.Context, sess store.Session) error {
	if sess.ID == "" || sess.UserID == "" || sess.ExpiresAt.IsZero() {
		return fmt.Errorf("create session: ID, user and expiry are required")
	}
	now := s.now()
	return s.group.do(func(tx *bolt.Tx) error {
		// Batch may run this more than once; re-running after a rollback
		// finds the same state, so the result is the same.
		if sessionsTable.exists(tx, now, []byte(sess.ID)) {
			return fmt.Errorf("session: %w", store.ErrConflict)
		}
		if err := tx.Bucket(bucketSessionByUser).Put(indexKey(sess.UserID, sess.ID), nil); err != nil {
			return err
		}
		return sessionsTable.put(tx, []byte(sess.ID), sess.ExpiresAt, sess)
	})
}

// Session returns the live session with that ID.
func (s *Store) Session(ctx context.Context, id string) (store.Session, error) {
	var sess store.Session
	err := s.load(sessionsTable, []byte(id), &sess, "session")
	return sess, err
}

// DeleteSession removes the session if it exists.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	return s.update(func(tx *bolt.Tx) error {
		return sessionsTable.del(tx, s.now(), []byte(id))
	})
}

// DeleteUserSessions removes every session of the user, through the
// sessions_by_user index.
func (s *Store) DeleteUserSessions(ctx context.Context, userID string) (int, error) {
	n := 0
	err := s.update(func(tx *bolt.Tx) error {
		n = 0
		for _, k := range prefixKeys(tx, bucketSessionByUser, indexKey(userID, "")) {
			if err := sessionsTable.del(tx, s.now(), k[len(userID)+1:]); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}
