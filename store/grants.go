package store

import (
	"context"
	"time"

	"github.com/gatehouse-dev/gatehouse/oauth"
)

// AuthCode is an authorization code (OAuth 2.1 §4.1.2). Codes, grants and
// refresh tokens are keyed by time-ordered IDs, so a burst of inserts lands
// on the same few B-tree pages (one commit writes a few pages, not one per
// insert); the secret part of the token is stored only as a hash.
type AuthCode struct {
	ID string `json:"id"`
	// SecretHash is the SHA-256 of the code's secret part: the store holds
	// nothing that would let a reader redeem the code.
	SecretHash  string `json:"secret_hash"`
	ClientID    string `json:"client_id"`
	RedirectURI string `json:"redirect_uri"`
	// RedirectURIGiven records whether the authorization request carried
	// redirect_uri, which makes it required at the token endpoint.
	RedirectURIGiven bool     `json:"redirect_uri_given,omitempty"`
	UserID           string   `json:"user_id"`
	Scopes           []string `json:"scopes,omitempty"`
	Resources        []string `json:"resources"`
	CodeChallenge    string   `json:"code_challenge"`
	// Nonce is the OpenID Connect nonce of the request, and AMR and ACR
	// how the user authenticated (from the session), for the ID token.
	Nonce    string    `json:"nonce,omitempty"`
	AMR      []string  `json:"amr,omitempty"`
	ACR      string    `json:"acr,omitempty"`
	AuthTime time.Time `json:"auth_time"`
	// Credential is the session's (Session.Credential): the code is
	// refused at the token endpoint once the user's password changed, so
	// a code held in reserve does not outlive a password change.
	Credential string    `json:"credential,omitempty"`
	IssuedAt   time.Time `json:"issued_at"`
	// ExpiresAt ends the code's validity.
	ExpiresAt time.Time `json:"expires_at"`
	// KeepUntil is when the record is swept; after ExpiresAt it still
	// serves replay detection.
	KeepUntil time.Time `json:"keep_until"`
	// RedeemedAt and GrantID are set when the code is exchanged.
	RedeemedAt time.Time `json:"redeemed_at,omitzero"`
	GrantID    string    `json:"grant_id,omitempty"`
}

// Redeemed reports whether the code was exchanged.
func (c AuthCode) Redeemed() bool { return !c.RedeemedAt.IsZero() }

// CodeStore persists authorization codes.
type CodeStore interface {
	// CreateCode stores a new code; ErrConflict if the ID exists.
	CreateCode(ctx context.Context, c AuthCode) error
	// Code returns the code record (redeemed or not) until KeepUntil.
	Code(ctx context.Context, id string) (AuthCode, error)
	// CodeUser is Code with the code's user in the same read (the code
	// exchange needs both): user is nil when the code names no user or its
	// user no longer exists.
	CodeUser(ctx context.Context, id string) (AuthCode, *User, error)
	// RedeemCode atomically marks the code redeemed at now by grant g and
	// stores g together with its first refresh token rt (rt.ID may be
	// empty: no refresh token). It fails with ErrAlreadyRedeemed if the code
	// was redeemed before, and ErrNotFound if it is gone or expired. One
	// commit, shared with concurrent exchanges.
	RedeemCode(ctx context.Context, id string, now time.Time, g Grant, rt RefreshToken) error
}

// IssuedToken identifies an access token a grant issued, so revoking the
// grant can revoke the token too.
type IssuedToken struct {
	JTI       string    `json:"jti"`
	ExpiresAt time.Time `json:"exp"`
}

// Grant is what a user (or, for client_credentials, nobody) authorized a
// client to do: it outlives codes and refresh tokens, which point to it.
type Grant struct {
	ID        string    `json:"id"`
	ClientID  string    `json:"client_id"`
	UserID    string    `json:"user_id"`
	Scopes    []string  `json:"scopes,omitempty"`
	Resources []string  `json:"resources"`
	AuthTime  time.Time `json:"auth_time"`
	CreatedAt time.Time `json:"created_at"`
	// ExpiresAt is the absolute end of the grant (refresh token maximum).
	ExpiresAt  time.Time `json:"expires_at"`
	LastUsedAt time.Time `json:"last_used_at"`
	// AccessTokens are the unexpired access tokens the grant issued.
	AccessTokens []IssuedToken `json:"access_tokens,omitempty"`
}

// RefreshToken is an opaque refresh token: a time-ordered ID and a secret
// whose SHA-256 is all the store keeps.
type RefreshToken struct {
	ID         string `json:"id"`
	SecretHash string `json:"secret_hash"`
	GrantID    string `json:"grant_id"`
	// ExpiresAt is the idle expiry, never after the grant's.
	ExpiresAt time.Time `json:"expires_at"`
	CreatedAt time.Time `json:"created_at"`
	// RotatedAt is set once the token has been exchanged; presenting it
	// again is reuse (RFC 9700 §4.14.2).
	RotatedAt time.Time `json:"rotated_at,omitzero"`
}

// Rotation is the outcome of a successful RotateRefreshToken.
type Rotation struct {
	// Grant is the grant as updated.
	Grant Grant
	// Grace reports that the presented token had been rotated already and
	// was accepted within the grace period; RotatedAt is when it was first
	// rotated.
	Grace     bool
	RotatedAt time.Time
}

