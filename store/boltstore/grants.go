package boltstore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/gatehouse-dev/gatehouse/store"
)

// grantsTable keeps the by-user and by-client indexes in step, including
// when the sweeper removes a grant past its absolute expiry.
var grantsTable = appendOnly(newTable(bucketGrants, func(tx *bolt.Tx, now time.Time, key, value []byte) error {
	var g store.Grant
	if err := json.Unmarshal(value, &g); err != nil {
		return nil
	}
	if err := tx.Bucket(bucketGrantByUser).Delete(indexKey(g.UserID, g.ID)); err != nil {
		return err
	}
	return tx.Bucket(bucketGrantByClient).Delete(indexKey(g.ClientID, g.ID))
}))

var (
	refreshTable = appendOnly(newTable(bucketRefresh, nil))
	revokedTable = newTable(bucketRevokedAT, nil)
)

func putGrant(tx *bolt.Tx, g store.Grant) error {
	if g.ID == "" || g.ClientID == "" || g.ExpiresAt.IsZero() {
		return fmt.Errorf("grant: ID, client and expiry are required")
	}
	if err := tx.Bucket(bucketGrantByUser).Put(indexKey(g.UserID, g.ID), nil); err != nil {
		return err
	}
	if err := tx.Bucket(bucketGrantByClient).Put(indexKey(g.ClientID, g.ID), nil); err != nil {
		return err
	}
	return grantsTable.put(tx, []byte(g.ID), g.ExpiresAt, g)
}

// revokeGrant deletes a grant and remembers its live access tokens as
// revoked. Its refresh tokens are left to expire: without the grant they
// no longer work.
func revokeGrant(tx *bolt.Tx, now time.Time, id []byte) (bool, error) {
	var g store.Grant
	ok, err := grantsTable.get(tx, now, id, &g)
	if err != nil || !ok {
		return false, err
	}
	for _, at := range g.AccessTokens {
		if at.ExpiresAt.After(now) {
			if err := revokedTable.put(tx, []byte(at.JTI), at.ExpiresAt, at); err != nil {
				return false, err
			}
		}
	}
	return true, grantsTable.del(tx, now, id)
}

// CreateGrant stores a grant.
func (s *Store) CreateGrant(ctx context.Context, g store.Grant) error {
	return s.update(func(tx *bolt.Tx) error { return putGrant(tx, g) })
}

// Grant returns a live grant.
func (s *Store) Grant(ctx context.Context, id string) (store.Grant, error) {
	var g store.Grant
	err := s.load(grantsTable, []byte(id), &g, "grant")
	return g, err
}

// GrantsByUser lists a user's live grants.
func (s *Store) GrantsByUser(ctx context.Context, userID string) ([]store.Grant, error) {
	return s.grantsBy(bucketGrantByUser, userID)
}

// GrantsByClient lists a client's live grants.
func (s *Store) GrantsByClient(ctx context.Context, clientID string) ([]store.Grant, error) {
	return s.grantsBy(bucketGrantByClient, clientID)
}

func (s *Store) grantsBy(index []byte, owner string) ([]store.Grant, error) {
	var out []store.Grant
	now := s.now()
	err := s.db.View(func(tx *bolt.Tx) error {
		prefix := indexKey(owner, "")
		for _, k := range prefixKeys(tx, index, prefix) {
			var g store.Grant
			ok, err := grantsTable.get(tx, now, k[len(prefix):], &g)
			if err != nil {
				return err
			}
			if ok {
				out = append(out, g)
			}
		}
		return nil
	})
	return out, err
}

// ClientGrantCounts counts live grants per client.
func (s *Store) ClientGrantCounts(ctx context.Context) (map[string]int, error) {
	counts := map[string]int{}
	now := s.now()
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketGrantByClient).ForEach(func(k, _ []byte) error {
			client, grant, ok := bytes.Cut(k, []byte{0})
			if ok && grantsTable.exists(tx, now, grant) {
				counts[string(client)]++
			}
			return nil
		})
	})
	return counts, err
}

// RevokeGrant deletes a grant and revokes its access tokens.
func (s *Store) RevokeGrant(ctx context.Context, id string) error {
	return s.update(func(tx *bolt.Tx) error {
		ok, err := revokeGrant(tx, s.now(), []byte(id))
		if err == nil && !ok {
			err = fmt.Errorf("grant: %w", store.ErrNotFound)
		}
		return err
	})
}

// RevokeClientGrants revokes every grant of a client.
func (s *Store) RevokeClientGrants(ctx context.Context, clientID string) (int, error) {
	n := 0
	err := s.update(func(tx *bolt.Tx) error {
		var err error
		n, err = countRevokeClientGrants(tx, s.now(), clientID)
		return err
	})
	return n, err
}

func revokeClientGrants(tx *bolt.Tx, now time.Time, clientID string) error {
	_, err := countRevokeClientGrants(tx, now, clientID)
	return err
}

func countRevokeClientGrants(tx *bolt.Tx, now time.Time, clientID string) (int, error) {
	n := 0
	prefix := indexKey(clientID, "")
	for _, k := range prefixKeys(tx, bucketGrantByClient, prefix) {
		ok, err := revokeGrant(tx, now, k[len(prefix):])
		if err != nil {
			return n, err
		}
		if ok {
			n++
		}
	}
	return n, nil
}

