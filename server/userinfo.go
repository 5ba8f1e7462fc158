package server

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/store"
)

const userinfoPath = "/userinfo"

// handleUserInfo is the UserInfo endpoint (OIDC Core §5.3): an access
// token Gatehouse issued, unexpired and unrevoked, with the openid scope,
// yields sub and the claims its scopes release. Errors follow RFC 6750
// §3 in WWW-Authenticate.
func (s *Server) handleUserInfo(c echo.Context) error {
	noStore(c)
	challenge := func(code, desc string, status int) error {
		c.Response().Header().Set("WWW-Authenticate", `Bearer error="`+code+`", error_description="`+desc+`"`)
		return c.JSON(status, map[string]string{"error": code, "error_description": desc})
	}
	auth := c.Request().Header.Get(echo.HeaderAuthorization)
	scheme, token, ok := strings.Cut(auth, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		if c.Request().Method == http.MethodPost {
			if form, err := postForm(c); err == nil && form.Get("access_token") != "" {
				token = form.Get("access_token")
			}
		}
		if token == "" {
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="gatehouse"`)
			return c.NoContent(http.StatusUnauthorized)
		}
	}
	claims, err := s.parseAccessToken(strings.TrimSpace(token))
	if err != nil || !s.now().Before(claims.Expiry.Time()) {
		return challenge("invalid_token", "the access token is invalid or expired", http.StatusUnauthorized)
	}
	ctx := c.Request().Context()
	if revoked, err := s.store.AccessTokenRevoked(ctx, claims.ID); err != nil {
		return err
	} else if revoked {
		return challenge("invalid_token", "the access token was revoked", http.StatusUnauthorized)
	}
	scopes := oauth.SplitScope(claims.Scope)
	if !slices.Contains(scopes, ScopeOpenID) {
		return challenge("insufficient_scope", "the access token lacks the openid scope", http.StatusForbidden)
	}
	out, err := s.releasedClaims(ctx, claims.Subject, scopes)
	if errors.Is(err, store.ErrNotFound) {
		return challenge("invalid_token", "the user no longer exists", http.StatusUnauthorized)
	}
	if err != nil {
		return err
	}
	if out == nil {
		out = map[string]any{}
	}
	out["sub"] = claims.Subject
	return c.JSON(http.StatusOK, out)
}
