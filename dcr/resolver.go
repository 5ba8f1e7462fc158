package dcr

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/store"
)

// ResolveClient makes the service a client resolver for the server's
// client chain.
func (s *Service) ResolveClient(ctx context.Context, id string) (*oauth.Client, error) {
	if !strings.HasPrefix(id, clientIDPrefix) || len(id) > 64 {
		return nil, oauth.InvalidClient("unknown client %q", clip(id))
	}
	c, err := s.store.Client(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		if issued, ok := IssuedAt(id); ok && !issued.After(s.now()) {
			cfg := s.cfg.Load()
			return nil, oauth.InvalidClient("the registration of client %q is no longer valid (unused registrations expire); register again", id).
				WithCause(&RegistrationGone{ClientID: id, IssuedAt: issued, UnusedTTL: cfg.UnusedClientTTL, IdleTTL: cfg.IdleClientTTL})
		}
		return nil, oauth.InvalidClient("unknown client %q (registrations that are never used expire)", id)
	}
	if err != nil {
		return nil, err
	}
	out := &oauth.Client{ID: c.ID, Kind: oauth.ClientDCR, Metadata: c.Metadata,
		SecretExpiresAt: c.SecretExpiresAt, Fingerprint: oauth.Fingerprint(c.Metadata)}
	if c.StatementIssuer != "" {
		out.VerifiedSoftwareID = c.Metadata.SoftwareID
	}
	if c.SecretHash != "" {
		if out.SecretHash, err = hex.DecodeString(c.SecretHash); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// RecordToken notes that the client obtained a token: the first one ends
// its unused period, later ones keep it from idling out.
func (s *Service) RecordToken(ctx context.Context, clientID string) error {
	c, err := s.store.Client(ctx, clientID)
	if err != nil {
		return err
	}
	if !c.Used() {
		s.stats.Converted.Add(1)
	}
	return s.store.TouchClient(ctx, clientID, s.now(), s.cfg.Load().IdleClientTTL)
}

// CreateInitialAccessToken mints an initial access token good for uses
// registrations within ttl. The token is returned once; only its hash is
// stored.
func (s *Service) CreateInitialAccessToken(ctx context.Context, uses int, ttl time.Duration, note string) (string, store.InitialAccessToken, error) {
	tok, err := s.random(initialTokenPrefix, 32)
	if err != nil {
		return "", store.InitialAccessToken{}, err
	}
	now := s.now()
	rec := store.InitialAccessToken{ID: hashHex(tok), UsesLeft: uses, CreatedAt: now, ExpiresAt: now.Add(ttl), Note: note}
	return tok, rec, s.store.CreateInitialAccessToken(ctx, rec)
}

// RegistrationGone is the cause ResolveClient wraps in its invalid_client
// error when a client_id has the form of one this service issued, with an
// issue time in the past, but no registration: it expired (unused for
// UnusedTTL, or idle for IdleTTL) or was deleted. A client that kept its
// client_id (mcp-remote does) then needs to register again, and the user
// needs to be told so in plain words.
type RegistrationGone struct {
	ClientID           string
	IssuedAt           time.Time
	UnusedTTL, IdleTTL time.Duration
}

func (e *RegistrationGone) Error() string {
	return "dcr: the registration of " + e.ClientID + " issued " + e.IssuedAt.UTC().Format(time.RFC3339) + " is gone"
}

// IssuedAt reads the registration time out of a client_id this service
// issued ("dcr_" and 32 sortable base32 characters, the first 64 bits Unix
// nanoseconds: newClientID). ok is false for anything else, including
// times before 2020, which no Gatehouse issued.
func IssuedAt(clientID string) (t time.Time, ok bool) {
	rest, found := strings.CutPrefix(clientID, clientIDPrefix)
	if !found || len(rest) != 32 {
		return time.Time{}, false
	}
	b, err := sortableBase32.DecodeString(rest)
	if err != nil || len(b) != 20 || sortableBase32.EncodeToString(b) != rest {
		return time.Time{}, false
	}
	nanos := int64(binary.BigEndian.Uint64(b[:8]))
	t = time.Unix(0, nanos).UTC()
	if nanos <= 0 || t.Year() < 2020 {
		return time.Time{}, false
	}
	return t, true
}
