package server

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/policy"
	"github.com/gatehouse-dev/gatehouse/store"
)

// assertionAlgorithms are the JWS algorithms accepted for private_key_jwt
// (RFC 7523 §3): asymmetric only.
var assertionAlgorithms = policy.AssertionAlgorithms

const (
	// maxAssertionLifetime bounds exp in the future: assertions are
	// single-use and meant to be minted per request.
	maxAssertionLifetime = 5 * time.Minute
	assertionLeeway      = 30 * time.Second
	// assertionIDKeep is how long a used jti is remembered past the
	// assertion's exp, so that a clock stepping back by up to this much
	// after the sweeper removed the record cannot make the assertion
	// acceptable again (TestClockStepsDoNotReviveAClientAssertion).
	assertionIDKeep = 15 * time.Minute
)

// ClientKeySource returns the public keys a private_key_jwt client signs
// with (inline jwks, or jwks_uri fetched through the SSRF-safe fetcher and
// cached). kid is the assertion's key ID: a source may refetch a jwks_uri
// once when the cached set lacks it, so clients can rotate keys.
type ClientKeySource interface {
	ClientKeysForKID(ctx context.Context, client *oauth.Client, kid string) (jose.JSONWebKeySet, error)
}

// verifyClientAssertion checks an RFC 7523 §3 client assertion: signed by
// one of the client's keys with an allowed algorithm, iss = sub =
// client_id, aud naming this server, a short future exp, and a jti not seen
// before.
func (s *Server) verifyClientAssertion(ctx context.Context, client *oauth.Client, assertion, endpoint string) error {
	if assertion == "" {
		return oauth.InvalidClient("client_assertion is empty")
	}
	tok, err := jwt.ParseSigned(assertion, assertionAlgorithms)
	if err != nil || len(tok.Headers) != 1 {
		return oauth.InvalidClient("client_assertion is not a compact JWS signed with an asymmetric algorithm").WithCause(err)
	}
	hdr := tok.Headers[0]
	keys, err := s.clientKeys.ClientKeysForKID(ctx, client, hdr.KeyID)
	if err != nil {
		var oe *oauth.Error
		if errors.As(err, &oe) {
			return oe
		}
		return oauth.InvalidClient("the client's keys could not be loaded").WithCause(err)
	}
	key, err := pickAssertionKey(keys, hdr)
	if err != nil {
		return err
	}
	var claims jwt.Claims
	if err := tok.Claims(key.Key, &claims); err != nil {
		return oauth.InvalidClient("client_assertion signature does not verify").WithCause(err)
	}
	now := s.now()
	switch {
	case claims.Issuer != client.ID || claims.Subject != client.ID:
		return oauth.InvalidClient("client_assertion iss and sub must both be the client_id")
	case client.Kind != oauth.ClientStatic && !s.issuerIsSoleAudience(claims.Audience):
		return oauth.InvalidClient("client_assertion aud must be exactly this server's issuer %q, one value and no endpoint URL (draft-ietf-oauth-rfc7523bis: audience injection)", s.cfg.Issuer)
	case client.Kind == oauth.ClientStatic && !s.acceptableAudience(claims.Audience, endpoint):
		return oauth.InvalidClient("client_assertion aud must be the issuer %q or the endpoint URL", s.cfg.Issuer)
	case claims.Expiry == nil:
		return oauth.InvalidClient("client_assertion has no exp")
	case !now.Before(claims.Expiry.Time().Add(assertionLeeway)):
		return oauth.InvalidClient("client_assertion has expired")
	case claims.Expiry.Time().After(now.Add(maxAssertionLifetime + assertionLeeway)):
		return oauth.InvalidClient("client_assertion exp is more than %s ahead", maxAssertionLifetime)
	case claims.NotBefore != nil && claims.NotBefore.Time().After(now.Add(assertionLeeway)):
		return oauth.InvalidClient("client_assertion is not valid yet (nbf)")
	case claims.IssuedAt != nil && claims.IssuedAt.Time().After(now.Add(assertionLeeway)):
		return oauth.InvalidClient("client_assertion iat is in the future")
	case claims.ID == "" || len(claims.ID) > 256:
		return oauth.InvalidClient("client_assertion needs a jti")
	}
	err = s.store.UseAssertionID(ctx, client.ID, claims.ID, claims.Expiry.Time().Add(assertionLeeway+assertionIDKeep))
	if errors.Is(err, store.ErrConflict) {
		return oauth.InvalidClient("client_assertion jti was already used (replay)")
	}
	return err
}