// GrantStore persists grants and their refresh tokens.
type GrantStore interface {
	// Grant returns a live grant.
	Grant(ctx context.Context, id string) (Grant, error)
	// GrantsByUser and GrantsByClient list live grants.
	GrantsByUser(ctx context.Context, userID string) ([]Grant, error)
	GrantsByClient(ctx context.Context, clientID string) ([]Grant, error)
	// CreateGrant stores a grant without a code (client_credentials does
	// not need one; tests and tools may).
	CreateGrant(ctx context.Context, g Grant) error
	// RevokeGrant deletes the grant and records its unexpired access tokens
	// as revoked. Its refresh tokens stop working with it. ErrNotFound if
	// there is no such grant.
	RevokeGrant(ctx context.Context, id string) error
	// ClientGrantCounts counts live grants per client ID (for operators:
	// CIMD clients exist in the store only through their grants).
	ClientGrantCounts(ctx context.Context) (map[string]int, error)
	// RevokeClientGrants revokes every grant of a client and returns how
	// many there were.
	RevokeClientGrants(ctx context.Context, clientID string) (int, error)
	// RefreshToken returns the refresh token record (rotated or not) until
	// it expires.
	RefreshToken(ctx context.Context, id string) (RefreshToken, error)
	// RefreshTokenGrant returns the refresh token record (rotated or not)
	// with its grant, in one read: the token endpoint needs both before it
	// rotates. ErrNotFound if the token or its grant is gone or expired.
	RefreshTokenGrant(ctx context.Context, id string) (RefreshToken, Grant, error)
	// RefreshTokenGrantUser is RefreshTokenGrant with the grant's user in
	// the same read (the refresh grant needs all three): user is nil when
	// the grant names no user or its user no longer exists.
	RefreshTokenGrantUser(ctx context.Context, id string) (RefreshToken, Grant, *User, error)
	// RotateRefreshToken atomically exchanges refresh token oldID for next:
	// oldID is marked rotated, next is stored, at is recorded on the grant
	// (expired access tokens are dropped from it) and LastUsedAt set to now.
	//
	// If oldID was already rotated at most grace ago (now - RotatedAt <=
	// grace, grace > 0), the exchange happens all the same and the result
	// has Grace set: racing refreshes with one token all succeed, and
	// RotatedAt keeps the first rotation's time, so the window never
	// extends. If it was rotated longer ago (or grace is 0), the whole
	// grant is revoked instead and ErrRefreshReused is returned (RFC 9700
	// §4.14.2). ErrNotFound if oldID or its grant is gone or expired.
	//
	// Atomic under any number of concurrent calls: every call sees either
	// the token unrotated (exactly one does) or rotated with its time.
	RotateRefreshToken(ctx context.Context, oldID string, now time.Time, next RefreshToken, at IssuedToken, grace time.Duration) (Rotation, error)
	// RevokeAccessToken remembers a revoked access token until it expires.
	RevokeAccessToken(ctx context.Context, t IssuedToken) error
	// AccessTokenRevoked reports whether jti was revoked.
	AccessTokenRevoked(ctx context.Context, jti string) (bool, error)
}

// Consent records what a user agreed a client may do. It is keyed by user
// and client; Fingerprint pins the client metadata the user saw, so a
// change of the security-relevant metadata asks again (CIMD -02 §8.4).
type Consent struct {
	UserID      string    `json:"user_id"`
	ClientID    string    `json:"client_id"`
	ClientName  string    `json:"client_name,omitempty"`
	Scopes      []string  `json:"scopes,omitempty"`
	Resources   []string  `json:"resources"`
	Fingerprint string    `json:"fingerprint"`
	GrantedAt   time.Time `json:"granted_at"`
	// Approved is the client's security-relevant metadata the user saw
	// and approved, so that when Fingerprint no longer matches the consent
	// page can say what changed. Absent in consents recorded before it
	// existed.
	Approved *oauth.SecurityMetadata `json:"approved,omitempty"`
}

// ConsentStore persists consents.
type ConsentStore interface {
	// PutConsent stores c, replacing the user's consent for that client.
	PutConsent(ctx context.Context, c Consent) error
	// Consent returns the user's consent for the client.
	Consent(ctx context.Context, userID, clientID string) (Consent, error)
	// ConsentsByUser lists a user's consents.
	ConsentsByUser(ctx context.Context, userID string) ([]Consent, error)
	// ClientHasConsent reports whether any user has a consent to the
	// client: somebody who signs in here approved it. /authorize asks it
	// before an unvouched client's prompt=none may be answered by a
	// redirect to a signed-out browser.
	ClientHasConsent(ctx context.Context, clientID string) (bool, error)
	// RevokeConsent deletes the consent and revokes every grant of that
	// user to that client, atomically. ErrNotFound if there is none.
	RevokeConsent(ctx context.Context, userID, clientID string) error
}

// ReplayStore remembers one-time identifiers.
type ReplayStore interface {
	// UseAssertionID records the jti of a client assertion (RFC 7523 §3)
	// until expiresAt; ErrConflict if it was used before.
	UseAssertionID(ctx context.Context, clientID, jti string, expiresAt time.Time) error
}

// WithinGrace reports whether a refresh token rotated at rotatedAt may
// still be exchanged at now under a grace period: grace > 0 and now is at
// most grace after rotatedAt. A clock that went backwards counts as within.
// Every backend decides with this one rule.
func WithinGrace(rotatedAt, now time.Time, grace time.Duration) bool {
	return grace > 0 && now.Sub(rotatedAt) <= grace
}
