package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-dev/gatehouse/store"
)

// ClientApproval returns a client's approval record.
func (s *Store) ClientApproval(ctx context.Context, clientID string) (store.ClientApproval, error) {
	var a store.ClientApproval
	err := notFound(s.pool.QueryRow(ctx, "SELECT data FROM client_approvals WHERE client_id = $1", clientID).Scan(&a), "client approval")
	return a, err
}

// ClientApprovals lists every approval record, oldest request first.
func (s *Store) ClientApprovals(ctx context.Context) ([]store.ClientApproval, error) {
	return listJSON[store.ClientApproval](ctx, s.pool, "SELECT data FROM client_approvals ORDER BY requested_at, client_id")
}

// lockApproval serialises every change to one client's approval record,
// across instances, for the rest of the transaction: a missing row cannot
// be locked with FOR UPDATE, and the first request must queue it once.
func lockApproval(ctx context.Context, tx pgx.Tx, clientID string) (store.ClientApproval, bool, error) {
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext('gatehouse client approval'), hashtext($1))", clientID); err != nil {
		return store.ClientApproval{}, false, err
	}
	var cur store.ClientApproval
	err := tx.QueryRow(ctx, "SELECT data FROM client_approvals WHERE client_id = $1", clientID).Scan(&cur)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.ClientApproval{}, false, nil
	}
	return cur, err == nil, err
}

func putApproval(ctx context.Context, tx pgx.Tx, a store.ClientApproval) error {
	_, err := tx.Exec(ctx, `INSERT INTO client_approvals (client_id, state, requested_at, data) VALUES ($1, $2, $3, $4)
		ON CONFLICT (client_id) DO UPDATE SET state = excluded.state, requested_at = excluded.requested_at, data = excluded.data`,
		a.ClientID, a.State, a.RequestedAt, a)
	return err
}

// RequestClientApproval records a client's appearance (see
// store.ApprovalStore), deciding with store.NextApproval.
func (s *Store) RequestClientApproval(ctx context.Context, a store.ClientApproval) (store.ClientApproval, bool, error) {
	if a.ClientID == "" || a.Fingerprint == "" {
		return store.ClientApproval{}, false, fmt.Errorf("request client approval: client ID and fingerprint are required")
	}
	var (
		stored store.ClientApproval
		queued bool
	)
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		cur, ok, err := lockApproval(ctx, tx, a.ClientID)
		if err != nil {
			return err
		}
		next, changed, q := store.NextApproval(cur, ok, a)
		stored, queued = next, q
		if !changed {
			return nil
		}
		return putApproval(ctx, tx, next)
	})
	if err != nil {
		return store.ClientApproval{}, false, err
	}
	return stored, queued, nil
}

// DecideClientApproval applies an administrator's decision (see
// store.ApprovalStore), deciding with store.Decide; a block revokes the
// client's grants in the same transaction.
func (s *Store) DecideClientApproval(ctx context.Context, d store.ClientDecision) (store.ClientApproval, int, error) {
	var (
		stored  store.ClientApproval
		revoked int
	)
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		cur, ok, err := lockApproval(ctx, tx, d.ClientID)
		if err != nil {
			return err
		}
		next, err := store.Decide(cur, ok, d)
		if err != nil {
			return outcome{err}
		}
		if err := putApproval(ctx, tx, next); err != nil {
			return err
		}
		stored = next
		if next.State == store.ApprovalBlocked {
			revoked, err = revokeGrants(ctx, tx, "client_id = @id", pgx.NamedArgs{"id": d.ClientID, "now": s.now()})
		}
		return err
	})
	var o outcome
	if errors.As(err, &o) {
		return store.ClientApproval{}, 0, o.err
	}
	if err != nil {
		return store.ClientApproval{}, 0, err
	}
	return stored, revoked, nil
}
