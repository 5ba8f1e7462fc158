package boltstore

import (
	"context"
	"fmt"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/gatehouse-dev/gatehouse/store"
)

// clientsTable removes the dedup log entry, revokes the client's grants
// and deletes the users' consents to it whenever a client record goes,
// whether deleted or swept after expiry: client IDs are never reused, so
// a consent to a client that is gone would only take up space forever.
// (The callers drop the in-memory dedup entry: Store.forgetDedup.)
var clientsTable = appendOnly(newTable(bucketClients, func(tx *bolt.Tx, now time.Time, key, value []byte) error {
	if err := tx.Bucket(bucketClientDedupLog).Delete(key); err != nil {
		return err
	}
	if err := approvalsTable.del(tx, now, key); err != nil {
		return err
	}
	if err := revokeClientGrants(tx, now, string(key)); err != nil {
		return err
	}
	return deleteClientConsents(tx, now, string(key))
}))

var iatTable = newTable(bucketIATs, nil)

// CreateClient stores a new client or returns the live duplicate.
func (s *Store) CreateClient(ctx context.Context, c store.RegisteredClient, iatID string) (store.RegisteredClient, bool, error) {
	if c.ID == "" || c.ExpiresAt.IsZero() {
		return store.RegisteredClient{}, false, fmt.Errorf("create client: ID and expiry are required")
	}
	now := s.now()
	var (
		outcome error
		stored  store.RegisteredClient
		created bool
	)
	err := s.group.do(func(tx *bolt.Tx) (err error) {
		stored, created, outcome, err = s.createClient(tx, now, c, iatID)
		return err
	})
	if err != nil {
		return store.RegisteredClient{}, false, err
	}
	return stored, created, outcome
}

// createClient is CreateClient's transaction: it returns what was stored,
// whether it is new, the outcome for the caller (ErrNotFound for a spent
// initial access token, ErrConflict for a taken ID) and an error that
// rolls the transaction back.
func (s *Store) createClient(tx *bolt.Tx, now time.Time, c store.RegisteredClient, iatID string) (store.RegisteredClient, bool, error, error) {
	if iatID != "" {
		var iat store.InitialAccessToken
		ok, err := iatTable.get(tx, now, []byte(iatID), &iat)
		if err != nil {
			return store.RegisteredClient{}, false, nil, err
		}
		if !ok || iat.UsesLeft < 1 {
			return store.RegisteredClient{}, false, fmt.Errorf("initial access token: %w", store.ErrNotFound), nil
		}
		iat.UsesLeft--
		if iat.UsesLeft == 0 {
			err = iatTable.del(tx, now, []byte(iatID))
		} else {
			err = iatTable.put(tx, []byte(iatID), iat.ExpiresAt, iat)
		}
		if err != nil {
			return store.RegisteredClient{}, false, nil, err
		}
	}
	if c.DedupKey != "" {
		if id, found := s.dedup.lookup(c.DedupKey); found {
			var dup store.RegisteredClient
			ok, err := clientsTable.get(tx, now, []byte(id), &dup)
			if err != nil {
				return store.RegisteredClient{}, false, nil, err
			}
			// The index may name a client that is gone, used, or holds
			// another key (dedup.go): the record decides.
			if ok && !dup.Used() && dup.DedupKey == c.DedupKey {
				// The same unused registration again: hand back the one
				// record, managed by the newest registrant and, within a
				// bound, by the earlier ones too.
				dup.MergeRegistrant(c.RegistrationTokenHash)
				dup.UpdatedAt, dup.ExpiresAt = c.UpdatedAt, c.ExpiresAt
				return dup, false, nil, clientsTable.put(tx, []byte(id), dup.ExpiresAt, dup)
			}
		}
	}
	if clientsTable.exists(tx, now, []byte(c.ID)) {
		return store.RegisteredClient{}, false, fmt.Errorf("client %s: %w", c.ID, store.ErrConflict), nil
	}
	if c.DedupKey != "" {
		log := tx.Bucket(bucketClientDedupLog)
		log.FillPercent = 0.95 // keyed by time-ordered client IDs: appended
		if err := log.Put([]byte(c.ID), []byte(c.DedupKey)); err != nil {
			return store.RegisteredClient{}, false, nil, err
		}
		s.dedup.add(c.DedupKey, c.ID)
	}
	return c, true, nil, clientsTable.put(tx, []byte(c.ID), c.ExpiresAt, c)
}

// Client returns a live client.
func (s *Store) Client(ctx context.Context, id string) (store.RegisteredClient, error) {
	var c store.RegisteredClient
	err := s.load(clientsTable, []byte(id), &c, "client "+id)
	return c, err
}

