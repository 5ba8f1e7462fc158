package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"
)

// Errors every backend returns (wrapped or bare) so callers can test them
// with errors.Is.
var (
	// ErrAlreadyRedeemed: the authorization code was redeemed before.
	ErrAlreadyRedeemed = errors.New("store: authorization code already redeemed")
	// ErrRefreshReused: a rotated refresh token was presented again; the
	// grant has been revoked.
	ErrRefreshReused = errors.New("store: refresh token reused")
	// ErrNotFound: no live record with that key. Expired records are
	// reported as not found even before the sweeper removes them.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict: a record with that key already exists.
	ErrConflict = errors.New("store: already exists")
	// ErrLocked: another process holds the data store.
	ErrLocked = errors.New("store: locked by another process")
	// ErrSchemaTooNew: the data was written by a newer Gatehouse.
	ErrSchemaTooNew = errors.New("store: schema version is newer than this binary supports")
	// ErrUnavailable: the backend cannot complete the operation now but
	// may later, with nothing written: the disk is full, or the database
	// server is unreachable. Callers answer 503 and let the client retry;
	// it is never a reason to believe a record is missing.
	ErrUnavailable = errors.New("store: temporarily unavailable")
)

// SweepResult says what a sweep removed.
type SweepResult struct {
	// Removed counts every record deleted.
	Removed int
	// ExpiredClients are the registered clients removed (unused or idle
	// past their expiry), for the audit log.
	ExpiredClients []string
	// Skipped is set when another process was sweeping the same data
	// (several instances on one database): this call removed nothing.
	Skipped bool
}

// SchemaVersion is the version of the persisted layout this code reads and
// writes. Backends record it on creation and refuse data written by a newer
// version.
const SchemaVersion = 1

// Store is everything Gatehouse persists. A backend implements all of it.
//
// Records carry JSON tags because the embedded backend stores them as JSON;
// changing a tag changes the persisted format and needs a schema migration.
type Store interface {
	KeyStore
	UserStore
	SessionStore
	MetaStore
	CodeStore
	GrantStore
	ConsentStore
	ReplayStore
	ClientStore
	IdentityStore
	ApprovalStore
	PendingRequestStore

	// Sweep deletes records whose expiry is at or before now. It is safe to
	// run concurrently with other operations.
	Sweep(ctx context.Context, now time.Time) (SweepResult, error)
	// Ping checks that the backend can serve reads (for /readyz).
	Ping(ctx context.Context) error
	// Close releases the backend (for bbolt: the file lock).
	Close() error
}

// MetaStore holds installation-wide values.
type MetaStore interface {
	// SchemaVersion returns the recorded schema version.
	SchemaVersion(ctx context.Context) (int, error)
	// Secret returns the named installation secret, storing generate()'s
	// result first if it does not exist yet. Atomic: two callers racing on a
	// new name both get the value that was stored.
	Secret(ctx context.Context, name string, generate func() ([]byte, error)) ([]byte, error)
}

// SigningKey is one of the server's token signing keys.
type SigningKey struct {
	// ID is the JWK "kid": the RFC 7638 thumbprint of the public key.
	ID        string `json:"id"`
	Algorithm string `json:"alg"`
	// PrivateKey is the PKCS #8 DER encoding of the private key.
	PrivateKey []byte    `json:"private_key"`
	CreatedAt  time.Time `json:"created_at"`
	// ActivatesAt is when the key starts signing (zero: at CreatedAt). A
	// key is published from CreatedAt, so with several instances it is in
	// every instance's JWKS before any of them signs with it.
	ActivatesAt time.Time `json:"activates_at,omitzero"`
	// RetiredAt is when a newer key takes over from this one (the newer
	// key's activation time); zero while no newer key exists.
	RetiredAt time.Time `json:"retired_at,omitzero"`
	// PublishUntil is when a retired key may leave the JWKS: after every
	// token it signed has expired. Zero while active. The sweeper removes
	// the key after this time.
	PublishUntil time.Time `json:"publish_until,omitzero"`
}

// Active reports whether no newer key has been rotated in: the key signs
// now or will (see SignsAt).
func (k SigningKey) Active() bool { return k.RetiredAt.IsZero() }

// SignsAt reports whether the key may sign a token at now: it has
// activated and has not been replaced yet.
func (k SigningKey) SignsAt(now time.Time) bool {
	start := k.ActivatesAt
	if start.IsZero() {
		start = k.CreatedAt
	}
	return !now.Before(start) && (k.RetiredAt.IsZero() || now.Before(k.RetiredAt))
}

