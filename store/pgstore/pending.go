package pgstore

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-dev/gatehouse/store"
)

// CreatePendingRequest stores a pending authorization request. An expired
// one with the same ID that the sweeper has not removed yet is replaced,
// as in bbolt.
func (s *Store) CreatePendingRequest(ctx context.Context, p store.PendingRequest) error {
	if p.ID == "" || p.ExpiresAt.IsZero() {
		return fmt.Errorf("create pending request: ID and expiry are required")
	}
	tag, err := s.pool.Exec(ctx, `INSERT INTO pending_requests AS t (id, expires_at, data) VALUES (@id, @exp, @data)
		ON CONFLICT (id) DO UPDATE SET expires_at = excluded.expires_at, data = excluded.data
		WHERE t.expires_at <= @now`,
		pgx.NamedArgs{"id": p.ID, "exp": p.ExpiresAt, "data": p, "now": s.now()})
	if err != nil {
		return unavailable(err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("pending request: %w", store.ErrConflict)
	}
	return nil
}

// PendingRequest returns a pending authorization request until it expires.
func (s *Store) PendingRequest(ctx context.Context, id string) (store.PendingRequest, error) {
	var p store.PendingRequest
	err := s.getJSON(ctx, pgx.NamedArgs{"id": id}, "SELECT data FROM pending_requests WHERE id = @id AND "+live, "pending request", &p)
	return p, err
}
