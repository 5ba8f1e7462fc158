package cimd

import (
	"context"

	"github.com/gatehouse-dev/gatehouse/oauth"
)

// ResolveClient makes the resolver a client resolver for the server's
// client chain (https client IDs).
func (r *Resolver) ResolveClient(ctx context.Context, clientID string) (*oauth.Client, error) {
	return r.Resolve(ctx, clientID)
}

// ResolveClientForRedirect is ResolveForRedirect under the name the
// server's client chain looks for.
func (r *Resolver) ResolveClientForRedirect(ctx context.Context, clientID, redirectURI string) (*oauth.Client, error) {
	return r.ResolveForRedirect(ctx, clientID, redirectURI)
}
