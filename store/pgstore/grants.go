package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-dev/gatehouse/store"
)

// CreateGrant stores a grant (replacing one with the same ID, as bbolt).
func (s *Store) CreateGrant(ctx context.Context, g store.Grant) error {
	if err := checkGrant(g); err != nil {
		return err
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO grants (id, user_id, client_id, expires_at, data) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (id) DO UPDATE SET user_id = excluded.user_id, client_id = excluded.client_id,
			expires_at = excluded.expires_at, data = excluded.data`, g.ID, g.UserID, g.ClientID, g.ExpiresAt, g)
	return err
}

// Grant returns a live grant.
func (s *Store) Grant(ctx context.Context, id string) (store.Grant, error) {
	var g store.Grant
	err := s.getJSON(ctx, pgx.NamedArgs{"id": id}, "SELECT data FROM grants WHERE id = @id AND "+live, "grant", &g)
	return g, err
}

// GrantsByUser lists a user's live grants, oldest first.
func (s *Store) GrantsByUser(ctx context.Context, userID string) ([]store.Grant, error) {
	return listJSON[store.Grant](ctx, s.pool, "SELECT data FROM grants WHERE user_id = @owner AND "+live+" ORDER BY id",
		pgx.NamedArgs{"owner": userID, "now": s.now()})
}

// GrantsByClient lists a client's live grants, oldest first.
func (s *Store) GrantsByClient(ctx context.Context, clientID string) ([]store.Grant, error) {
	return listJSON[store.Grant](ctx, s.pool, "SELECT data FROM grants WHERE client_id = @owner AND "+live+" ORDER BY id",
		pgx.NamedArgs{"owner": clientID, "now": s.now()})
}

// ClientGrantCounts counts live grants per client.
func (s *Store) ClientGrantCounts(ctx context.Context) (map[string]int, error) {
	rows, err := s.pool.Query(ctx, "SELECT client_id, count(*) FROM grants WHERE "+live+" GROUP BY client_id",
		pgx.NamedArgs{"now": s.now()})
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	counts := map[string]int{}
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, err
		}
		counts[id] = n
	}
	return counts, rows.Err()
}

// RevokeGrant deletes a live grant and revokes its access tokens.
func (s *Store) RevokeGrant(ctx context.Context, id string) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		n, err := revokeGrants(ctx, tx, "id = @id AND expires_at > @now", pgx.NamedArgs{"id": id, "now": s.now()})
		if err == nil && n == 0 {
			err = fmt.Errorf("grant: %w", store.ErrNotFound)
		}
		return err
	})
}

// RevokeClientGrants revokes every grant of a client.
func (s *Store) RevokeClientGrants(ctx context.Context, clientID string) (int, error) {
	var n int
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		n, err = revokeGrants(ctx, tx, "client_id = @client", pgx.NamedArgs{"client": clientID, "now": s.now()})
		return err
	})
	return n, err
}

// RefreshToken returns a refresh token record until it expires.
func (s *Store) RefreshToken(ctx context.Context, id string) (store.RefreshToken, error) {
	var rt store.RefreshToken
	err := s.getJSON(ctx, pgx.NamedArgs{"id": id}, "SELECT data FROM refresh_tokens WHERE id = @id AND "+live, "refresh token", &rt)
	return rt, err
}

// RefreshTokenGrant returns a refresh token and its live grant in one
// statement.
func (s *Store) RefreshTokenGrant(ctx context.Context, id string) (store.RefreshToken, store.Grant, error) {
	var (
		rt store.RefreshToken
		g  store.Grant
	)
	err := s.pool.QueryRow(ctx, `SELECT r.data, g.data FROM refresh_tokens r
		JOIN grants g ON g.id = r.grant_id AND (g.expires_at IS NULL OR g.expires_at > $2)
		WHERE r.id = $1 AND (r.expires_at IS NULL OR r.expires_at > $2)`, id, s.now()).Scan(&rt, &g)
	if err != nil {
		return store.RefreshToken{}, store.Grant{}, notFound(err, "refresh token")
	}
	return rt, g, nil
}

// RefreshTokenGrantUser returns the token, its live grant and the grant's
// user (nil when there is none) in one statement.
func (s *Store) RefreshTokenGrantUser(ctx context.Context, id string) (store.RefreshToken, store.Grant, *store.User, error) {
	var (
		rt store.RefreshToken
		g  store.Grant
		u  *store.User
	)
	err := s.pool.QueryRow(ctx, `SELECT r.data, g.data, u.data FROM refresh_tokens r
		JOIN grants g ON g.id = r.grant_id AND (g.expires_at IS NULL OR g.expires_at > $2)
		LEFT JOIN users u ON u.id = g.user_id AND g.user_id <> ''
		WHERE r.id = $1 AND (r.expires_at IS NULL OR r.expires_at > $2)`, id, s.now()).Scan(&rt, &g, &u)
	if err != nil {
		return store.RefreshToken{}, store.Grant{}, nil, notFound(err, "refresh token")
	}
	return rt, g, u, nil
}

// rotateSQL is the common rotation - a live token never exchanged before,
// of a live grant - as one statement, so one round trip and one implicit
// transaction: it locks both rows as the transaction below does (token,
// then grant, in one scan), marks the old token, stores the new one and
// updates the grant (the access tokens still unexpired at @now, then the
// new one; last_used_at). A concurrent exchange of the same token waits
// for the lock, re-checks rotated_at IS NULL on the committed row and
// matches nothing. No row back means anything else (unknown, expired,
// already rotated: grace or reuse), which the transaction decides.
const rotateSQL = `
WITH locked AS (
	SELECT r.grant_id FROM refresh_tokens r
	JOIN grants g ON g.id = r.grant_id AND (g.expires_at IS NULL OR g.expires_at > @now)
	WHERE r.id = @old AND r.rotated_at IS NULL AND (r.expires_at IS NULL OR r.expires_at > @now)
	FOR UPDATE OF r, g),
old AS (
	UPDATE refresh_tokens SET rotated_at = @now, data = data || jsonb_build_object('rotated_at', @now_json::jsonb)
	WHERE id = @old AND grant_id = (SELECT grant_id FROM locked)
	RETURNING grant_id),
ins AS (
	INSERT INTO refresh_tokens (id, grant_id, rotated_at, expires_at, data)
	SELECT @next, grant_id, NULL, @next_exp, @next_data::jsonb || jsonb_build_object('grant_id', grant_id) FROM old)
UPDATE grants SET data = jsonb_set(jsonb_set(data, '{access_tokens}',
		COALESCE((SELECT jsonb_agg(t) FROM jsonb_array_elements(COALESCE(data->'access_tokens', '[]'::jsonb)) AS t
			WHERE (t->>'exp')::timestamptz > @now), '[]'::jsonb) || @at::jsonb),
	'{last_used_at}', @now_json::jsonb)
WHERE id = (SELECT grant_id FROM old)
RETURNING data`

// RotateRefreshToken exchanges a refresh token, accepts a rotated one
// within grace of its rotation, or revokes the grant when it was rotated
// longer ago. The common case is one statement (rotateSQL); the others
// take one transaction. Rows are locked refresh token first, then grant
// (no other path locks both), so instances presenting the same token
// serialise on it: each later one sees it rotated, with the first
// rotation's time, and store.WithinGrace decides as in every backend.
func (s *Store) RotateRefreshToken(ctx context.Context, oldID string, now time.Time, next store.RefreshToken, at store.IssuedToken, grace time.Duration) (store.Rotation, error) {
	issued := []store.IssuedToken{}
	if at.JTI != "" {
		issued = append(issued, at)
	}
	var g store.Grant
	err := retryOnConflict(func() error {
		return s.pool.QueryRow(ctx, rotateSQL, pgx.NamedArgs{"old": oldID, "now": now, "now_json": jsonTime(now),
			"next": next.ID, "next_exp": next.ExpiresAt, "next_data": next, "at": issued}).Scan(&g)
	})
	switch {
	case err == nil:
		return store.Rotation{Grant: g}, nil
	case !errors.Is(err, pgx.ErrNoRows):
		return store.Rotation{}, unavailable(err)
	}
	return s.rotateInTx(ctx, oldID, now, next, at, grace)
}

// rotateInTx is RotateRefreshToken for every case, in one transaction.
func (s *Store) rotateInTx(ctx context.Context, oldID string, now time.Time, next store.RefreshToken, at store.IssuedToken, grace time.Duration) (store.Rotation, error) {
	var result store.Rotation
	reused := false
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		result, reused = store.Rotation{}, false
		var old store.RefreshToken
		var g store.Grant
		// One statement locks both rows: the token, and the live grant it
		// belongs to. A concurrent exchange of the same token waits here
		// and then sees it rotated.
		err := tx.QueryRow(ctx, `SELECT r.data, g.data FROM refresh_tokens r
			JOIN grants g ON g.id = r.grant_id AND (g.expires_at IS NULL OR g.expires_at > @now)
			WHERE r.id = @id AND (r.expires_at IS NULL OR r.expires_at > @now)
			FOR UPDATE OF r, g`, pgx.NamedArgs{"id": oldID, "now": now}).Scan(&old, &g)
		if err != nil {
			return notFound(err, "refresh token")
		}
		if !old.RotatedAt.IsZero() {
			if !store.WithinGrace(old.RotatedAt, now, grace) {
				reused = true
				_, err := revokeGrants(ctx, tx, "id = @id", pgx.NamedArgs{"id": g.ID, "now": now})
				return err
			}
			result.Grace, result.RotatedAt = true, old.RotatedAt
		} else {
			old.RotatedAt = now
		}
		next.GrantID = g.ID
		liveTokens := g.AccessTokens[:0:0]
		for _, t := range g.AccessTokens {
			if t.ExpiresAt.After(now) {
				liveTokens = append(liveTokens, t)
			}
		}
		if at.JTI != "" {
			liveTokens = append(liveTokens, at)
		}
		g.AccessTokens, g.LastUsedAt = liveTokens, now
		// The three writes in one statement: the old token marked (unless
		// this is a grace use, which keeps the first rotation's time), the
		// new one stored, the grant updated.
		if _, err := tx.Exec(ctx, `WITH old AS (
				UPDATE refresh_tokens SET rotated_at = @rotated, data = @old_data WHERE id = @old AND NOT @grace),
			ins AS (
				INSERT INTO refresh_tokens (id, grant_id, rotated_at, expires_at, data) VALUES (@next, @grant, NULL, @next_exp, @next_data))
			UPDATE grants SET data = @grant_data WHERE id = @grant`, pgx.NamedArgs{
			"rotated": now, "old_data": old, "old": oldID, "grace": result.Grace,
			"next": next.ID, "grant": g.ID, "next_exp": next.ExpiresAt, "next_data": next, "grant_data": g,
		}); err != nil {
			return err
		}
		result.Grant = g
		return nil
	})
	if err != nil {
		return store.Rotation{}, err
	}
	if reused {
		return store.Rotation{}, store.ErrRefreshReused
	}
	return result, nil
}

// RevokeAccessToken remembers a revoked access token until it expires.
func (s *Store) RevokeAccessToken(ctx context.Context, t store.IssuedToken) error {
	if t.JTI == "" || t.ExpiresAt.IsZero() {
		return fmt.Errorf("revoke access token: jti and expiry are required")
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO revoked_access_tokens (jti, expires_at) VALUES ($1, $2)
		ON CONFLICT (jti) DO UPDATE SET expires_at = GREATEST(revoked_access_tokens.expires_at, excluded.expires_at)`, t.JTI, t.ExpiresAt)
	return err
}

// AccessTokenRevoked reports whether jti was revoked and has not expired.
func (s *Store) AccessTokenRevoked(ctx context.Context, jti string) (bool, error) {
	var revoked bool
	err := s.pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM revoked_access_tokens WHERE jti = @jti AND "+live+")",
		pgx.NamedArgs{"jti": jti, "now": s.now()}).Scan(&revoked)
	return revoked, err
}
