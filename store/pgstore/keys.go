package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-dev/gatehouse/store"
)

// SigningKeys returns every unexpired key, newest first.
func (s *Store) SigningKeys(ctx context.Context) ([]store.SigningKey, error) {
	return listJSON[store.SigningKey](ctx, s.pool,
		"SELECT data FROM signing_keys WHERE "+live+" ORDER BY created_at DESC", pgx.NamedArgs{"now": s.now()})
}

// RotateSigningKey stores next as the active key and retires the others,
// in one transaction. The table lock serialises rotations started on
// several instances at once: each sees the other's key as the one to
// retire, and exactly one key ends up active.
func (s *Store) RotateSigningKey(ctx context.Context, next store.SigningKey, publishUntil time.Time) error {
	if next.ID == "" || !next.Active() {
		return fmt.Errorf("rotate: the new key needs an ID and must be active")
	}
	now := s.now()
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "LOCK TABLE signing_keys IN SHARE ROW EXCLUSIVE MODE"); err != nil {
			return err
		}
		var exists bool
		if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM signing_keys WHERE id = @id AND "+live+")",
			pgx.NamedArgs{"id": next.ID, "now": now}).Scan(&exists); err != nil {
			return err
		}
		if exists {
			return fmt.Errorf("signing key %s: %w", next.ID, store.ErrConflict)
		}
		if _, err := tx.Exec(ctx, `UPDATE signing_keys SET retired_at = @retired, expires_at = @until,
			data = data || jsonb_build_object('retired_at', @retired_json::jsonb, 'publish_until', @until_json::jsonb)
			WHERE retired_at IS NULL AND `+live, pgx.NamedArgs{
			"retired": next.Activation(), "until": nullTime(publishUntil), "now": now,
			"retired_json": jsonTime(next.Activation()), "until_json": jsonTime(publishUntil),
		}); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO signing_keys (id, created_at, retired_at, expires_at, data) VALUES ($1, $2, NULL, NULL, $3)
			ON CONFLICT (id) DO UPDATE SET created_at = excluded.created_at, retired_at = NULL, expires_at = NULL, data = excluded.data`,
			next.ID, next.CreatedAt, next)
		return err
	})
}

// CreateFirstSigningKey stores first unless an active key exists, in one
// transaction under the same table lock as RotateSigningKey, so that
// instances starting together on an empty database create one key.
func (s *Store) CreateFirstSigningKey(ctx context.Context, first store.SigningKey) (bool, error) {
	if first.ID == "" || !first.Active() {
		return false, fmt.Errorf("first key: it needs an ID and must be active")
	}
	created := false
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		created = false // inTx may run the function again
		if _, err := tx.Exec(ctx, "LOCK TABLE signing_keys IN SHARE ROW EXCLUSIVE MODE"); err != nil {
			return err
		}
		var exists, active bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM signing_keys WHERE id = @id AND `+live+`),
			EXISTS (SELECT 1 FROM signing_keys WHERE retired_at IS NULL AND `+live+`)`,
			pgx.NamedArgs{"id": first.ID, "now": s.now()}).Scan(&exists, &active); err != nil {
			return err
		}
		if exists {
			return fmt.Errorf("signing key %s: %w", first.ID, store.ErrConflict)
		}
		if active {
			return nil
		}
		if _, err := tx.Exec(ctx, `INSERT INTO signing_keys (id, created_at, retired_at, expires_at, data) VALUES ($1, $2, NULL, NULL, $3)
			ON CONFLICT (id) DO UPDATE SET created_at = excluded.created_at, retired_at = NULL, expires_at = NULL, data = excluded.data`,
			first.ID, first.CreatedAt, first); err != nil {
			return err
		}
		created = true
		return nil
	})
	return created && err == nil, err
}
