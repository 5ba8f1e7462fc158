package server

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
)

// MaxUsernameLen bounds login names.
const MaxUsernameLen = 64

// ErrBadCredentials is returned for an unknown user or a wrong password
// alike, so callers cannot tell them apart.
var ErrBadCredentials = errors.New("incorrect username or password")

// NormalizeUsername returns the canonical form of a login name: lower-case
// ASCII letters, digits and . _ @ + -, starting with a letter or digit.
// Names are compared in this form, so "Alice" signs in as "alice".
func NormalizeUsername(name string) (string, error) {
	n := strings.ToLower(name)
	if n == "" || len(n) > MaxUsernameLen {
		return "", fmt.Errorf("username must be 1 to %d characters", MaxUsernameLen)
	}
	for i, r := range n {
		alnum := r >= 'a' && r <= 'z' || r >= '0' && r <= '9'
		if i == 0 && !alnum {
			return "", errors.New("username must start with a letter or digit")
		}
		if !alnum && !strings.ContainsRune("._@+-", r) {
			return "", fmt.Errorf("username may contain only letters, digits and . _ @ + - (found %q)", r)
		}
	}
	return n, nil
}

// Accounts manages end-user accounts. Both the server (sign-in) and the
// CLI (gatehouse user ...) use it, so the rules live in one place.
type Accounts struct {
	Store  AccountStore
	Hasher *PasswordHasher
	Now    func() time.Time
}

// AccountStore is what account management needs from persistence: the
// users, their linked identities, their sessions (to sign them out) and
// their grants (to revoke).
type AccountStore interface {
	store.UserStore
	store.IdentityStore
	store.SessionStore
	GrantsByUser(ctx context.Context, userID string) ([]store.Grant, error)
	RevokeGrant(ctx context.Context, id string) error
}

// Add creates a user with a fresh random subject identifier.
func (a *Accounts) Add(ctx context.Context, name, password string) (store.User, error) {
	norm, err := NormalizeUsername(name)
	if err != nil {
		return store.User{}, err
	}
	if err := ValidatePassword(password); err != nil {
		return store.User{}, err
	}
	hash, err := a.Hasher.Hash(password)
	if err != nil {
		return store.User{}, err
	}
	now := a.Now()
	u := store.User{ID: newUserID(), Name: norm, PasswordHash: hash, CreatedAt: now, UpdatedAt: now}
	if err := a.Store.CreateUser(ctx, u); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return store.User{}, fmt.Errorf("user %q already exists", norm)
		}
		return store.User{}, err
	}
	return u, nil
}

// SignedOut says what signing a user out everywhere ended.
type SignedOut struct {
	// Sessions is the number of browser sessions ended.
	Sessions int `json:"sessions_ended"`
	// Grants is the number of grants revoked (with their refresh and
	// access tokens), when that was asked for.
	Grants int `json:"grants_revoked"`
}

// SetPassword replaces a user's password and signs the user out of every
// browser (ASVS V3.3.3: whoever knew the old password and signed in with
// it is signed out). With revokeGrants the applications the user approved
// lose their tokens too and must be authorized again.
func (a *Accounts) SetPassword(ctx context.Context, name, password string, revokeGrants bool) (SignedOut, error) {
	norm, err := NormalizeUsername(name)
	if err != nil {
		return SignedOut{}, err
	}
	if err := ValidatePassword(password); err != nil {
		return SignedOut{}, err
	}
	hash, err := a.Hasher.Hash(password)
	if err != nil {
		return SignedOut{}, err
	}
	if err := notFoundAsUser(a.Store.SetPassword(ctx, norm, hash, a.Now()), norm); err != nil {
		return SignedOut{}, err
	}
	return a.SignOut(ctx, norm, revokeGrants)
}

// SignOut signs a user out everywhere: every browser session ends, and
// with revokeGrants every grant the user gave is revoked with its tokens.
func (a *Accounts) SignOut(ctx context.Context, name string, revokeGrants bool) (SignedOut, error) {
	norm, err := NormalizeUsername(name)
	if err != nil {
		return SignedOut{}, err
	}
	u, err := a.Store.UserByName(ctx, norm)
	if err != nil {
		return SignedOut{}, notFoundAsUser(err, norm)
	}
	var out SignedOut
	if out.Sessions, err = a.Store.DeleteUserSessions(ctx, u.ID); err != nil || !revokeGrants {
		return out, err
	}
	grants, err := a.Store.GrantsByUser(ctx, u.ID)
	if err != nil {
		return out, err
	}
	for _, g := range grants {
		if err := a.Store.RevokeGrant(ctx, g.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return out, err
		}
		out.Grants++
	}
	return out, nil
}

// Delete removes a user and their sessions.
func (a *Accounts) Delete(ctx context.Context, name string) error {
	norm, err := NormalizeUsername(name)
	if err != nil {
		return err
	}
	return notFoundAsUser(a.Store.DeleteUser(ctx, norm), norm)
}

// Authenticate checks a name and password. An unknown or malformed name
// costs one full password verification, like a wrong password, and both
// return ErrBadCredentials.
func (a *Accounts) Authenticate(ctx context.Context, name, password string) (store.User, error) {
	norm, nameErr := NormalizeUsername(name)
	var u store.User
	err := nameErr
	if err == nil {
		u, err = a.Store.UserByName(ctx, norm)
	}
	// A user provisioned through an upstream provider has no password.
	if err != nil || len(password) > MaxPasswordLen || u.PasswordHash == "" {
		if err != nil && nameErr == nil && !errors.Is(err, store.ErrNotFound) {
			return store.User{}, err // the store failed: not a credential problem
		}
		a.Hasher.VerifyDummy(ctx, password)
		return store.User{}, ErrBadCredentials
	}
	ok, err := a.Hasher.Verify(ctx, u.PasswordHash, password)
	if err != nil {
		return store.User{}, err
	}
	if !ok {
		return store.User{}, ErrBadCredentials
	}
	return u, nil
}

func notFoundAsUser(err error, name string) error {
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no user named %q", name)
	}
	return err
}

// newUserID returns "usr_" and 128 random bits. Subjects never look like a
// URL, so they cannot collide with a CIMD client_id used as the subject of
// a client_credentials token (RFC 9700 §4.15).
func newUserID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return "usr_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}
