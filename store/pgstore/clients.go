package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-dev/gatehouse/store"
)

// outcome carries a refusal out of a transaction function that still
// commits (or has nothing to roll back).
type outcome struct{ err error }

func (o outcome) Error() string { return o.err.Error() }

// CreateClient stores a new client or returns the live duplicate, in one
// transaction. Identical registrations (one dedup key) are serialised by a
// transaction-scoped advisory lock on the key, so a burst of them across
// instances leaves one record; different keys never wait on each other.
func (s *Store) CreateClient(ctx context.Context, c store.RegisteredClient, iatID string) (store.RegisteredClient, bool, error) {
	if c.ID == "" || c.ExpiresAt.IsZero() {
		return store.RegisteredClient{}, false, fmt.Errorf("create client: ID and expiry are required")
	}
	now := s.now()
	if iatID == "" {
		// The common case in one statement and round trip: no key holder
		// to merge into and no ID taken. ON CONFLICT DO NOTHING covers
		// both unique keys (id and dedup_key); a conflict takes the full
		// transaction below, which decides between merging, replacing an
		// expired record and refusing.
		tag, err := s.pool.Exec(ctx, `INSERT INTO dcr_clients (id, dedup_key, issued_at, expires_at, data)
			VALUES ($1, NULLIF($2, ''), $3, $4, $5) ON CONFLICT DO NOTHING`, c.ID, c.DedupKey, c.IssuedAt, c.ExpiresAt, c)
		if err != nil {
			return store.RegisteredClient{}, false, err
		}
		if tag.RowsAffected() == 1 {
			return c, true, nil
		}
	}
	var (
		stored  store.RegisteredClient
		created bool
	)
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		stored, created = store.RegisteredClient{}, false
		if iatID != "" {
			if err := useInitialAccessToken(ctx, tx, iatID, now); err != nil {
				return err
			}
		}
		if c.DedupKey != "" {
			if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext('gatehouse dcr dedup'), hashtext($1))", c.DedupKey); err != nil {
				return err
			}
			var dup store.RegisteredClient
			var isLive bool
			err := tx.QueryRow(ctx, "SELECT data, expires_at > $2 FROM dcr_clients WHERE dedup_key = $1 FOR UPDATE", c.DedupKey, now).Scan(&dup, &isLive)
			switch {
			case err == nil && isLive && !dup.Used():
				dup.MergeRegistrant(c.RegistrationTokenHash)
				dup.UpdatedAt, dup.ExpiresAt = c.UpdatedAt, c.ExpiresAt
				stored = dup
				_, err = tx.Exec(ctx, "UPDATE dcr_clients SET expires_at = $2, data = $3 WHERE id = $1", dup.ID, dup.ExpiresAt, dup)
				return err
			case err == nil:
				// An expired or used holder of the key: it no longer
				// deduplicates anything.
				if _, err := tx.Exec(ctx, "UPDATE dcr_clients SET dedup_key = NULL WHERE id = $1", dup.ID); err != nil {
					return err
				}
			case !errors.Is(err, pgx.ErrNoRows):
				return err
			}
		}
		tag, err := tx.Exec(ctx, `INSERT INTO dcr_clients AS t (id, dedup_key, issued_at, expires_at, data)
			VALUES (@id, NULLIF(@dedup, ''), @issued, @exp, @data)
			ON CONFLICT (id) DO UPDATE SET dedup_key = excluded.dedup_key, issued_at = excluded.issued_at,
				expires_at = excluded.expires_at, data = excluded.data
			WHERE t.expires_at <= @now`,
			pgx.NamedArgs{"id": c.ID, "dedup": c.DedupKey, "issued": c.IssuedAt, "exp": c.ExpiresAt, "data": c, "now": now})
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return outcome{fmt.Errorf("client %s: %w", c.ID, store.ErrConflict)}
		}
		stored, created = c, true
		return nil
	})
	var o outcome
	if errors.As(err, &o) {
		return store.RegisteredClient{}, false, o.err
	}
	if err != nil {
		return store.RegisteredClient{}, false, err
	}
	return stored, created, nil
}

// useInitialAccessToken consumes one use of a live token, deleting it with
// its last use.
func useInitialAccessToken(ctx context.Context, tx pgx.Tx, id string, now time.Time) error {
	var left int
	err := tx.QueryRow(ctx, `UPDATE dcr_initial_tokens SET uses_left = uses_left - 1,
			data = jsonb_set(data, '{uses_left}', to_jsonb(uses_left - 1))
		WHERE id = $1 AND uses_left > 0 AND expires_at > $2 RETURNING uses_left`, id, now).Scan(&left)
	if errors.Is(err, pgx.ErrNoRows) {
		return outcome{fmt.Errorf("initial access token: %w", store.ErrNotFound)}
	}
	if err == nil && left == 0 {
		_, err = tx.Exec(ctx, "DELETE FROM dcr_initial_tokens WHERE id = $1", id)
	}
	return err
}

