package cimd

import (
	"context"
	"fmt"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/policy"
)

// ClientKeys returns the public keys a private_key_jwt client signs its
// assertions with (CIMD -02 §8.2): the document's inline jwks, or the set
// at its jwks_uri, fetched through the SSRF-safe fetcher and cached with
// the same freshness rules as documents. Keys are parsed one by one;
// unsupported keys are skipped, private and symmetric keys refuse the set.
func (r *Resolver) ClientKeys(ctx context.Context, c *oauth.Client) (jose.JSONWebKeySet, error) {
	return r.clientKeys(ctx, c, false)
}

// ClientKeysForKID is ClientKeys for an assertion whose header names kid:
// when a jwks_uri set lacks that kid, the set is refetched once (at most
// once per cimd.cache.redirect_refetch_interval per URL) so that a client
// can rotate keys without waiting for the cache to expire.
func (r *Resolver) ClientKeysForKID(ctx context.Context, c *oauth.Client, kid string) (jose.JSONWebKeySet, error) {
	set, err := r.clientKeys(ctx, c, false)
	if err != nil || kid == "" || len(set.Key(kid)) > 0 || c.Metadata.JWKSURI == "" {
		return set, err
	}
	if !r.refetch.allow("jwks "+c.Metadata.JWKSURI, r.now()) {
		return set, nil
	}
	return r.clientKeys(ctx, c, true)
}

func (r *Resolver) clientKeys(ctx context.Context, c *oauth.Client, force bool) (jose.JSONWebKeySet, error) {
	md := &c.Metadata
	switch {
	case len(md.JWKS) > 0:
		if res, ok := r.docs.cache.Get(c.ID); ok && res.value.client.Fingerprint == c.Fingerprint && res.value.keys != nil {
			return jose.JSONWebKeySet{Keys: res.value.keys.Keys}, nil
		}
		ks, err := policy.ParseClientKeySet(md.JWKS)
		if err != nil {
			return jose.JSONWebKeySet{}, oauth.InvalidClient("jwks: %v", err)
		}
		return jose.JSONWebKeySet{Keys: ks.Keys}, nil
	case md.JWKSURI != "":
		var res *resource[*KeySet]
		var err error
		if force {
			res, err = r.keys.load(ctx, md.JWKSURI, true)
		} else {
			res, err = r.keys.get(ctx, md.JWKSURI)
		}
		if err != nil {
			return jose.JSONWebKeySet{}, callerError("jwks_uri", err)
		}
		return jose.JSONWebKeySet{Keys: res.value.Keys}, nil
	}
	return jose.JSONWebKeySet{}, oauth.InvalidClient("the client's metadata document has neither jwks nor jwks_uri")
}

// parseKeySetResponse validates a fetched jwks_uri body: one JSON object,
// keys parsed one by one, at least one usable public signing key.
func parseKeySetResponse(_ string, resp *Response) (*KeySet, error) {
	if err := oauth.CheckJSONObject(resp.Body); err != nil {
		return nil, &ValidationError{Rule: "jwks-uri", Detail: "key set " + err.Error(), Spec: specJSON}
	}
	ks, err := policy.ParseClientKeySet(resp.Body)
	if err != nil {
		return nil, &ValidationError{Rule: "jwks-uri", Detail: "key set " + err.Error(), Spec: specPrivateKey}
	}
	if len(ks.Keys) == 0 {
		return nil, &ValidationError{Rule: "jwks-uri", Spec: specJWK,
			Detail: fmt.Sprintf("key set has no usable public signing key (%d skipped)", len(ks.Skipped))}
	}
	return ks, nil
}
