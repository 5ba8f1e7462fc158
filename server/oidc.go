package server

import (
	"context"
	"net/url"
	"slices"
	"strconv"

	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/store"
)

// OpenID Connect: Gatehouse is an OpenID Provider for the authorization
// code flow (OIDC Core §3.1). A request whose scope has openid gets an ID
// token from /token; profile and email release those claims in it and at
// /userinfo.
const (
	// ScopeOpenID makes a request an OpenID Connect request.
	ScopeOpenID = "openid"
	// maxNonceLen bounds the nonce echoed into the ID token.
	maxNonceLen = 512
)

// oidcScopes are the authorization server's own scopes (OIDC Core §5.4):
// accepted whatever the resources list.
var oidcScopes = map[string]bool{ScopeOpenID: true, "profile": true, "email": true}

// claimsForScope says which user claims each scope releases (OIDC Core
// §5.4); groups is Gatehouse's own addition to profile.
var claimsForScope = map[string][]string{
	"profile": {"name", "preferred_username", "groups"},
	"email":   {"email", "email_verified"},
}

// parseOIDCParams reads nonce and max_age (OIDC Core §3.1.2.1).
func parseOIDCParams(req *authzRequest, params url.Values) *oauth.Error {
	if len(params["nonce"]) > 1 || len(params["max_age"]) > 1 {
		return oauth.InvalidRequest("nonce and max_age may appear once")
	}
	req.Nonce = params.Get("nonce")
	if len(req.Nonce) > maxNonceLen {
		return oauth.InvalidRequest("nonce is longer than %d characters", maxNonceLen)
	}
	if raw := params.Get("max_age"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 0 {
			return oauth.InvalidRequest("max_age must be a non-negative number of seconds")
		}
		req.MaxAge = &n
	}
	return nil
}

// releasedClaims are the user claims the granted scopes release.
func (s *Server) releasedClaims(ctx context.Context, userID string, scopes []string) (map[string]any, error) {
	var want []string
	for _, sc := range scopes {
		want = append(want, claimsForScope[sc]...)
	}
	if len(want) == 0 {
		return nil, nil
	}
	u, err := s.store.UserByID(ctx, userID)
	if err != nil {
		return nil, err
	}
	return s.selectClaims(ctx, u, want)
}

// signIDToken issues the ID token of a code exchange (OIDC Core §3.1.3.3):
// iss, sub, aud = the client, exp, iat, auth_time, the request's nonce,
// and the claims profile and email release; signed like access tokens,
// with typ JWT.
func (s *Server) signIDToken(ctx context.Context, code store.AuthCode, spec tokenSpec) (string, error) {
	claims := map[string]any{}
	extra, err := s.releasedClaims(ctx, code.UserID, code.Scopes)
	if err != nil {
		return "", err
	}
	for k, v := range extra {
		claims[k] = v
	}
	claims["iss"], claims["sub"], claims["aud"] = s.cfg.Issuer, code.UserID, code.ClientID
	claims["iat"], claims["exp"] = spec.IssuedAt.Unix(), spec.ExpiresAt.Unix()
	if code.Nonce != "" {
		claims["nonce"] = code.Nonce
	}
	if !code.AuthTime.IsZero() {
		claims["auth_time"] = code.AuthTime.Unix()
	}
	if len(code.AMR) > 0 {
		claims["amr"] = code.AMR
	}
	if code.ACR != "" {
		claims["acr"] = code.ACR
	}
	signer, err := s.keys.Signer("JWT")
	if err != nil {
		return "", err
	}
	return jwt.Signed(signer).Claims(claims).Serialize()
}

func wantsIDToken(scopes []string) bool { return slices.Contains(scopes, ScopeOpenID) }

// oidcDiscovery adds the OpenID Connect Discovery §3 fields.
func (s *Server) oidcDiscovery(md *Metadata) {
	md.UserinfoEndpoint = s.url(userinfoPath)
	md.SubjectTypesSupported = []string{"public"}
	md.IDTokenSigningAlgs = []string{string(SigningAlgorithm)}
	md.ClaimsSupported = []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "amr", "acr",
		"email", "email_verified", "name", "preferred_username", "groups"}
	md.ClaimsParameterSupported = false
	md.RequestParameterSupported = false
	md.RequestURIParameterSupported = false
}
