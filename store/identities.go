package store

import (
	"context"
	"time"
)

// Identity links a Gatehouse user to an account at an upstream identity
// provider (login.providers). The pair (Provider, Subject) is unique: one
// upstream account never maps to two users. The claims are those of the
// latest sign-in, kept so that admission rules and token claims can be
// applied again without the upstream (at refresh, for ID-JAG).
type Identity struct {
	// Provider is the login provider's id; Subject its stable user ID.
	Provider string `json:"provider"`
	Subject  string `json:"subject"`
	// UserID is the Gatehouse user (usr_…) the identity belongs to.
	UserID        string   `json:"user_id"`
	Username      string   `json:"username,omitempty"`
	Email         string   `json:"email,omitempty"`
	EmailVerified bool     `json:"email_verified,omitempty"`
	Name          string   `json:"name,omitempty"`
	Groups        []string `json:"groups,omitempty"`
	// LinkedAt is when the identity was linked; LastLoginAt when it last
	// signed in (zero: never, e.g. linked by an operator).
	LinkedAt    time.Time `json:"linked_at"`
	LastLoginAt time.Time `json:"last_login_at,omitzero"`
}

// IdentityStore persists linked identities.
type IdentityStore interface {
	// Identity returns the identity linked to (provider, subject).
	Identity(ctx context.Context, provider, subject string) (Identity, error)
	// IdentitiesByUser lists a user's identities ordered by provider and
	// subject.
	IdentitiesByUser(ctx context.Context, userID string) ([]Identity, error)
	// LinkIdentity links id to the existing user id.UserID. ErrConflict if
	// (provider, subject) is linked already (to anyone); ErrNotFound if
	// the user does not exist.
	LinkIdentity(ctx context.Context, id Identity) error
	// ProvisionUser creates u and links id to it in one transaction (just
	// in time, at a first sign-in). ErrConflict, with nothing stored, if
	// the name or ID is taken or the identity is linked already.
	ProvisionUser(ctx context.Context, u User, id Identity) error
	// UpdateIdentity replaces the claims and LastLoginAt of a linked
	// identity; the link itself (UserID, LinkedAt) is kept. ErrNotFound if
	// it is not linked.
	UpdateIdentity(ctx context.Context, id Identity) error
	// UnlinkIdentity removes the link. ErrNotFound if there is none.
	UnlinkIdentity(ctx context.Context, provider, subject string) error
}
