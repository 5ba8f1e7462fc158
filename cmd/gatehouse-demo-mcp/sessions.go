package main

import (
	"context"
	"net/http"

	"github.com/modelcontextprotocol/go-sdk/auth"

	"github.com/gatehouse-dev/gatehouse/resource"
)

// claimsKey is where the SDK's TokenInfo.Extra carries the verified claims.
const claimsKey = "gatehouse.claims"

// bindSessions hands the claims the resource middleware verified to the
// MCP Go SDK, in the form it knows (auth.TokenInfo). The SDK then binds
// each MCP session to the user who opened it (a request presenting another
// subject's token with that session's Mcp-Session-Id gets 403), and gives
// tools the claims of the request being served through
// CallToolRequest.Extra.TokenInfo. No token is verified twice: the
// "verifier" only reads what the middleware stored.
func bindSessions(next http.Handler) http.Handler {
	fromClaims := func(ctx context.Context, _ string, _ *http.Request) (*auth.TokenInfo, error) {
		c, ok := resource.ClaimsFrom(ctx)
		if !ok {
			return nil, auth.ErrInvalidToken // unreachable behind the middleware
		}
		return &auth.TokenInfo{
			Scopes:     c.Scopes,
			Expiration: c.ExpiresAt,
			UserID:     c.Issuer + "#" + c.Subject,
			Extra:      map[string]any{claimsKey: c},
		}, nil
	}
	// ClockSkew: the middleware already applied the verifier's leeway to
	// exp; the SDK must not refuse what it accepted.
	return auth.RequireBearerToken(fromClaims, &auth.RequireBearerTokenOptions{ClockSkew: resource.MaxLeeway})(next)
}

// claimsOf returns the claims of the request a tool is serving.
func claimsOf(extra *auth.TokenInfo) (*resource.Claims, bool) {
	if extra == nil {
		return nil, false
	}
	c, ok := extra.Extra[claimsKey].(*resource.Claims)
	return c, ok
}
