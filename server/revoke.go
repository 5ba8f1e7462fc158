package server

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/store"
)

const revokePath = "/revoke"

// handleRevoke is the revocation endpoint (RFC 7009). A refresh token
// revokes its whole grant (and the grant's access tokens); an access token
// is remembered as revoked until it expires. Unknown tokens, and tokens of
// other clients, get the same 200 as success (RFC 7009 §2.2), so the
// endpoint tells nobody whether a token exists.
func (s *Server) handleRevoke(c echo.Context) error {
	noStore(c)
	form, err := postForm(c)
	if err != nil {
		return err
	}
	client, err := s.authenticateClient(c, form, revokePath)
	if err != nil {
		return err
	}
	token := form.Get("token")
	if token == "" {
		return oauth.InvalidRequest("token is required")
	}
	ctx := c.Request().Context()
	log := requestLogger(c, s.log)
	// The hint only orders the lookups (RFC 7009 §2.1); refresh tokens are
	// recognisable by their prefix anyway.
	if strings.HasPrefix(token, refreshPrefix) {
		_, g, _, err := s.lookupRefreshToken(c, token)
		switch {
		case err == nil && g.ClientID == client.ID:
			if err := s.store.RevokeGrant(ctx, g.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			Audit(ctx, log, AuditTokenRevoked, "client_id", client.ID, "grant_id", g.ID, "token", "refresh_token")
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return err
		}
		return c.NoContent(http.StatusOK)
	}
	if claims, err := s.parseAccessToken(token); err == nil && claims.ClientID == client.ID {
		exp := claims.Expiry.Time()
		if exp.After(s.now()) {
			if err := s.store.RevokeAccessToken(ctx, store.IssuedToken{JTI: claims.ID, ExpiresAt: exp}); err != nil {
				return err
			}
			Audit(ctx, log, AuditTokenRevoked, "client_id", client.ID, "jti", claims.ID, "token", "access_token")
		}
	}
	return c.NoContent(http.StatusOK)
}
