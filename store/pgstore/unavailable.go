package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gatehouse-dev/gatehouse/store"
)

// checkedPool is the connection pool with one change: an error that means the
// server cannot be reached, or is shutting down, comes back wrapped in
// store.ErrUnavailable (see unavailable), so that the server answers 503
// and the client retries. Every other method is pgxpool's.
type checkedPool struct{ *pgxpool.Pool }

func (p checkedPool) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	tag, err := p.Pool.Exec(ctx, sql, args...)
	return tag, unavailable(err)
}

func (p checkedPool) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	rows, err := p.Pool.Query(ctx, sql, args...)
	return rows, unavailable(err)
}

func (p checkedPool) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return checkedRow{p.Pool.QueryRow(ctx, sql, args...)}
}

func (p checkedPool) Begin(ctx context.Context) (pgx.Tx, error) {
	tx, err := p.Pool.Begin(ctx)
	return tx, unavailable(err)
}

type checkedRow struct{ pgx.Row }

func (r checkedRow) Scan(dest ...any) error { return unavailable(r.Row.Scan(dest...)) }

// unavailable wraps in store.ErrUnavailable the errors after which nothing
// was written and a retry may succeed once the database is back:
//
//   - no connection could be made (refused, no such socket, timed out,
//     authentication to a server that is starting);
//   - the server said it is shutting down, starting up or out of
//     connections (SQLSTATE class 08, 57P01-57P03, 53300);
//   - pgx reports the request was never sent (pgconn.SafeToRetry).
//
// A connection lost after a statement was sent stays a plain error: a
// COMMIT may have been applied, so "nothing was written" would not be
// known. SQL errors (constraints, syntax) are returned unchanged.
func unavailable(err error) error {
	if err == nil || errors.Is(err, store.ErrUnavailable) || !unreachable(err) {
		return err
	}
	return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
}

func unreachable(err error) bool {
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case len(pe.Code) == 5 && pe.Code[:2] == "08", // connection exception
			pe.Code == "57P01", pe.Code == "57P02", pe.Code == "57P03", // admin or crash shutdown, cannot connect now
			pe.Code == "53300": // too many connections
			return true
		}
		return false
	}
	return pgconn.SafeToRetry(err)
}
