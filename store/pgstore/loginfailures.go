package pgstore

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-dev/gatehouse/store"
)

var _ store.LoginFailureStore = (*Store)(nil)

// addFailureSQL drains the account's level to now and adds one failure, in
// one statement: concurrent failures on any number of instances serialise
// on the row and are all counted. updated_at never moves backwards (a clock
// stepping back must not re-drain the level), and expires_at, when the
// level will have drained to zero, lets the sweeper forget the account.
const addFailureSQL = `
WITH p AS (SELECT @account::text AS account, @now::timestamptz AS now, @leak::float8 AS leak)
INSERT INTO login_failures AS f (account, level, updated_at, expires_at)
SELECT account, 1, now, now + leak * interval '1 microsecond' FROM p
ON CONFLICT (account) DO UPDATE SET
	level = (SELECT GREATEST(0, f.level - GREATEST(0, EXTRACT(EPOCH FROM (p.now - f.updated_at)) * 1000000) / p.leak) + 1 FROM p),
	updated_at = (SELECT GREATEST(f.updated_at, p.now) FROM p),
	expires_at = (SELECT GREATEST(f.updated_at, p.now) + (GREATEST(0, f.level - GREATEST(0, EXTRACT(EPOCH FROM (p.now - f.updated_at)) * 1000000) / p.leak) + 1) * p.leak * interval '1 microsecond' FROM p)
RETURNING level`

// AddLoginFailure records one failed sign-in for account at now; the count
// is shared by every instance on the database, so a guesser spreading
// attempts over instances gets one allowance, not one per instance.
func (s *Store) AddLoginFailure(ctx context.Context, account string, now time.Time, leak time.Duration) (float64, error) {
	var level float64
	err := s.pool.QueryRow(ctx, addFailureSQL, pgx.NamedArgs{"account": account, "now": now, "leak": float64(leak.Microseconds())}).Scan(&level)
	return level, err
}

// LoginFailureLevel returns account's level at now without writing.
func (s *Store) LoginFailureLevel(ctx context.Context, account string, now time.Time, leak time.Duration) (float64, error) {
	var level float64
	var at time.Time
	err := s.pool.QueryRow(ctx, "SELECT level, updated_at FROM login_failures WHERE account = $1", account).Scan(&level, &at)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return store.DrainedLevel(level, at, now, leak), nil
}
