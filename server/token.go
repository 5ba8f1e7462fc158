package server

import (
	"net/http"
	"slices"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-dev/gatehouse/oauth"
)

const tokenPath = "/token"

// tokenResponse is the successful token response (RFC 6749 §5.1).
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	// Scope is always present (empty when nothing was granted): MCP
	// clients compute their next step-up request from it.
	Scope string `json:"scope"`
	// IDToken answers an OpenID Connect request (OIDC Core §3.1.3.3).
	IDToken string `json:"id_token,omitempty"`
}

// handleToken is the token endpoint (OAuth 2.1 §3.2). The client is
// authenticated before the grant is looked at, so a failed authentication
// never consumes a code or a refresh token.
func (s *Server) handleToken(c echo.Context) error {
	noStore(c)
	form, err := postForm(c, "resource")
	if err != nil {
		return err
	}
	client, err := s.authenticateClient(c, form, tokenPath)
	if err != nil {
		return err
	}
	grantType := form.Get("grant_type")
	switch grantType {
	case "":
		return oauth.InvalidRequest("grant_type is required")
	case oauth.GrantAuthorizationCode, oauth.GrantRefreshToken, oauth.GrantClientCredentials:
	case oauth.GrantJWTBearer:
		if len(s.cfg.IdentityAssertions) == 0 {
			return oauth.UnsupportedGrantType("the jwt-bearer grant (ID-JAG) is not enabled: no identity_assertions.issuers")
		}
	default:
		return oauth.UnsupportedGrantType("grant_type %q is not supported", truncate(grantType, 80))
	}
	// An ID-JAG client need not list the grant: the enterprise IdP that
	// signed the assertion for this client_id is the policy (MCP extension
	// §5; issuers[].allowed_clients narrows it further).
	if grantType != oauth.GrantJWTBearer && !client.AllowsGrant(grantType) {
		return oauth.UnauthorizedClient("the client is not registered for the %s grant", grantType)
	}
	if err := s.tokenApproval(c, client, s.requestProfile(c, client), grantType); err != nil {
		return err
	}
	switch grantType {
	case oauth.GrantAuthorizationCode:
		err = s.exchangeCode(c, client, form)
	case oauth.GrantRefreshToken:
		err = s.exchangeRefreshToken(c, client, form)
	case oauth.GrantJWTBearer:
		err = s.exchangeIDJAG(c, client, form)
	default:
		err = s.clientCredentials(c, client, form)
	}
	if err == nil {
		s.metrics.tokenIssued(grantType)
		s.recordTokenActivity(c, client)
	}
	return err
}

// writeTokenResponse sends the tokens. The response always carries scope,
// the scopes the access token holds: OAuth 2.1 §3.2.3 requires it only
// when they differ from the request, but MCP clients compute the scope of
// their next step-up authorization from it (MCP 2025-11-25 "Scope
// Challenge Handling"), and narrowing (RFC 6749 §3.3) can make them differ.
func (s *Server) writeTokenResponse(c echo.Context, access string, spec tokenSpec, refresh string) error {
	return s.writeTokens(c, tokenResponse{AccessToken: access, RefreshToken: refresh}, spec)
}

// writeTokens is writeTokenResponse with more tokens (the ID token).
func (s *Server) writeTokens(c echo.Context, resp tokenResponse, spec tokenSpec) error {
	access, refresh := resp.AccessToken, resp.RefreshToken
	return c.JSON(http.StatusOK, tokenResponse{
		IDToken:      resp.IDToken,
		AccessToken:  access,
		TokenType:    oauth.TokenTypeBearer,
		ExpiresIn:    int64(spec.ExpiresAt.Sub(spec.IssuedAt) / time.Second),
		RefreshToken: refresh,
		Scope:        oauth.JoinScope(spec.Scopes),
	})
}

// noStore marks a response as uncacheable (RFC 6749 §5.1).
func noStore(c echo.Context) {
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
}

// subset reports whether every element of a is in b.
func subset(a, b []string) bool {
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}