// Activation is when the key starts signing: ActivatesAt, or CreatedAt.
func (k SigningKey) Activation() time.Time {
	if k.ActivatesAt.IsZero() {
		return k.CreatedAt
	}
	return k.ActivatesAt
}

// KeyStore persists signing keys.
type KeyStore interface {
	// SigningKeys returns every key not yet swept, newest first.
	SigningKeys(ctx context.Context) ([]SigningKey, error)
	// RotateSigningKey atomically stores next and retires every previously
	// active key at next's activation (RetiredAt = next.Activation()) with
	// PublishUntil = publishUntil: until then they keep signing, so a key
	// published ahead (ActivatesAt in the future) takes over on every
	// instance at the same moment. With no key stored yet it just stores
	// next. ErrConflict if a key with next's ID exists.
	RotateSigningKey(ctx context.Context, next SigningKey, publishUntil time.Time) error
	// CreateFirstSigningKey stores first only if no stored key is active
	// (RetiredAt zero), atomically, and reports whether it did: instances
	// starting together on an empty store end up signing with one key
	// that all of them publish, instead of each with its own key that the
	// others do not know yet. ErrConflict if a key with first's ID exists.
	CreateFirstSigningKey(ctx context.Context, first SigningKey) (bool, error)
}

// User is an end-user account: a password account (PasswordHash set) or
// one provisioned at a first sign-in through an upstream identity provider
// (no password; see Identity).
type User struct {
	// ID is the stable, random subject identifier ("sub"); a user deleted
	// and re-created under the same name gets a new ID.
	ID string `json:"id"`
	// Name is the login name, unique, already normalised by the caller.
	Name         string    `json:"name"`
	PasswordHash string    `json:"password_hash"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// UserStore persists accounts.
type UserStore interface {
	// CreateUser stores a new user; ErrConflict if the name or ID is taken.
	CreateUser(ctx context.Context, u User) error
	// UserByName returns the user with that login name.
	UserByName(ctx context.Context, name string) (User, error)
	// UserByID returns the user with that subject identifier.
	UserByID(ctx context.Context, id string) (User, error)
	// ListUsers returns every user ordered by name.
	ListUsers(ctx context.Context) ([]User, error)
	// SetPassword replaces the password hash of the named user.
	SetPassword(ctx context.Context, name, hash string, now time.Time) error
	// DeleteUser removes the named user with everything tied to them: login
	// sessions, consents, grants (as RevokeGrant does for each) and linked
	// identities.
	DeleteUser(ctx context.Context, name string) error
}

// Session is a signed-in browser. The ID is a hash of the cookie value, so
// a copy of the store does not yield usable cookies.
type Session struct {
	ID        string    `json:"id"`
	UserID    string    `json:"user_id"`
	AuthTime  time.Time `json:"auth_time"`
	ExpiresAt time.Time `json:"expires_at"`
	// AMR and ACR say how the user authenticated (RFC 8176 method values,
	// e.g. "pwd"; an upstream provider's own amr and acr), for ID tokens.
	AMR []string `json:"amr,omitempty"`
	ACR string   `json:"acr,omitempty"`
	// Credential identifies the user's password as it was when the
	// sign-in read the user (a digest of the stored hash, see
	// CredentialDigest). A session whose credential is no longer the
	// user's is void: a password change landing while a sign-in with the
	// old password was being checked must not leave that sign-in a
	// session. Empty on sessions stored before this field existed.
	Credential string `json:"credential,omitempty"`
}

// CredentialDigest is what Session.Credential and AuthCode.Credential
// hold for u: 16 bytes of SHA-256 over the stored password hash, hex. The
// hash has a fresh salt on every change, so any password change (even to
// the same password) changes it; a user without a password has one fixed
// value.
func CredentialDigest(u User) string {
	sum := sha256.Sum256([]byte("gatehouse credential v1\x00" + u.PasswordHash))
	return hex.EncodeToString(sum[:16])
}

// SessionStore persists login sessions.
type SessionStore interface {
	// CreateSession stores s; ErrConflict if the ID exists.
	CreateSession(ctx context.Context, s Session) error
	// Session returns the live session with that ID.
	Session(ctx context.Context, id string) (Session, error)
	// DeleteSession removes the session; deleting a missing one is no error.
	DeleteSession(ctx context.Context, id string) error
	// DeleteUserSessions signs the user out everywhere: it removes every
	// session of userID (none is no error) and returns how many there were.
	// A password change and `gatehouse admin users logout` use it
	// (ASVS V3.3.3).
	DeleteUserSessions(ctx context.Context, userID string) (int, error)
}
