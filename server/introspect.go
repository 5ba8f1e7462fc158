package server

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/store"
)

const introspectPath = "/introspect"

// introspection is the RFC 7662 §2.2 response.
type introspection struct {
	Active    bool     `json:"active"`
	Scope     string   `json:"scope,omitempty"`
	ClientID  string   `json:"client_id,omitempty"`
	Username  string   `json:"username,omitempty"`
	TokenType string   `json:"token_type,omitempty"`
	Exp       int64    `json:"exp,omitempty"`
	Iat       int64    `json:"iat,omitempty"`
	Sub       string   `json:"sub,omitempty"`
	Aud       []string `json:"aud,omitempty"`
	Iss       string   `json:"iss,omitempty"`
	JTI       string   `json:"jti,omitempty"`
}

// handleIntrospect is the introspection endpoint (RFC 7662). Callers must
// authenticate as confidential clients; public clients are refused.
//
// Who learns what (RFC 7662 §4-5): anyone can register a confidential
// client, so authentication alone proves nothing. An operator-configured
// client with allow_introspection (a resource server, a gateway) learns
// everything about any access token, the user's login name included.
// Every other client learns only about tokens issued to itself, never the
// username; any other token is reported {"active": false}, exactly as an
// unknown one, so the answer reveals nothing. Access tokens are active
// until they expire unless revoked; refresh tokens are reported only to
// the client they belong to.
func (s *Server) handleIntrospect(c echo.Context) error {
	noStore(c)
	form, err := postForm(c)
	if err != nil {
		return err
	}
	caller, err := s.authenticateClient(c, form, introspectPath)
	if err != nil {
		return err
	}
	if caller.IsPublic() {
		return oauth.InvalidClient("introspection requires an authenticated (confidential) client")
	}
	token := form.Get("token")
	if token == "" {
		return oauth.InvalidRequest("token is required")
	}
	var resp introspection
	if strings.HasPrefix(token, refreshPrefix) {
		resp, err = s.introspectRefresh(c, caller, token)
	} else {
		resp, err = s.introspectAccess(c, caller, token)
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, resp)
}

func (s *Server) introspectAccess(c echo.Context, caller *oauth.Client, token string) (introspection, error) {
	claims, err := s.parseAccessToken(token)
	if err != nil || !s.now().Before(claims.Expiry.Time()) {
		return introspection{}, nil
	}
	ctx := c.Request().Context()
	if !caller.MayIntrospect && claims.ClientID != caller.ID {
		Audit(ctx, requestLogger(c, s.log), AuditPolicyDenial, "client_id", caller.ID,
			"reason", "introspection of another client's token refused (the caller has no allow_introspection)")
		return introspection{}, nil
	}
	revoked, err := s.store.AccessTokenRevoked(ctx, claims.ID)
	if err != nil || revoked {
		return introspection{}, err
	}
	if gone, err := s.clientGone(c, claims.ClientID); err != nil || gone {
		return introspection{}, err
	}
	resp := introspection{
		Active: true, Scope: claims.Scope, ClientID: claims.ClientID, TokenType: oauth.TokenTypeBearer,
		Exp: claims.Expiry.Time().Unix(), Sub: claims.Subject, Aud: claims.Audience, Iss: claims.Issuer, JTI: claims.ID,
	}
	if claims.IssuedAt != nil {
		resp.Iat = claims.IssuedAt.Time().Unix()
	}
	if !caller.MayIntrospect {
		return resp, nil // the login name is for the parties the operator trusts
	}
	if u, err := s.store.UserByID(ctx, claims.Subject); err == nil {
		resp.Username = u.Name
	} else if !errors.Is(err, store.ErrNotFound) {
		return introspection{}, err
	}
	return resp, nil
}

func (s *Server) introspectRefresh(c echo.Context, caller *oauth.Client, token string) (introspection, error) {
	rt, g, _, err := s.lookupRefreshToken(c, token)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (!rt.RotatedAt.IsZero() || g.ClientID != caller.ID)) {
		return introspection{}, nil
	}
	if err != nil {
		return introspection{}, err
	}
	return introspection{Active: true, Scope: oauth.JoinScope(g.Scopes), ClientID: g.ClientID, Sub: g.UserID,
		Aud: g.Resources, Iss: s.cfg.Issuer, Exp: rt.ExpiresAt.Unix(), Iat: rt.CreatedAt.Unix(), TokenType: "refresh_token"}, nil
}

// clientGone reports whether a token's client no longer exists: deleted
// through RFC 7592 or the admin CLI, expired, or removed from the
// configuration. Its tokens die with it (RFC 7592 §2.3), including
// client_credentials tokens, which are never stored and so cannot be
// revoked one by one. URL client IDs are not looked up: introspection must
// not fetch documents, and a CIMD client has no registration to delete.
func (s *Server) clientGone(c echo.Context, clientID string) (bool, error) {
	if strings.HasPrefix(clientID, "https://") {
		return false, nil
	}
	_, err := s.policy().clients.ResolveClient(c.Request().Context(), clientID)
	if err != nil && oauth.Code(err) == oauth.ErrCodeInvalidClient {
		return true, nil
	}
	return false, err
}
