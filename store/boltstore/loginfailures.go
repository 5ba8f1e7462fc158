package boltstore

import (
	"context"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/gatehouse-dev/gatehouse/store"
)

var _ store.LoginFailureStore = (*Store)(nil)

// loginFailuresTable holds one record per account with failed sign-ins or
// a slowed schedule (store.LoginFailureStore). A record expires once its
// level has drained to zero and its next check slot has passed; the
// sweeper then forgets the account.
var loginFailuresTable = newTable(bucketLoginFailures, nil)

// loginFailure is an account's leaky-bucket level, when it was last
// written, when it drains to zero, and the account's next free check slot
// under the per-account slowdown (zero: none).
type loginFailure struct {
	Level     float64   `json:"level"`
	At        time.Time `json:"at"`
	DrainedAt time.Time `json:"drained_at"`
	Next      time.Time `json:"next,omitzero"`
}

// expiry is when the record may be forgotten.
func (f loginFailure) expiry() time.Time {
	if f.Next.After(f.DrainedAt) {
		return f.Next
	}
	return f.DrainedAt
}

// AddLoginFailure records one failed sign-in: a failure on the embedded
// store survives a restart, so restarting Gatehouse does not forgive a
// guesser.
func (s *Store) AddLoginFailure(ctx context.Context, account string, now time.Time, leak time.Duration) (float64, error) {
	var level float64
	err := s.group.do(func(tx *bolt.Tx) error {
		var f loginFailure
		if _, err := loginFailuresTable.get(tx, now, []byte(account), &f); err != nil {
			return err
		}
		f.Level = store.DrainedLevel(f.Level, f.At, now, leak) + 1
		if now.After(f.At) {
			f.At = now // never backwards: a clock step must not re-drain the level
		}
		f.DrainedAt = f.At.Add(time.Duration(f.Level * float64(leak)))
		level = f.Level
		return loginFailuresTable.put(tx, []byte(account), f.expiry(), f)
	})
	return level, err
}

// LoginFailureLevel returns account's level at now without writing.
func (s *Store) LoginFailureLevel(ctx context.Context, account string, now time.Time, leak time.Duration) (float64, error) {
	var f loginFailure
	err := s.db.View(func(tx *bolt.Tx) error {
		_, err := loginFailuresTable.get(tx, now, []byte(account), &f)
		return err
	})
	return store.DrainedLevel(f.Level, f.At, now, leak), err
}

// ReserveLoginCheck takes account's next check slot in one write
// transaction (store.NextLoginCheck's rule).
func (s *Store) ReserveLoginCheck(ctx context.Context, account string, now time.Time, every, maxWait time.Duration) (time.Duration, bool, error) {
	var (
		wait time.Duration
		ok   bool
	)
	err := s.group.do(func(tx *bolt.Tx) error {
		var f loginFailure
		if _, err := loginFailuresTable.get(tx, now, []byte(account), &f); err != nil {
			return err
		}
		var next time.Time
		wait, ok, next = store.NextLoginCheck(f.Next, now, every, maxWait)
		if !ok {
			return nil
		}
		if f.At.IsZero() {
			f.At = now
		}
		f.Next = next
		return loginFailuresTable.put(tx, []byte(account), f.expiry(), f)
	})
	return wait, ok, err
}
