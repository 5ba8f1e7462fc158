package cimd

import (
	"context"

	"github.com/go-jose/go-jose/v4"
)

// KeySetForKID returns the public signing keys at jwksURI, an operator-
// configured key set such as a trusted identity-assertion issuer's
// (identity_assertions.issuers[].jwks_uri). It is fetched through the
// SSRF-safe fetcher and cached like client key sets (Cache-Control within
// cimd.cache bounds, stale-if-error); when the cached set lacks kid, it is
// refetched once (at most once per cimd.cache.redirect_refetch_interval
// per URL), so an issuer can rotate keys without waiting for the cache.
// Errors are *FetchError or *ValidationError values.
func (r *Resolver) KeySetForKID(ctx context.Context, jwksURI, kid string) (jose.JSONWebKeySet, error) {
	res, err := r.keys.get(ctx, jwksURI)
	if err != nil {
		return jose.JSONWebKeySet{}, err
	}
	set := jose.JSONWebKeySet{Keys: res.value.Keys}
	if kid == "" || len(set.Key(kid)) > 0 || !r.refetch.allow("jwks "+jwksURI, r.now()) {
		return set, nil
	}
	if res, err = r.keys.load(ctx, jwksURI, true); err != nil {
		return jose.JSONWebKeySet{}, err
	}
	return jose.JSONWebKeySet{Keys: res.value.Keys}, nil
}
