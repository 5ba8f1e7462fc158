package server

import (
	"errors"
	"net/url"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/store"
)

// newRefreshToken mints an opaque refresh token. The store keeps only its
// hash; it expires when idle, and never after the grant.
func (s *Server) newRefreshToken(now, grantExpiry time.Time) (string, store.RefreshToken, error) {
	tok, id, secretHash, err := s.newHandle(refreshPrefix)
	if err != nil {
		return "", store.RefreshToken{}, err
	}
	exp := now.Add(s.cfg.RefreshIdleTTL)
	if exp.After(grantExpiry) {
		exp = grantExpiry
	}
	return tok, store.RefreshToken{ID: id, SecretHash: secretHash, CreatedAt: now, ExpiresAt: exp}, nil
}

// lookupRefreshToken finds the record of a presented refresh token and
// its grant (one store read) and checks the token's secret; a wrong
// secret is reported as ErrNotFound, so it can never trigger reuse
// detection on somebody else's grant. A token whose grant is gone or
// expired is ErrNotFound too.
func (s *Server) lookupRefreshToken(c echo.Context, raw string) (store.RefreshToken, store.Grant, string, error) {
	id, secret, ok := parseHandle(raw, refreshPrefix)
	if !ok {
		return store.RefreshToken{}, store.Grant{}, "", store.ErrNotFound
	}
	rt, g, err := s.store.RefreshTokenGrant(c.Request().Context(), id)
	if err == nil && !secretMatches(secret, rt.SecretHash) {
		return store.RefreshToken{}, store.Grant{}, "", store.ErrNotFound
	}
	return rt, g, id, err
}

