package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-dev/gatehouse/store"
)

// CreateUser stores a new user; the unique name and primary key make a
// concurrent duplicate on another instance a conflict too.
func (s *Store) CreateUser(ctx context.Context, u store.User) error {
	if u.ID == "" || u.Name == "" {
		return fmt.Errorf("create user: ID and name are required")
	}
	_, err := s.pool.Exec(ctx, "INSERT INTO users (id, name, data) VALUES ($1, $2, $3)", u.ID, u.Name, u)
	if isUniqueViolation(err) {
		return fmt.Errorf("user %q: %w", u.Name, store.ErrConflict)
	}
	return err
}

// UserByName returns the user with that login name.
func (s *Store) UserByName(ctx context.Context, name string) (store.User, error) {
	var u store.User
	err := s.pool.QueryRow(ctx, "SELECT data FROM users WHERE name = $1", name).Scan(&u)
	return u, notFound(err, fmt.Sprintf("user %q", name))
}

// UserByID returns the user with that subject identifier.
func (s *Store) UserByID(ctx context.Context, id string) (store.User, error) {
	var u store.User
	err := s.pool.QueryRow(ctx, "SELECT data FROM users WHERE id = $1", id).Scan(&u)
	return u, notFound(err, "user id "+id)
}

// ListUsers returns every user ordered by name.
func (s *Store) ListUsers(ctx context.Context) ([]store.User, error) {
	return listJSON[store.User](ctx, s.pool, "SELECT data FROM users ORDER BY name COLLATE \"C\"")
}

// SetPassword replaces the password hash of the named user.
func (s *Store) SetPassword(ctx context.Context, name, hash string, now time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE users SET data = data || jsonb_build_object('password_hash', $2::text, 'updated_at', $3::jsonb)
		WHERE name = $1`, name, hash, jsonTime(now))
	if err == nil && tag.RowsAffected() == 0 {
		err = fmt.Errorf("user %q: %w", name, store.ErrNotFound)
	}
	return err
}

// DeleteUser removes the named user with their sessions, consents and
// grants, in one transaction.
func (s *Store) DeleteUser(ctx context.Context, name string) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		var id string
		if err := tx.QueryRow(ctx, "DELETE FROM users WHERE name = $1 RETURNING id", name).Scan(&id); err != nil {
			return notFound(err, fmt.Sprintf("user %q", name))
		}
		args := pgx.NamedArgs{"user": id, "now": s.now()}
		if _, err := tx.Exec(ctx, "DELETE FROM sessions WHERE user_id = @user", args); err != nil {
			return err
		}
		if _, err := revokeGrants(ctx, tx, "user_id = @user", args); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "DELETE FROM identities WHERE user_id = @user", args); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "DELETE FROM consents WHERE user_id = @user", args)
		return err
	})
}

// jsonTime encodes t the way encoding/json does (RFC 3339 with
// nanoseconds), for patches of a record's JSON.
func jsonTime(t time.Time) string {
	b, _ := t.MarshalJSON()
	return string(b)
}
