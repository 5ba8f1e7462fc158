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
	expires_at = (SELECT GREATEST(GREATEST(f.updated_at, p.now) + (GREATEST(0, f.level - GREATEST(0, EXTRACT(EPOCH FROM (p.now - f.updated_at)) * 1000000) / p.leak) + 1) * p.leak * interval '1 microsecond', f.next_check_at) FROM p)
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

// reserveCheckSQL takes the account's next check slot in one statement:
// the row lock serialises concurrent reservations on every instance, each
// getting the slot after the last one taken. The WHERE clause refuses a
// slot more than maxwait away without writing anything (no row returned).
// GREATEST ignores a NULL next_check_at (no schedule yet). expires_at is
// kept at least at the new next slot, so the sweeper does not forget a
// schedule still running.
const reserveCheckSQL = `
INSERT INTO login_failures AS f (account, level, updated_at, expires_at, next_check_at)
VALUES (@account, 0, @now, @now::timestamptz + @every * interval '1 microsecond', @now::timestamptz + @every * interval '1 microsecond')
ON CONFLICT (account) DO UPDATE SET
	next_check_at = GREATEST(f.next_check_at, @now::timestamptz) + @every * interval '1 microsecond',
	expires_at = GREATEST(f.expires_at, GREATEST(f.next_check_at, @now::timestamptz) + @every * interval '1 microsecond')
WHERE GREATEST(f.next_check_at, @now::timestamptz) <= @now::timestamptz + @maxwait * interval '1 microsecond'
RETURNING next_check_at`

// ReserveLoginCheck takes account's next check slot under the per-account
// slowdown; the schedule is one row shared by every instance on the
// database, so N instances give a slowed account one check per slowdown,
// not N (store.NextLoginCheck is the rule).
func (s *Store) ReserveLoginCheck(ctx context.Context, account string, now time.Time, every, maxWait time.Duration) (time.Duration, bool, error) {
	now = now.Truncate(time.Microsecond) // timestamptz's precision: slots stay exactly every apart
	var next time.Time
	err := s.pool.QueryRow(ctx, reserveCheckSQL, pgx.NamedArgs{"account": account, "now": now,
		"every": float64(every.Microseconds()), "maxwait": float64(maxWait.Microseconds())}).Scan(&next)
	if err == nil {
		return max(0, next.Sub(now)-every), true, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return 0, false, err
	}
	// Refused: say how long the queue is, for Retry-After.
	var cur *time.Time
	if err := s.pool.QueryRow(ctx, "SELECT next_check_at FROM login_failures WHERE account = $1", account).Scan(&cur); err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return 0, false, err
	}
	wait := maxWait
	if cur != nil && cur.Sub(now) > wait {
		wait = cur.Sub(now)
	}
	return wait, false, nil
}