// exchangeRefreshToken rotates a refresh token (OAuth 2.1 §4.3.1): the old
// token stops working, a new one is returned, and presenting the old one
// again revokes the whole grant (RFC 9700 §4.14.2) - unless it comes from
// the same client within tokens.refresh_token_grace_period of its rotation
// (processes racing on one credentials file), which gets a fresh pair and
// revokes nothing. The client binding is checked before the store is
// asked, so only the client the token was issued to ever reaches the
// grace rule.
func (s *Server) exchangeRefreshToken(c echo.Context, client *oauth.Client, form url.Values) error {
	raw := form.Get("refresh_token")
	if raw == "" {
		return oauth.InvalidRequest("refresh_token is required")
	}
	ctx := c.Request().Context()
	id, secret, ok := parseHandle(raw, refreshPrefix)
	if !ok {
		return oauth.InvalidGrant("the refresh token is invalid, expired or revoked")
	}
	// The token, its grant and the grant's user in one read; the same
	// secret check as lookupRefreshToken before anything else is looked at.
	rt, g, stored, err := s.store.RefreshTokenGrantUser(ctx, id)
	if err == nil && !secretMatches(secret, rt.SecretHash) {
		err = store.ErrNotFound
	}
	if errors.Is(err, store.ErrNotFound) {
		return oauth.InvalidGrant("the refresh token is invalid, expired or revoked")
	}
	if err != nil {
		return err
	}
	// Binding first: a client presenting another client's token learns
	// nothing and revokes nothing.
	if g.ClientID != client.ID {
		return oauth.InvalidGrant("the refresh token was issued to another client")
	}
	prof := s.requestProfile(c, client)
	if !prof.Ceilings.RefreshAllowed() {
		s.metrics.ceilingApplied(prof.Name, "refresh_tokens")
		Audit(ctx, requestLogger(c, s.log), AuditCeilingRefused, "client_id", client.ID, "profile", prof.Name, "ceiling", "refresh_tokens", "grant_id", g.ID)
		return oauth.InvalidGrant("refresh tokens are not open to this client (client profile %s)", prof.Name)
	}
	// A lowered refresh_token_max_ttl applies to grants made before.
	grantEnd := g.CreatedAt.Add(prof.Ceilings.GrantTTL(s.cfg.RefreshMaxTTL))
	if !s.now().Before(grantEnd) {
		s.metrics.ceilingApplied(prof.Name, "refresh_token_max_ttl")
		return oauth.InvalidGrant("the grant ended after its client profile's refresh_token_max_ttl (%s)", prof.Name)
	}
	if grantEnd.After(g.ExpiresAt) {
		grantEnd = g.ExpiresAt
	}
	scopes := g.Scopes
	if form.Has("scope") {
		if scopes, err = narrowToGrant(oauth.SplitScope(form.Get("scope")), g.Scopes); err != nil {
			return err
		}
	}
	if scopes, _, err = capScopes(prof, scopes); err != nil {
		return err
	}
	aud, err := narrowResources(form["resource"], g.Resources)
	if err != nil {
		return err
	}
	if err := s.tokenResourceCeiling(c, client, prof, aud); err != nil {
		return err
	}
	var user store.User
	if g.UserID != "" {
		if stored == nil {
			_ = s.store.RevokeGrant(ctx, g.ID)
			return oauth.InvalidGrant("the user of this grant no longer exists")
		}
		user = *stored
		// The admission rules of the user's upstream providers, as they
		// stand now, against the claims of the last sign-in.
		if err := s.checkAdmission(ctx, g.UserID); errors.Is(err, errNotAdmitted) {
			_ = s.store.RevokeGrant(ctx, g.ID)
			Audit(ctx, requestLogger(c, s.log), AuditPolicyDenial, "client_id", client.ID, "user_id", g.UserID, "reason", err.Error())
			return oauth.InvalidGrant("the user is no longer admitted by the identity provider's rules; sign in again")
		} else if err != nil {
			return err
		}
	}
	entries := s.entriesFor(aud)
	if g.UserID != "" && needsUserClaims(entries) {
		// scope_access as it stands now: a user who left a group loses
		// the scope it gave.
		if scopes, err = s.grantableScopes(ctx, user, entries, scopes); err != nil {
			return err
		}
		if len(g.Scopes) > 0 && len(scopes) == 0 {
			return oauth.InvalidGrant("none of this grant's scopes may be granted to the user any more (resources[].scope_access)")
		}
	}
	now := s.now()
	spec, err := s.newTokenSpec(g.UserID, client.ID, aud, scopes, g.AuthTime)
	if err != nil {
		return err
	}
	if g.UserID != "" && needsUserClaims(entries) {
		if spec.Extra, err = s.resourceClaims(ctx, user, entries); err != nil {
			return err
		}
	}
	s.applyTokenCeilings(&spec, prof)
	next, nextRT, err := s.newRefreshToken(now, grantEnd)
	if err != nil {
		return err
	}
	rot, err := s.store.RotateRefreshToken(ctx, id, now, nextRT, spec.issued(), s.cfg.RefreshGrace)
	switch {
	case errors.Is(err, store.ErrRefreshReused):
		s.metrics.refreshReused()
		Audit(ctx, requestLogger(c, s.log), AuditRefreshReuse, "client_id", client.ID, "grant_id", g.ID, "user_id", g.UserID)
		return oauth.InvalidGrant("the refresh token was already used; the grant has been revoked")
	case errors.Is(err, store.ErrNotFound):
		return oauth.InvalidGrant("the refresh token is invalid, expired or revoked")
	case err != nil:
		return err
	}
	if rot.Grace {
		s.metrics.refreshGraceUsed()
		Audit(ctx, requestLogger(c, s.log), AuditRefreshGrace, "client_id", client.ID, "grant_id", g.ID, "user_id", g.UserID,
			"rotated_ago", now.Sub(rot.RotatedAt).String(), "grace_period", s.cfg.RefreshGrace.String())
	}
	access, err := s.signAccessToken(spec)
	if err != nil {
		return err
	}
	return s.writeTokenResponse(c, access, spec, next)
}
