package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/gatehouse-dev/gatehouse/store"
)

// live is the predicate of a record that has not expired at $now. Every
// query that hides expired records takes the store's clock as a parameter
// (never the database's now()), so tests can move time and instances
// agree with their own clocks, as bbolt does.
const live = "(expires_at IS NULL OR expires_at > @now)"

// inTx runs fn in a READ COMMITTED transaction, retrying (a few times) the
// rare serialization failure or deadlock PostgreSQL resolves by aborting
// one side. fn must therefore be safe to run again.
func (s *Store) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return unavailable(retryOnConflict(func() error { return pgx.BeginFunc(ctx, s.pool, fn) }))
}

// retryOnConflict runs fn (a transaction, or one statement in its implicit
// transaction) until it ends other than in a serialization failure or a
// deadlock, at most five times.
func retryOnConflict(fn func() error) error {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		if err = fn(); !retryable(err) {
			return err
		}
	}
	return err
}

func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// nullTime maps the zero time to SQL NULL.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

// notFound wraps store.ErrNotFound, turning pgx.ErrNoRows into it.
func notFound(err error, what string) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return err
}

// getJSON reads one record's data column into out.
func (s *Store) getJSON(ctx context.Context, q pgx.NamedArgs, sql, what string, out any) error {
	q["now"] = s.now()
	return notFound(s.pool.QueryRow(ctx, sql, q).Scan(out), what)
}

// listJSON collects the data column of every row into a slice.
func listJSON[T any](ctx context.Context, db interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, sql string, args ...any) ([]T, error) {
	rows, err := db.Query(ctx, sql, args...)
	if err != nil {
		return nil, unavailable(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (T, error) {
		var v T
		err := r.Scan(&v)
		return v, err
	})
	return out, unavailable(err)
}

// revokeGrantsSQL deletes the grants selected by the condition in %s and
// remembers their unexpired access tokens as revoked, in one statement;
// it returns how many of the deleted grants were live. Grants already
// expired go too (nothing could use them) but are not counted.
const revokeGrantsSQL = `
WITH g AS (DELETE FROM grants WHERE %s RETURNING expires_at, data),
ins AS (
	INSERT INTO revoked_access_tokens (jti, expires_at)
	SELECT t->>'jti', (t->>'exp')::timestamptz
	FROM g, jsonb_array_elements(COALESCE(g.data->'access_tokens', '[]'::jsonb)) AS t
	WHERE g.expires_at > @now AND (t->>'exp')::timestamptz > @now
	ON CONFLICT (jti) DO NOTHING)
SELECT count(*) FROM g WHERE g.expires_at > @now`

// revokeGrants runs revokeGrantsSQL with cond (which may use @now and the
// other named args).
func revokeGrants(ctx context.Context, tx pgx.Tx, cond string, args pgx.NamedArgs) (int, error) {
	var n int
	err := tx.QueryRow(ctx, fmt.Sprintf(revokeGrantsSQL, cond), args).Scan(&n)
	return n, err
}
