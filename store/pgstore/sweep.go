package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gatehouse-dev/gatehouse/store"
)

// SweepBatch bounds how many rows one sweep statement deletes, so the
// sweeper never holds many row locks or writes a long transaction.
const SweepBatch = 1000

// sweptTables are the tables with an expires_at column the sweeper clears
// (dcr_clients is handled apart: its grants and consents go with it).
var sweptTables = []string{
	"sessions", "auth_codes", "grants", "refresh_tokens", "revoked_access_tokens",
	"assertion_ids", "dcr_initial_tokens", "signing_keys", "login_failures", "pending_requests",
}

// Sweep deletes every record whose expiry is at or before now, in batches
// of SweepBatch rows. Only one instance sweeps at a time: the others find
// the advisory lock taken and return at once with nothing removed
// (Skipped set), so N instances do not do the work N times.
func (s *Store) Sweep(ctx context.Context, now time.Time) (store.SweepResult, error) {
	var res store.SweepResult
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return res, err
	}
	defer conn.Release()
	var got bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", lockSweep).Scan(&got); err != nil {
		return res, err
	}
	if !got {
		res.Skipped = true
		return res, nil
	}
	defer func() {
		// A cancelled ctx must not leave the lock held on a pooled
		// connection: unlock with a fresh context, and drop the
		// connection if even that fails.
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, err := conn.Exec(uctx, "SELECT pg_advisory_unlock($1)", lockSweep); err != nil {
			conn.Conn().Close(uctx)
		}
	}()
	for _, table := range sweptTables {
		n, err := sweepTable(ctx, conn, table, now)
		res.Removed += n
		if err != nil {
			return res, fmt.Errorf("sweep %s: %w", table, err)
		}
	}
	for {
		ids, err := sweepClients(ctx, conn, now)
		res.Removed += len(ids)
		res.ExpiredClients = append(res.ExpiredClients, ids...)
		if err != nil {
			return res, fmt.Errorf("sweep dcr_clients: %w", err)
		}
		if len(ids) < SweepBatch {
			return res, nil
		}
	}
}

func sweepTable(ctx context.Context, conn *pgxpool.Conn, table string, now time.Time) (int, error) {
	total := 0
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		tag, err := conn.Exec(ctx, fmt.Sprintf(`DELETE FROM %[1]s WHERE ctid = ANY(ARRAY(
			SELECT ctid FROM %[1]s WHERE expires_at <= $1 LIMIT %[2]d FOR UPDATE SKIP LOCKED))`, table, SweepBatch), now)
		if err != nil {
			return total, err
		}
		n := int(tag.RowsAffected())
		total += n
		if n < SweepBatch {
			return total, nil
		}
	}
}

// sweepClients removes one batch of expired clients with their grants and
// approval records (as DeleteClient does), in one transaction, and returns their IDs.
func sweepClients(ctx context.Context, conn *pgxpool.Conn, now time.Time) ([]string, error) {
	var ids []string
	err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, fmt.Sprintf(`DELETE FROM dcr_clients WHERE id = ANY(ARRAY(
			SELECT id FROM dcr_clients WHERE expires_at <= $1 LIMIT %d FOR UPDATE SKIP LOCKED)) RETURNING id`, SweepBatch), now)
		if err != nil {
			return err
		}
		ids, err = pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil || len(ids) == 0 {
			return err
		}
		if _, err := tx.Exec(ctx, "DELETE FROM client_approvals WHERE client_id = ANY($1)", ids); err != nil {
			return err
		}
		if _, err = revokeGrants(ctx, tx, "client_id = ANY(@ids)", pgx.NamedArgs{"ids": ids, "now": now}); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, "DELETE FROM consents WHERE client_id = ANY($1)", ids)
		return err
	})
	return ids, err
}
