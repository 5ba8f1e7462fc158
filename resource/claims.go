package resource

import (
	"context"
	"slices"
	"time"
)

// Claims are the verified contents of an access token (RFC 9068 §2.2).
// They deliberately exclude the token itself: MCP forbids passing it on
// to other services, and a handler that never sees it cannot.
type Claims struct {
	// Issuer is iss, always Config.Issuer.
	Issuer string
	// Subject is sub: the user, or for client_credentials the client.
	Subject string
	// ClientID is client_id: the OAuth client the token was issued to.
	ClientID string
	// Audience is aud; it always names Config.Resource (as a URI: see
	// Config.Resource).
	Audience []string
	// Scopes is scope split on spaces (nil when absent).
	Scopes []string
	// ID is jti, unique per token.
	ID string
	// IssuedAt and ExpiresAt are iat and exp.
	IssuedAt  time.Time
	ExpiresAt time.Time
	// NotBefore is nbf, zero when absent.
	NotBefore time.Time
	// AuthTime is auth_time, when the user signed in; zero when absent.
	AuthTime time.Time
	// The user claims Gatehouse copies into this resource's tokens when
	// its configuration lists them (resources[].claims); empty otherwise.
	Email             string
	EmailVerified     bool
	Name              string
	PreferredUsername string
	Groups            []string
}

// HasScope reports whether the token was granted scope.
func (c *Claims) HasScope(scope string) bool {
	return slices.Contains(c.Scopes, scope)
}

// MissingScopes returns the scopes in required that the token lacks.
func (c *Claims) MissingScopes(required ...string) []string {
	var missing []string
	for _, s := range required {
		if !c.HasScope(s) {
			missing = append(missing, s)
		}
	}
	return missing
}

type claimsKey struct{}

// ClaimsFrom returns the claims the middleware verified for this request.
func ClaimsFrom(ctx context.Context) (*Claims, bool) {
	c, ok := ctx.Value(claimsKey{}).(*Claims)
	return c, ok && c != nil
}

// ContextWithClaims returns ctx carrying c, as the middleware does; useful
// for testing handlers without tokens.
func ContextWithClaims(ctx context.Context, c *Claims) context.Context {
	return context.WithValue(ctx, claimsKey{}, c)
}
