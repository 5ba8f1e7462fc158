package pgstore

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-dev/gatehouse/store"
)

// CreateSession stores a new session. An expired session with the same ID
// that the sweeper has not removed yet is replaced, as in bbolt.
func (s *Store) CreateSession(ctx context.Context, sess store.Session) error {
	if sess.ID == "" || sess.UserID == "" || sess.ExpiresAt.IsZero() {
		return fmt.Errorf("create session: ID, user and expiry are required")
	}
	tag, err := s.pool.Exec(ctx, `INSERT INTO sessions AS t (id, user_id, expires_at, data) VALUES (@id, @user, @exp, @data)
		ON CONFLICT (id) DO UPDATE SET user_id = excluded.user_id, expires_at = excluded.expires_at, data = excluded.data
		WHERE t.expires_at <= @now`,
		pgx.NamedArgs{"id": sess.ID, "user": sess.UserID, "exp": sess.ExpiresAt, "data": sess, "now": s.now()})
	if err == nil && tag.RowsAffected() == 0 {
		err = fmt.Errorf("session: %w", store.ErrConflict)
	}
	return err
}

// Session returns the live session with that ID.
func (s *Store) Session(ctx context.Context, id string) (store.Session, error) {
	var sess store.Session
	err := s.getJSON(ctx, pgx.NamedArgs{"id": id}, "SELECT data FROM sessions WHERE id = @id AND "+live, "session", &sess)
	return sess, err
}

// DeleteSession removes the session if it exists.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	_, err := s.pool.Exec(ctx, "DELETE FROM sessions WHERE id = $1", id)
	return err
}

// DeleteUserSessions removes every session of the user.
func (s *Store) DeleteUserSessions(ctx context.Context, userID string) (int, error) {
	tag, err := s.pool.Exec(ctx, "DELETE FROM sessions WHERE user_id = $1", userID)
	return int(tag.RowsAffected()), err
}
