package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-dev/gatehouse/store"
)

// CreateCode stores a new authorization code.
func (s *Store) CreateCode(ctx context.Context, c store.AuthCode) error {
	if c.ID == "" || c.KeepUntil.IsZero() {
		return fmt.Errorf("create code: ID and KeepUntil are required")
	}
	tag, err := s.pool.Exec(ctx, `INSERT INTO auth_codes AS t (id, code_expires_at, redeemed_at, expires_at, data)
		VALUES (@id, @code_exp, @redeemed, @keep, @data)
		ON CONFLICT (id) DO UPDATE SET code_expires_at = excluded.code_expires_at, redeemed_at = excluded.redeemed_at,
			expires_at = excluded.expires_at, data = excluded.data
		WHERE t.expires_at <= @now`,
		pgx.NamedArgs{"id": c.ID, "code_exp": c.ExpiresAt, "redeemed": nullTime(c.RedeemedAt), "keep": c.KeepUntil, "data": c, "now": s.now()})
	if err == nil && tag.RowsAffected() == 0 {
		err = fmt.Errorf("code: %w", store.ErrConflict)
	}
	return err
}

// Code returns a code record until it is swept.
func (s *Store) Code(ctx context.Context, id string) (store.AuthCode, error) {
	var c store.AuthCode
	err := s.getJSON(ctx, pgx.NamedArgs{"id": id}, "SELECT data FROM auth_codes WHERE id = @id AND "+live, "code", &c)
	return c, err
}

// CodeUser returns the code and its user (nil when there is none) in one
// statement.
func (s *Store) CodeUser(ctx context.Context, id string) (store.AuthCode, *store.User, error) {
	var (
		c store.AuthCode
		u *store.User
	)
	err := s.pool.QueryRow(ctx, `SELECT c.data, u.data FROM auth_codes c
		LEFT JOIN users u ON u.id = c.data->>'user_id' AND c.data->>'user_id' <> ''
		WHERE c.id = $1 AND (c.expires_at IS NULL OR c.expires_at > $2)`, id, s.now()).Scan(&c, &u)
	if err != nil {
		return store.AuthCode{}, nil, notFound(err, "code")
	}
	return c, u, nil
}

// redeemSQL marks the code redeemed and stores the grant and its first
// refresh token in one statement, so one round trip and one implicit
// transaction. The UPDATE's condition is the single-use rule: of two
// concurrent redemptions (on any instances), the second waits for the
// first's row lock, re-checks redeemed_at IS NULL on the committed row and
// matches nothing, so its grant and refresh token are never inserted.
const redeemSQL = `
WITH c AS (
	UPDATE auth_codes SET redeemed_at = @now, data = data || jsonb_build_object('redeemed_at', @now_json::jsonb, 'grant_id', @grant::text)
	WHERE id = @id AND redeemed_at IS NULL AND code_expires_at > @now AND expires_at > @now
	RETURNING id),
g AS (
	INSERT INTO grants (id, user_id, client_id, expires_at, data)
	SELECT @grant, @user, @client, @grant_exp, @grant_data FROM c),
r AS (
	INSERT INTO refresh_tokens (id, grant_id, rotated_at, expires_at, data)
	SELECT @rt, @grant, NULL, @rt_exp, @rt_data FROM c WHERE @rt::text <> '')
SELECT count(*) FROM c`

// RedeemCode marks the code redeemed and stores the grant it issues.
func (s *Store) RedeemCode(ctx context.Context, id string, now time.Time, g store.Grant, rt store.RefreshToken) error {
	if err := checkGrant(g); err != nil {
		return err
	}
	rt.GrantID = g.ID
	var n int
	err := s.pool.QueryRow(ctx, redeemSQL, pgx.NamedArgs{
		"id": id, "now": now, "now_json": jsonTime(now),
		"grant": g.ID, "user": g.UserID, "client": g.ClientID, "grant_exp": g.ExpiresAt, "grant_data": g,
		"rt": rt.ID, "rt_exp": rt.ExpiresAt, "rt_data": rt,
	}).Scan(&n)
	if err != nil || n == 1 {
		return err
	}
	// Nothing matched: say why, in the order bbolt checks.
	var redeemed bool
	err = s.pool.QueryRow(ctx, `SELECT redeemed_at IS NOT NULL FROM auth_codes
		WHERE id = $1 AND expires_at > $2 AND code_expires_at > $2`, id, now).Scan(&redeemed)
	switch {
	case err == pgx.ErrNoRows:
		return fmt.Errorf("code: %w", store.ErrNotFound)
	case err != nil:
		return err
	case redeemed:
		return fmt.Errorf("code: %w", store.ErrAlreadyRedeemed)
	default: // redeemed and then swept between the two statements? report it as gone
		return fmt.Errorf("code: %w", store.ErrNotFound)
	}
}

func checkGrant(g store.Grant) error {
	if g.ID == "" || g.ClientID == "" || g.ExpiresAt.IsZero() {
		return fmt.Errorf("grant: ID, client and expiry are required")
	}
	return nil
}