// Client returns a live client.
func (s *Store) Client(ctx context.Context, id string) (store.RegisteredClient, error) {
	var c store.RegisteredClient
	err := s.getJSON(ctx, pgx.NamedArgs{"id": id}, "SELECT data FROM dcr_clients WHERE id = @id AND "+live, "client "+id, &c)
	return c, err
}

// UpdateClient replaces a live client's record.
func (s *Store) UpdateClient(ctx context.Context, c store.RegisteredClient) error {
	tag, err := s.pool.Exec(ctx, `UPDATE dcr_clients SET dedup_key = NULLIF(@dedup, ''), issued_at = @issued, expires_at = @exp, data = @data
		WHERE id = @id AND `+live,
		pgx.NamedArgs{"id": c.ID, "dedup": c.DedupKey, "issued": c.IssuedAt, "exp": c.ExpiresAt, "data": c, "now": s.now()})
	if err == nil && tag.RowsAffected() == 0 {
		err = fmt.Errorf("client %s: %w", c.ID, store.ErrNotFound)
	}
	return err
}

// DeleteClient removes a client, its approval record, and revokes its
// grants in one transaction.
func (s *Store) DeleteClient(ctx context.Context, id string) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		args := pgx.NamedArgs{"id": id, "now": s.now()}
		tag, err := tx.Exec(ctx, "DELETE FROM dcr_clients WHERE id = @id AND "+live, args)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("client %s: %w", id, store.ErrNotFound)
		}
		if _, err := tx.Exec(ctx, "DELETE FROM client_approvals WHERE client_id = @id", args); err != nil {
			return err
		}
		if _, err = revokeGrants(ctx, tx, "client_id = @id", args); err != nil {
			return err
		}
		// Client IDs are never reused: its consents would only take up space.
		_, err = tx.Exec(ctx, "DELETE FROM consents WHERE client_id = @id", args)
		return err
	})
}

// ListClients returns every live client (or every stored one), oldest
// first.
func (s *Store) ListClients(ctx context.Context, includeExpired bool) ([]store.RegisteredClient, error) {
	cond := live
	if includeExpired {
		cond = "true"
	}
	return listJSON[store.RegisteredClient](ctx, s.pool, "SELECT data FROM dcr_clients WHERE "+cond+" ORDER BY issued_at, id",
		pgx.NamedArgs{"now": s.now()})
}

// TouchClient records token activity, writing only when it matters.
func (s *Store) TouchClient(ctx context.Context, id string, now time.Time, idle time.Duration) error {
	var c store.RegisteredClient
	if err := s.pool.QueryRow(ctx, "SELECT data FROM dcr_clients WHERE id = @id AND "+live,
		pgx.NamedArgs{"id": id, "now": now}).Scan(&c); err != nil {
		return notFound(err, "client "+id)
	}
	if c.Used() && now.Sub(c.LastActiveAt) < time.Minute && c.ExpiresAt.Sub(now.Add(idle)) > -time.Minute {
		return nil // recorded recently enough
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		var cur store.RegisteredClient
		err := tx.QueryRow(ctx, "SELECT data FROM dcr_clients WHERE id = @id AND "+live+" FOR UPDATE",
			pgx.NamedArgs{"id": id, "now": now}).Scan(&cur)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // deleted meanwhile
		}
		if err != nil {
			return err
		}
		if !cur.Used() {
			cur.FirstTokenAt, cur.DedupKey = now, ""
		}
		cur.LastActiveAt, cur.ExpiresAt = now, now.Add(idle)
		_, err = tx.Exec(ctx, "UPDATE dcr_clients SET dedup_key = NULLIF($2, ''), expires_at = $3, data = $4 WHERE id = $1",
			id, cur.DedupKey, cur.ExpiresAt, cur)
		return err
	})
}

// CreateInitialAccessToken stores a new initial access token.
func (s *Store) CreateInitialAccessToken(ctx context.Context, t store.InitialAccessToken) error {
	if t.ID == "" || t.ExpiresAt.IsZero() || t.UsesLeft < 1 {
		return fmt.Errorf("initial access token: ID, expiry and uses are required")
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO dcr_initial_tokens (id, uses_left, expires_at, data) VALUES ($1, $2, $3, $4)
		ON CONFLICT (id) DO UPDATE SET uses_left = excluded.uses_left, expires_at = excluded.expires_at, data = excluded.data`,
		t.ID, t.UsesLeft, t.ExpiresAt, t)
	return err
}

// InitialAccessTokens lists live initial access tokens.
func (s *Store) InitialAccessTokens(ctx context.Context) ([]store.InitialAccessToken, error) {
	return listJSON[store.InitialAccessToken](ctx, s.pool, "SELECT data FROM dcr_initial_tokens WHERE "+live+" ORDER BY id",
		pgx.NamedArgs{"now": s.now()})
}