// pickAssertionKey selects the verification key by kid (or the only key),
// enforcing the key's own alg and use, which go-jose ignores.
func pickAssertionKey(keys jose.JSONWebKeySet, hdr jose.Header) (jose.JSONWebKey, error) {
	var candidates []jose.JSONWebKey
	if hdr.KeyID != "" {
		candidates = keys.Key(hdr.KeyID)
	} else if len(keys.Keys) == 1 {
		candidates = keys.Keys
	}
	if len(candidates) != 1 {
		return jose.JSONWebKey{}, oauth.InvalidClient("client_assertion kid %q matches no single key of the client", hdr.KeyID)
	}
	k := candidates[0]
	switch {
	case !k.IsPublic():
		return jose.JSONWebKey{}, oauth.InvalidClient("the client's key set holds a private key")
	case k.Algorithm != "" && k.Algorithm != hdr.Algorithm:
		return jose.JSONWebKey{}, oauth.InvalidClient("key %q is for %s, the assertion uses %s", k.KeyID, k.Algorithm, hdr.Algorithm)
	case k.Use != "" && k.Use != "sig":
		return jose.JSONWebKey{}, oauth.InvalidClient("key %q is not a signing key", k.KeyID)
	}
	return k, nil
}

// issuerIsSoleAudience is the audience rule for self-registered (DCR) and
// CIMD clients: aud is this server's issuer and nothing else (a string, or
// an array of that one string). Such a client uses one client_id and one
// key with every authorization server it meets, hostile ones included (any
// MCP server may name any authorization server). If Gatehouse accepted
// its token endpoint URL, a hostile server whose metadata names that URL
// as its own token_endpoint could collect an assertion the client signed
// for it (OIDC Core §9 says aud SHOULD be the token endpoint) and replay
// it here as the client: the audience injection attack (CVE-2025-27370,
// draft-ietf-oauth-rfc7523bis). The issuer cannot be borrowed that way,
// because clients check that the metadata's issuer is the server's own
// URL (RFC 8414 §3.3). Every MCP client library that signs assertions
// (the TS SDK, openid-client) uses the issuer.
func (s *Server) issuerIsSoleAudience(aud jwt.Audience) bool {
	return len(aud) == 1 && aud[0] == s.cfg.Issuer
}

// acceptableAudience is the audience rule for operator-configured
// clients, whose keys the operator set up for this server alone: RFC 7523
// §3 lets aud be the issuer or the token endpoint; the revocation and
// introspection endpoints accept their own URL too.
func (s *Server) acceptableAudience(aud jwt.Audience, endpoint string) bool {
	valid := []string{s.cfg.Issuer, s.url(tokenPath), s.url(endpoint)}
	for _, a := range aud {
		if slices.Contains(valid, a) {
			return true
		}
	}
	return false
}

// inlineKeys is the default ClientKeySource: the client's jwks member,
// parsed key by key, public keys only. jwks_uri clients need a source that
// fetches.
type inlineKeys struct{}

func (inlineKeys) ClientKeysForKID(ctx context.Context, client *oauth.Client, _ string) (jose.JSONWebKeySet, error) {
	if len(client.Metadata.JWKS) == 0 {
		return jose.JSONWebKeySet{}, oauth.InvalidClient("the client has no jwks to verify assertions with")
	}
	set, err := policy.ParseClientJWKS(client.Metadata.JWKS)
	if err != nil {
		return set, oauth.InvalidClient("the client's jwks %v", err)
	}
	return set, nil
}
