package store

import (
	"context"
	"time"

	"github.com/gatehouse-dev/gatehouse/oauth"
)

// RegisteredClient is a client that registered itself through RFC 7591
// dynamic registration.
type RegisteredClient struct {
	ID       string               `json:"id"`
	Metadata oauth.ClientMetadata `json:"metadata"`
	// SecretHash is the hex SHA-256 of the client secret (confidential
	// clients only); the secret itself is shown once and never stored.
	SecretHash      string    `json:"secret_hash,omitempty"`
	SecretExpiresAt time.Time `json:"secret_expires_at,omitzero"`
	// RegistrationTokenHash is the hex SHA-256 of the RFC 7592
	// registration access token.
	RegistrationTokenHash string `json:"registration_token_hash"`
	// SharedTokenHashes are the registration access tokens of earlier
	// registrants whose identical registrations were merged into this
	// record (newest first, at most MaxSharedRegistrants): two people
	// behind one NAT running the same tool each keep managing the client
	// they were given.
	SharedTokenHashes []string `json:"shared_token_hashes,omitempty"`
	// Shared is set when a second registrant was merged into the record,
	// and never cleared: from then on several parties may use the client,
	// so no registrant may change, redirect or delete it for the others
	// (an update forks a new registration, a delete removes only the
	// caller's handle; see dcr.Service).
	Shared bool `json:"shared,omitempty"`
	// ForkedFrom is the shared client an update of this registrant's
	// handle moved away from (empty for an ordinary registration).
	ForkedFrom string    `json:"forked_from,omitempty"`
	IssuedAt   time.Time `json:"issued_at"`
	UpdatedAt  time.Time `json:"updated_at"`
	// DedupKey identifies identical public registrations from one address
	// while the client is unused; empty once it is used or for others.
	DedupKey string `json:"dedup_key,omitempty"`
	// FirstTokenAt is when the client first obtained a token (zero: never).
	FirstTokenAt time.Time `json:"first_token_at,omitzero"`
	// LastActiveAt is the last recorded token activity.
	LastActiveAt time.Time `json:"last_active_at,omitzero"`
	// ExpiresAt is when an unused or idle client is removed.
	ExpiresAt time.Time `json:"expires_at"`
	// RegisteredFrom is the client IP the registration came from.
	RegisteredFrom string `json:"registered_from,omitempty"`
	// StatementIssuer is the iss of the software statement verified at
	// the last registration or update (RFC 7591 §2.3), "" without one: the
	// metadata's software_id is then the client's own claim.
	StatementIssuer string `json:"statement_issuer,omitempty"`
}

// MaxSharedRegistrants bounds SharedTokenHashes, so a flood of identical
// registrations cannot grow one record without limit; the oldest
// registrant's token is dropped first.
const MaxSharedRegistrants = 8

// MergeRegistrant records that an identical registration with token hash
// tokenHash was merged into c: it becomes the current token, and the
// previous one stays valid among the shared ones.
func (c *RegisteredClient) MergeRegistrant(tokenHash string) {
	shared := append([]string{c.RegistrationTokenHash}, c.SharedTokenHashes...)
	c.SharedTokenHashes = shared[:min(len(shared), MaxSharedRegistrants)]
	c.RegistrationTokenHash = tokenHash
	c.Shared = true
}

// RemoveRegistrant forgets the registrant whose registration access token
// hashes to tokenHash: its token stops working for this client. The
// client and everyone else's tokens stay. An empty hash is never matched.
func (c *RegisteredClient) RemoveRegistrant(tokenHash string) {
	var rest []string
	for _, h := range c.SharedTokenHashes {
		if h != tokenHash {
			rest = append(rest, h)
		}
	}
	c.SharedTokenHashes = rest
	if c.RegistrationTokenHash == tokenHash {
		c.RegistrationTokenHash = ""
		if len(rest) > 0 { // the newest remaining registrant becomes current
			c.RegistrationTokenHash, c.SharedTokenHashes = rest[0], rest[1:]
		}
	}
}

// Used reports whether the client ever obtained a token.
func (c RegisteredClient) Used() bool { return !c.FirstTokenAt.IsZero() }

// InitialAccessToken authorizes registrations when dcr.mode is "token"
// (RFC 7591 §3). Stored under the hash of the token.
type InitialAccessToken struct {
	ID        string    `json:"id"`
	UsesLeft  int       `json:"uses_left"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	Note      string    `json:"note,omitempty"`
}

// ClientStore persists dynamically registered clients.
type ClientStore interface {
	// CreateClient stores a new client, consuming one use of the initial
	// access token iatID when it is not empty; with ErrNotFound when that
	// token is unknown, expired or used up. If c.DedupKey names a live,
	// unused client, that client is returned instead (with its registration
	// token hash replaced by c's) and created is false. One commit, shared
	// with concurrent registrations.
	CreateClient(ctx context.Context, c RegisteredClient, iatID string) (stored RegisteredClient, created bool, err error)
	// Client returns a live client.
	Client(ctx context.Context, id string) (RegisteredClient, error)
	// UpdateClient replaces a client's record (RFC 7592 §2.2).
	UpdateClient(ctx context.Context, c RegisteredClient) error
	// DeleteClient removes the client, its approval record, and revokes
	// every grant it holds.
	DeleteClient(ctx context.Context, id string) error
	// ListClients returns every live client, oldest first; with
	// includeExpired also those past ExpiresAt the sweeper has not removed.
	ListClients(ctx context.Context, includeExpired bool) ([]RegisteredClient, error)
	// TouchClient records token activity at now: the first token ends the
	// unused period (and deduplication), and each activity pushes the
	// expiry to now + idle. It writes only when something changes by more
	// than a minute, so hot clients do not cost a commit per token.
	TouchClient(ctx context.Context, id string, now time.Time, idle time.Duration) error
	// CreateInitialAccessToken stores a new initial access token.
	CreateInitialAccessToken(ctx context.Context, t InitialAccessToken) error
	// InitialAccessTokens lists the live initial access tokens.
	InitialAccessTokens(ctx context.Context) ([]InitialAccessToken, error)
}