// RefreshToken returns a refresh token record until it expires.
func (s *Store) RefreshToken(ctx context.Context, id string) (store.RefreshToken, error) {
	var rt store.RefreshToken
	err := s.load(refreshTable, []byte(id), &rt, "refresh token")
	return rt, err
}

// RefreshTokenGrant returns a refresh token and its live grant, read in
// one transaction.
func (s *Store) RefreshTokenGrant(ctx context.Context, id string) (store.RefreshToken, store.Grant, error) {
	var (
		rt store.RefreshToken
		g  store.Grant
	)
	err := s.db.View(func(tx *bolt.Tx) error {
		now := s.now()
		ok, err := refreshTable.get(tx, now, []byte(id), &rt)
		if err == nil && ok {
			ok, err = grantsTable.get(tx, now, []byte(rt.GrantID), &g)
		}
		if err == nil && !ok {
			err = fmt.Errorf("refresh token %s: %w", id, store.ErrNotFound)
		}
		return err
	})
	if err != nil {
		return store.RefreshToken{}, store.Grant{}, err
	}
	return rt, g, nil
}

// RefreshTokenGrantUser returns the token, its live grant and the grant's
// user (nil when there is none) in one read transaction.
func (s *Store) RefreshTokenGrantUser(ctx context.Context, id string) (store.RefreshToken, store.Grant, *store.User, error) {
	var (
		rt store.RefreshToken
		g  store.Grant
		u  *store.User
	)
	err := s.db.View(func(tx *bolt.Tx) error {
		now := s.now()
		ok, err := refreshTable.get(tx, now, []byte(id), &rt)
		if err == nil && ok {
			ok, err = grantsTable.get(tx, now, []byte(rt.GrantID), &g)
		}
		if err == nil && !ok {
			return fmt.Errorf("refresh token %s: %w", id, store.ErrNotFound)
		}
		if err != nil || g.UserID == "" {
			return err
		}
		var user store.User
		if ok, err = usersTable.get(tx, now, []byte(g.UserID), &user); ok {
			u = &user
		}
		return err
	})
	if err != nil {
		return store.RefreshToken{}, store.Grant{}, nil, err
	}
	return rt, g, u, nil
}

// RotateRefreshToken exchanges a refresh token, accepts a rotated one
// within grace of its rotation, or revokes the grant when it was rotated
// longer ago. Outcomes travel outside the commit function's error so that
// the revocation on reuse is committed. The whole decision runs in one
// write transaction, so concurrent callers are serialised by bbolt.
func (s *Store) RotateRefreshToken(ctx context.Context, oldID string, now time.Time, next store.RefreshToken, at store.IssuedToken, grace time.Duration) (store.Rotation, error) {
	var (
		outcome error
		result  store.Rotation
	)
	err := s.group.do(func(tx *bolt.Tx) error {
		outcome, result = nil, store.Rotation{}
		var old store.RefreshToken
		ok, err := refreshTable.get(tx, now, []byte(oldID), &old)
		if err != nil {
			return err
		}
		var g store.Grant
		if ok {
			ok, err = grantsTable.get(tx, now, []byte(old.GrantID), &g)
			if err != nil {
				return err
			}
		}
		if !ok {
			outcome = fmt.Errorf("refresh token: %w", store.ErrNotFound)
			return nil
		}
		if !old.RotatedAt.IsZero() {
			if !store.WithinGrace(old.RotatedAt, now, grace) {
				outcome = store.ErrRefreshReused
				_, err := revokeGrant(tx, now, []byte(g.ID))
				return err
			}
			result.Grace, result.RotatedAt = true, old.RotatedAt
		} else {
			old.RotatedAt = now
			if err := refreshTable.put(tx, []byte(oldID), old.ExpiresAt, old); err != nil {
				return err
			}
		}
		next.GrantID = g.ID
		if err := refreshTable.put(tx, []byte(next.ID), next.ExpiresAt, next); err != nil {
			return err
		}
		live := g.AccessTokens[:0:0]
		for _, t := range g.AccessTokens {
			if t.ExpiresAt.After(now) {
				live = append(live, t)
			}
		}
		if at.JTI != "" {
			live = append(live, at)
		}
		g.AccessTokens, g.LastUsedAt = live, now
		result.Grant = g
		return grantsTable.put(tx, []byte(g.ID), g.ExpiresAt, g)
	})
	if err != nil {
		return store.Rotation{}, err
	}
	return result, outcome
}

// RevokeAccessToken remembers a revoked access token until it expires.
func (s *Store) RevokeAccessToken(ctx context.Context, t store.IssuedToken) error {
	if t.JTI == "" || t.ExpiresAt.IsZero() {
		return fmt.Errorf("revoke access token: jti and expiry are required")
	}
	return s.update(func(tx *bolt.Tx) error {
		return revokedTable.put(tx, []byte(t.JTI), t.ExpiresAt, t)
	})
}

// AccessTokenRevoked reports whether jti was revoked and has not expired.
func (s *Store) AccessTokenRevoked(ctx context.Context, jti string) (bool, error) {
	var revoked bool
	err := s.db.View(func(tx *bolt.Tx) error {
		revoked = revokedTable.exists(tx, s.now(), []byte(jti))
		return nil
	})
	return revoked, err
}
