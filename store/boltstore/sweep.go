package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/gatehouse-dev/gatehouse/store"
)

// sweepBatch bounds how many records one write transaction deletes, so the
// sweeper never holds the writer lock for long.
const sweepBatch = 1000

// Sweep deletes every record whose expiry is at or before now, walking the
// expiry index in order and stopping at the first entry still in the future.
func (s *Store) Sweep(ctx context.Context, now time.Time) (store.SweepResult, error) {
	var res store.SweepResult
	for {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		more, err := s.sweepOnce(now, &res)
		if err != nil || !more {
			return res, err
		}
	}
}

func (s *Store) sweepOnce(now time.Time, res *store.SweepResult) (more bool, err error) {
	var (
		n       int
		clients []string
	)
	limit := uint64(now.UnixNano())
	err = s.update(func(tx *bolt.Tx) error {
		n, more, clients = 0, false, nil
		idx := tx.Bucket(bucketExpiry)
		var due [][]byte
		c := idx.Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			if len(k) < 9 || binary.BigEndian.Uint64(k[:8]) > limit {
				break
			}
			if len(due) == sweepBatch {
				more = true
				break
			}
			due = append(due, bytes.Clone(k))
		}
		for _, k := range due {
			rest := k[8:]
			sep := bytes.IndexByte(rest, 0)
			if sep < 0 {
				if err := idx.Delete(k); err != nil {
					return err
				}
				continue
			}
			bucket, key := rest[:sep], rest[sep+1:]
			t := tables[string(bucket)]
			if t == nil || !s.dueAt(tx, t, key, k[:8]) {
				// Stale index entry (record gone or re-put with a new
				// expiry): drop just the entry.
				if err := idx.Delete(k); err != nil {
					return err
				}
				continue
			}
			if t == clientsTable {
				if err := s.forgetDedup(tx, key); err != nil {
					return err
				}
			}
			if err := t.del(tx, now, key); err != nil {
				return err
			}
			if t == clientsTable {
				clients = append(clients, string(key))
			}
			n++
		}
		return nil
	})
	if err == nil {
		res.Removed += n
		res.ExpiredClients = append(res.ExpiredClients, clients...)
	}
	return more, err
}

// dueAt reports whether the record at key still carries the expiry encoded
// in the index entry.
func (s *Store) dueAt(tx *bolt.Tx, t *table, key, exp []byte) bool {
	raw := tx.Bucket(t.name).Get(key)
	return len(raw) >= 8 && bytes.Equal(raw[:8], exp)
}