// UpdateClient replaces a client's record. A changed client is no longer
// a duplicate of anything.
func (s *Store) UpdateClient(ctx context.Context, c store.RegisteredClient) error {
	return s.update(func(tx *bolt.Tx) error {
		var old store.RegisteredClient
		ok, err := clientsTable.get(tx, s.now(), []byte(c.ID), &old)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("client %s: %w", c.ID, store.ErrNotFound)
		}
		if old.DedupKey != "" && old.DedupKey != c.DedupKey {
			if err := s.forgetDedup(tx, []byte(c.ID)); err != nil {
				return err
			}
		}
		return clientsTable.put(tx, []byte(c.ID), c.ExpiresAt, c)
	})
}

// DeleteClient removes a client and revokes its grants.
func (s *Store) DeleteClient(ctx context.Context, id string) error {
	return s.update(func(tx *bolt.Tx) error {
		if !clientsTable.exists(tx, s.now(), []byte(id)) {
			return fmt.Errorf("client %s: %w", id, store.ErrNotFound)
		}
		if err := s.forgetDedup(tx, []byte(id)); err != nil {
			return err
		}
		return clientsTable.del(tx, s.now(), []byte(id))
	})
}

// ListClients returns every live client (or every stored one), oldest
// first.
func (s *Store) ListClients(ctx context.Context, includeExpired bool) ([]store.RegisteredClient, error) {
	var out []store.RegisteredClient
	now := s.now()
	if includeExpired {
		now = time.Unix(0, 0) // nothing stored expires before the epoch
	}
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketClients).ForEach(func(k, _ []byte) error {
			var c store.RegisteredClient
			ok, err := clientsTable.get(tx, now, k, &c)
			if ok {
				out = append(out, c)
			}
			return err
		})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].IssuedAt.Before(out[j].IssuedAt) })
	return out, err
}

// TouchClient records token activity, writing only when it matters.
func (s *Store) TouchClient(ctx context.Context, id string, now time.Time, idle time.Duration) error {
	var c store.RegisteredClient
	err := s.db.View(func(tx *bolt.Tx) error {
		ok, err := clientsTable.get(tx, now, []byte(id), &c)
		if err == nil && !ok {
			err = fmt.Errorf("client %s: %w", id, store.ErrNotFound)
		}
		return err
	})
	if err != nil {
		return err
	}
	if c.Used() && now.Sub(c.LastActiveAt) < time.Minute && c.ExpiresAt.Sub(now.Add(idle)) > -time.Minute {
		return nil // recorded recently enough
	}
	return s.group.do(func(tx *bolt.Tx) error {
		var cur store.RegisteredClient
		ok, err := clientsTable.get(tx, now, []byte(id), &cur)
		if err != nil || !ok {
			return err
		}
		if !cur.Used() {
			cur.FirstTokenAt = now
			if cur.DedupKey != "" {
				if err := s.forgetDedup(tx, []byte(id)); err != nil {
					return err
				}
				cur.DedupKey = ""
			}
		}
		cur.LastActiveAt, cur.ExpiresAt = now, now.Add(idle)
		return clientsTable.put(tx, []byte(id), cur.ExpiresAt, cur)
	})
}

// CreateInitialAccessToken stores a new initial access token.
func (s *Store) CreateInitialAccessToken(ctx context.Context, t store.InitialAccessToken) error {
	if t.ID == "" || t.ExpiresAt.IsZero() || t.UsesLeft < 1 {
		return fmt.Errorf("initial access token: ID, expiry and uses are required")
	}
	return s.update(func(tx *bolt.Tx) error {
		return iatTable.put(tx, []byte(t.ID), t.ExpiresAt, t)
	})
}

// InitialAccessTokens lists live initial access tokens.
func (s *Store) InitialAccessTokens(ctx context.Context) ([]store.InitialAccessToken, error) {
	var out []store.InitialAccessToken
	now := s.now()
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketIATs).ForEach(func(k, _ []byte) error {
			var t store.InitialAccessToken
			ok, err := iatTable.get(tx, now, k, &t)
			if ok {
				out = append(out, t)
			}
			return err
		})
	})
	return out, err
}

// forgetDedup removes client id from the dedup log and, once the
// transaction commits, from the in-memory index: it is used, changed,
// deleted or expired, and no longer absorbs identical registrations.
func (s *Store) forgetDedup(tx *bolt.Tx, id []byte) error {
	log := tx.Bucket(bucketClientDedupLog)
	if key := log.Get(id); key != nil {
		s.dedup.remove(string(key), string(id))
	}
	return log.Delete(id)
}
