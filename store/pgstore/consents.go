package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-dev/gatehouse/store"
)

// PutConsent stores a consent, replacing the previous one.
func (s *Store) PutConsent(ctx context.Context, c store.Consent) error {
	if c.UserID == "" || c.ClientID == "" {
		return fmt.Errorf("consent: user and client are required")
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO consents (user_id, client_id, data) VALUES ($1, $2, $3)
		ON CONFLICT (user_id, client_id) DO UPDATE SET data = excluded.data`, c.UserID, c.ClientID, c)
	return err
}

// Consent returns the user's consent for the client.
func (s *Store) Consent(ctx context.Context, userID, clientID string) (store.Consent, error) {
	var c store.Consent
	err := s.pool.QueryRow(ctx, "SELECT data FROM consents WHERE user_id = $1 AND client_id = $2", userID, clientID).Scan(&c)
	return c, notFound(err, "consent")
}

// ConsentsByUser lists a user's consents, ordered by client ID.
func (s *Store) ConsentsByUser(ctx context.Context, userID string) ([]store.Consent, error) {
	return listJSON[store.Consent](ctx, s.pool, `SELECT data FROM consents WHERE user_id = $1 ORDER BY client_id COLLATE "C"`, userID)
}

// ClientHasConsent reports whether any user has a consent to the client
// (the consents_client_id index answers it).
func (s *Store) ClientHasConsent(ctx context.Context, clientID string) (bool, error) {
	var found bool
	err := s.pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM consents WHERE client_id = $1)", clientID).Scan(&found)
	return found, err
}

// RevokeConsent deletes a consent and the user's grants to that client in
// one transaction.
func (s *Store) RevokeConsent(ctx context.Context, userID, clientID string) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "DELETE FROM consents WHERE user_id = $1 AND client_id = $2", userID, clientID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("consent: %w", store.ErrNotFound)
		}
		_, err = revokeGrants(ctx, tx, "user_id = @user AND client_id = @client",
			pgx.NamedArgs{"user": userID, "client": clientID, "now": s.now()})
		return err
	})
}

// UseAssertionID records a client assertion's jti until it expires; the
// primary key makes a replay on another instance a conflict too.
func (s *Store) UseAssertionID(ctx context.Context, clientID, jti string, expiresAt time.Time) error {
	if jti == "" || expiresAt.IsZero() {
		return fmt.Errorf("assertion id: jti and expiry are required")
	}
	tag, err := s.pool.Exec(ctx, `INSERT INTO assertion_ids AS t (client_id, jti, expires_at) VALUES (@client, @jti, @exp)
		ON CONFLICT (client_id, jti) DO UPDATE SET expires_at = excluded.expires_at WHERE t.expires_at <= @now`,
		pgx.NamedArgs{"client": clientID, "jti": jti, "exp": expiresAt, "now": s.now()})
	if err == nil && tag.RowsAffected() == 0 {
		err = fmt.Errorf("assertion id: %w", store.ErrConflict)
	}
	return err
}
