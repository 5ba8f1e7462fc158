package dcr

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/store"
)

// authorize loads the client a registration access token manages. A bad
// token, or a token for a client that is gone, is 401 invalid_token
// (RFC 7592 §2.1); the response never says which.
func (s *Service) authorize(ctx context.Context, clientID, rat string) (store.RegisteredClient, error) {
	if rat == "" {
		return store.RegisteredClient{}, oauth.InvalidToken("a registration access token is required")
	}
	c, err := s.store.Client(ctx, clientID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !registrantToken(rat, c)) {
		return store.RegisteredClient{}, oauth.InvalidToken("the registration access token is invalid for this client")
	}
	return c, err
}

// registrantToken reports whether rat is the registration access token of
// the client's newest registrant or of an earlier one merged into it.
func registrantToken(rat string, c store.RegisteredClient) bool {
	ok := tokenMatches(rat, c.RegistrationTokenHash)
	for _, h := range c.SharedTokenHashes {
		ok = tokenMatches(rat, h) || ok // no early exit: constant work per record
	}
	return ok
}

// Read returns the client's current registration (RFC 7592 §2.1).
func (s *Service) Read(ctx context.Context, clientID, rat string) (*ClientInformation, error) {
	c, err := s.authorize(ctx, clientID, rat)
	if err != nil {
		return nil, err
	}
	return s.information(c, rat), nil
}

// readOnlyFields may be echoed back by a client in an update only with
// their current values (RFC 7592 §2.2 forbids sending them at all; many
// clients send back the whole registration response, so equal values are
// tolerated).
var readOnlyFields = []string{"registration_access_token", "registration_client_uri", "client_secret_expires_at", "client_id_issued_at"}

// Update replaces the client's metadata (RFC 7592 §2.2): omitted fields are
// removed, the result is validated like a registration.
func (s *Service) Update(ctx context.Context, clientID, rat string, body []byte) (*ClientInformation, error) {
	c, err := s.authorize(ctx, clientID, rat)
	if err != nil {
		return nil, err
	}
	members, err := decodeMembers(body)
	if err != nil {
		return nil, err
	}
	current := s.information(c, rat)
	currentJSON, _ := json.Marshal(current)
	var cur map[string]json.RawMessage
	_ = json.Unmarshal(currentJSON, &cur)
	var sentID string
	if err := json.Unmarshal(members["client_id"], &sentID); err != nil || sentID != c.ID {
		return nil, oauth.InvalidClientMetadata("the body must carry client_id equal to %q (RFC 7592 §2.2)", c.ID)
	}
	for _, f := range readOnlyFields {
		if v, ok := members[f]; ok && string(v) != string(cur[f]) {
			return nil, oauth.InvalidClientMetadata("%s cannot be changed by the client", f)
		}
	}
	if raw, ok := members["client_secret"]; ok {
		var secret string
		if json.Unmarshal(raw, &secret) != nil || !tokenMatches(secret, c.SecretHash) {
			return nil, oauth.InvalidClientMetadata("client_secret does not match the current secret; clients cannot choose their secret")
		}
	}
	cfg := s.cfg.Load()
	meta, statementIssuer, narrowed, err := s.validate(cfg, body)
	if err != nil {
		return nil, err
	}
	if c.Shared {
		info, err := s.fork(ctx, cfg, c, rat, meta, statementIssuer)
		if info != nil {
			info.Narrowed = narrowed
		}
		return info, err
	}
	now := s.now()
	// An update without a statement makes the software_id self-asserted
	// again: only a verified one counts for client_profiles[].software_ids.
	c.Metadata, c.UpdatedAt, c.DedupKey, c.StatementIssuer = meta, now, "", statementIssuer
	var secret string
	switch {
	// A new secret when the client becomes confidential, or when its
	// secret has expired: RFC 7592 §2.2 lets the server issue one on
	// update, and it is how a client whose secret ran out recovers
	// without registering again (and losing its grants).
	case confidential(meta) && (c.SecretHash == "" || (!c.SecretExpiresAt.IsZero() && !now.Before(c.SecretExpiresAt))):
		if secret, err = s.random(secretPrefix, 32); err != nil {
			return nil, err
		}
		c.SecretHash = hashHex(secret)
		if cfg.SecretTTL > 0 { // as for a registration (dcr.client_secret_ttl)
			c.SecretExpiresAt = now.Add(cfg.SecretTTL)
		}
	case !confidential(meta):
		c.SecretHash, c.SecretExpiresAt = "", time.Time{}
	}
	if err := s.store.UpdateClient(ctx, c); err != nil {
		return nil, err
	}
	info := s.information(c, rat)
	info.ClientSecret = secret
	info.Narrowed = narrowed
	return info, nil
}

// Delete removes the client; its grants and tokens are revoked with it
// (RFC 7592 §2.3). A shared client (store.RegisteredClient.Shared) is
// not removed: only the caller's handle is, so its registration access
// token stops working, and the others who use the client keep it (it
// expires like any client once nobody uses it). handleOnly says which.
func (s *Service) Delete(ctx context.Context, clientID, rat string) (handleOnly bool, err error) {
	c, err := s.authorize(ctx, clientID, rat)
	if err != nil {
		return false, err
	}
	if c.Shared {
		c.RemoveRegistrant(hashHex(rat))
		c.UpdatedAt = s.now()
		return true, s.store.UpdateClient(ctx, c)
	}
	err = s.store.DeleteClient(ctx, clientID)
	if errors.Is(err, store.ErrNotFound) {
		return false, oauth.InvalidToken("the registration access token is invalid for this client")
	}
	return false, err
}

// BearerToken extracts a token from an Authorization header (RFC 6750
// §2.1), "" when there is none.
func BearerToken(h string) string {
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

// IsInvalidToken reports whether err asks for a 401 with
// WWW-Authenticate: Bearer.
func IsInvalidToken(err error) bool {
	var oe *oauth.Error
	return errors.As(err, &oe) && oe.Status == http.StatusUnauthorized
}
