package pgstore

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-dev/gatehouse/store"
)

// Identity returns the identity linked to (provider, subject).
func (s *Store) Identity(ctx context.Context, provider, subject string) (store.Identity, error) {
	var id store.Identity
	err := s.pool.QueryRow(ctx, "SELECT data FROM identities WHERE provider = $1 AND subject = $2", provider, subject).Scan(&id)
	return id, notFound(err, "identity "+provider+"/"+subject)
}

// IdentitiesByUser lists a user's identities ordered by provider, subject.
func (s *Store) IdentitiesByUser(ctx context.Context, userID string) ([]store.Identity, error) {
	return listJSON[store.Identity](ctx, s.pool,
		`SELECT data FROM identities WHERE user_id = $1 ORDER BY provider COLLATE "C", subject COLLATE "C"`, userID)
}

// LinkIdentity links id to an existing user. The primary key makes a
// concurrent link of the same identity on another instance a conflict.
func (s *Store) LinkIdentity(ctx context.Context, id store.Identity) error {
	if err := checkIdentity(id); err != nil {
		return err
	}
	tag, err := s.pool.Exec(ctx, `INSERT INTO identities (provider, subject, user_id, data)
		SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM users WHERE id = $3)`, id.Provider, id.Subject, id.UserID, id)
	switch {
	case isUniqueViolation(err):
		return fmt.Errorf("identity %s/%s: %w", id.Provider, id.Subject, store.ErrConflict)
	case err != nil:
		return err
	case tag.RowsAffected() == 0:
		return fmt.Errorf("user id %s: %w", id.UserID, store.ErrNotFound)
	}
	return nil
}

// ProvisionUser creates u and links id to it in one transaction; either
// unique violation (name, ID, identity) rolls both back.
func (s *Store) ProvisionUser(ctx context.Context, u store.User, id store.Identity) error {
	if err := checkIdentity(id); err != nil {
		return err
	}
	if id.UserID != u.ID || u.Name == "" {
		return fmt.Errorf("provision user: identity names user %q, not %q (or the name is empty)", id.UserID, u.ID)
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "INSERT INTO identities (provider, subject, user_id, data) VALUES ($1, $2, $3, $4)",
			id.Provider, id.Subject, id.UserID, id); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "INSERT INTO users (id, name, data) VALUES ($1, $2, $3)", u.ID, u.Name, u)
		return err
	})
	if isUniqueViolation(err) {
		return fmt.Errorf("provision %s/%s as %q: %w", id.Provider, id.Subject, u.Name, store.ErrConflict)
	}
	return err
}

// UpdateIdentity replaces a linked identity's claims, keeping the link.
func (s *Store) UpdateIdentity(ctx context.Context, id store.Identity) error {
	tag, err := s.pool.Exec(ctx, `UPDATE identities SET data = $3::jsonb
		|| jsonb_build_object('user_id', data->'user_id', 'linked_at', data->'linked_at')
		WHERE provider = $1 AND subject = $2`, id.Provider, id.Subject, id)
	if err == nil && tag.RowsAffected() == 0 {
		err = fmt.Errorf("identity %s/%s: %w", id.Provider, id.Subject, store.ErrNotFound)
	}
	return err
}

// UnlinkIdentity removes a link.
func (s *Store) UnlinkIdentity(ctx context.Context, provider, subject string) error {
	tag, err := s.pool.Exec(ctx, "DELETE FROM identities WHERE provider = $1 AND subject = $2", provider, subject)
	if err == nil && tag.RowsAffected() == 0 {
		err = fmt.Errorf("identity %s/%s: %w", provider, subject, store.ErrNotFound)
	}
	return err
}

func checkIdentity(id store.Identity) error {
	if id.Provider == "" || id.Subject == "" || id.UserID == "" {
		return fmt.Errorf("identity: provider, subject and user ID are required")
	}
	return nil
}
