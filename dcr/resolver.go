package dcr

import (
	"context"
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
		return nil, oauth.InvalidClient("unknown client %q (registrations that are never used expire)", id)
	}
	if err != nil {
		return nil, err
	}
	out := &oauth.Client{ID: c.ID, Kind: oauth.ClientDCR, Metadata: c.Metadata,
		SecretExpiresAt: c.SecretExpiresAt, Fingerprint: oauth.Fingerprint(c.Metadata)}
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
