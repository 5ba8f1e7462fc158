package boltstore

import (
	"errors"
	"fmt"
	"strings"
	"syscall"

	bolt "go.etcd.io/bbolt"

	"github.com/gatehouse-dev/gatehouse/store"
)

// update runs fn in a write transaction of its own and classifies the
// commit's failure (see unavailable).
func (s *Store) update(fn func(*bolt.Tx) error) error {
	return unavailable(s.write(fn))
}

// unavailable wraps a write that failed for lack of space in
// store.ErrUnavailable. bbolt rolls such a transaction back whole (data
// pages are written before the meta page that makes them visible), so
// nothing was written and the same write may succeed once space returns.
// Other errors are returned unchanged.
func unavailable(err error) error {
	if err == nil || !noSpace(err) {
		return err
	}
	return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
}

// noSpace reports a full disk or an exhausted quota. bbolt formats the
// error of growing the file with %s, losing the errno, so its text is
// matched as well.
func noSpace(err error) bool {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, syscall.ENOSPC.Error()) || strings.Contains(msg, syscall.EDQUOT.Error())
}
