package resource

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/gatehouse-dev/gatehouse/oauth"
)

// Verifier checks access tokens for one resource and serves its metadata.
// It is safe for concurrent use; create one per resource and keep it.
type Verifier struct {
	cfg        Config
	algs       []jose.SignatureAlgorithm
	keys       *keyCache
	introspect *introspector // nil: offline only
	metadata   *metadataDoc
}

// New validates cfg and returns a verifier. It does no I/O: keys are
// fetched when the first token needs them (call Refresh to fetch them at
// start-up instead).
func New(cfg Config) (*Verifier, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	v := &Verifier{cfg: cfg}
	for _, a := range cfg.Algorithms {
		v.algs = append(v.algs, jose.SignatureAlgorithm(a))
	}
	v.keys = newKeyCache(&v.cfg)
	v.introspect = newIntrospector(&v.cfg)
	var err error
	if v.metadata, err = buildMetadata(&v.cfg); err != nil {
		return nil, err
	}
	return v, nil
}

// Refresh fetches the issuer's keys now, regardless of the cache and the
// refresh rate limit: for start-up and readiness checks.
func (v *Verifier) Refresh(ctx context.Context) error {
	return v.keys.refresh(ctx)
}

// Stats are counters for operators.
type Stats struct {
	// KeyFetches counts JWKS fetch attempts; KeyFetchFailures those that
	// failed. LastKeyFetch is the last success (zero if none).
	KeyFetches       int64
	KeyFetchFailures int64
	LastKeyFetch     time.Time
	// Introspections counts introspection requests (introspection mode),
	// IntrospectionFailures those that got no usable answer, and
	// IntrospectionCacheHits the tokens answered from the cache.
	Introspections         int64
	IntrospectionFailures  int64
	IntrospectionCacheHits int64
}

// Stats reports the key cache's and the introspection counters.
func (v *Verifier) Stats() Stats {
	s := Stats{KeyFetches: v.keys.fetches.Load(), KeyFetchFailures: v.keys.failures.Load()}
	if ns := v.keys.lastFetch.Load(); ns != 0 {
		s.LastKeyFetch = time.Unix(0, ns)
	}
	if in := v.introspect; in != nil {
		s.Introspections, s.IntrospectionFailures, s.IntrospectionCacheHits = in.requests.Load(), in.failures.Load(), in.cacheHits.Load()
	}
	return s
}

// wireClaims are the JSON claims of an RFC 9068 access token.
type wireClaims struct {
	Issuer    string           `json:"iss"`
	Subject   string           `json:"sub"`
	Audience  jwt.Audience     `json:"aud"`
	Expiry    *jwt.NumericDate `json:"exp"`
	NotBefore *jwt.NumericDate `json:"nbf"`
	IssuedAt  *jwt.NumericDate `json:"iat"`
	ID        string           `json:"jti"`
	ClientID  string           `json:"client_id"`
	Scope     string           `json:"scope"`
	AuthTime  *jwt.NumericDate `json:"auth_time"`
	// User claims, present when Gatehouse's resources[].claims lists them.
	Email             string   `json:"email"`
	EmailVerified     bool     `json:"email_verified"`
	Name              string   `json:"name"`
	PreferredUsername string   `json:"preferred_username"`
	Groups            []string `json:"groups"`
}

// Verify validates token as an RFC 9068 §4 access token for this resource
// and returns its claims. Every failure is an *Error (match its Reason with
// errors.Is).
//
// The claims are checked before the signature, so that a token for another
// issuer or audience never causes a key fetch; nothing is returned unless
// every check, the signature included, passes.
func (v *Verifier) Verify(ctx context.Context, token string) (*Claims, error) {
	if token == "" || len(token) > MaxTokenLength {
		return nil, newError(ErrMalformedToken, nil, "the access token is empty or too long")
	}
	// Compact serialization only (RFC 9068 §2.1, RFC 7519 §7.2), with the
	// algorithm allowlist applied while parsing: "none" and HS* never get
	// as far as a key (RFC 8725 §3.1).
	jws, err := jose.ParseSignedCompact(token, v.algs)
	if err != nil {
		var algErr *jose.ErrUnexpectedSignatureAlgorithm
		if errors.As(err, &algErr) {
			return nil, newError(ErrAlgorithm, err, "the token's signature algorithm %q is not accepted", truncate(string(algErr.Got), 32))
		}
		return nil, newError(ErrMalformedToken, err, "the access token is not a compact JWS")
	}
	header := jws.Signatures[0].Header
	// RFC 9068 §4 step 1: typ must be at+jwt, so that an ID token or a
	// client assertion signed by the same keys is never taken for one.
	if !isAccessTokenType(header.ExtraHeaders[jose.HeaderType]) {
		return nil, newError(ErrTokenType, nil, "the token's typ is not at+jwt (RFC 9068)")
	}
	// RFC 7515 §4.1.11: extensions marked critical must be understood, and
	// an access token needs none (go-jose would refuse them later, as a
	// signature failure).
	if _, ok := header.ExtraHeaders["crit"]; ok {
		return nil, newError(ErrMalformedToken, nil, "the token uses critical header extensions (crit)")
	}
	var wc wireClaims
	if err := json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &wc); err != nil {
		return nil, newError(ErrMalformedToken, err, "the token's claims are not a valid JWT claims set")
	}
	if err := v.checkClaims(&wc); err != nil {
		return nil, err
	}
	if header.KeyID == "" {
		return nil, newError(ErrUnknownKey, nil, "the token names no signing key (kid)")
	}
	keys, err := v.keys.lookup(ctx, header.KeyID)
	if err != nil {
		return nil, err
	}
	key, ok := keyFor(keys, header.Algorithm)
	if !ok {
		return nil, newError(ErrUnknownKey, nil, "the signing key %q is not published for %s", truncate(header.KeyID, 64), header.Algorithm)
	}
	// RFC 9068 §4 step 5. Verify checks exactly the bytes decoded above.
	if _, err := jws.Verify(key.Key); err != nil {
		return nil, newError(ErrSignature, err, "the token's signature is invalid")
	}
	claims := wc.claims()
	// Introspection last: only a token that passed every offline check
	// costs the authorization server a request.
	if v.introspect != nil {
		if err := v.introspect.check(ctx, token, claims); err != nil {
			return nil, err
		}
	}
	return claims, nil
}

// isAccessTokenType accepts "at+jwt" and "application/at+jwt", in any case
// (RFC 9068 §2.1, §4; media types are case-insensitive, RFC 7515 §4.1.9).
func isAccessTokenType(typ any) bool {
	s, ok := typ.(string)
	if !ok {
		return false
	}
	s = strings.ToLower(s)
	return s == "at+jwt" || s == "application/at+jwt"
}

// keyFor picks the key for alg: go-jose ignores a JWK's "alg", so a key
// published for one algorithm would otherwise verify another.
func keyFor(keys []jose.JSONWebKey, alg string) (jose.JSONWebKey, bool) {
	for _, k := range keys {
		if k.Algorithm == "" || k.Algorithm == alg {
			return k, true
		}
	}
	return jose.JSONWebKey{}, false
}

// checkClaims applies RFC 9068 §4 steps 3, 4 and 6 and the §2.2 required
// claims, in order.
func (v *Verifier) checkClaims(c *wireClaims) error {
	now, leeway := v.cfg.Now(), v.cfg.Leeway
	switch {
	case c.Issuer != v.cfg.Issuer:
		return newError(ErrIssuer, nil, "the token was not issued by %s", v.cfg.Issuer)
	case !slices.ContainsFunc(c.Audience, v.isResource):
		// MCP: a server must only accept tokens issued for itself.
		return newError(ErrAudience, nil, "the token's audience does not include %s", v.cfg.Resource)
	case c.Expiry == nil:
		return newError(ErrMissingClaim, nil, "the token has no exp")
	case !now.Before(c.Expiry.Time().Add(leeway)):
		return newError(ErrExpired, nil, "the token expired")
	case c.NotBefore != nil && now.Add(leeway).Before(c.NotBefore.Time()):
		return newError(ErrNotYetValid, nil, "the token is not valid yet (nbf)")
	case c.IssuedAt == nil:
		return newError(ErrMissingClaim, nil, "the token has no iat")
	case now.Add(leeway).Before(c.IssuedAt.Time()):
		return newError(ErrNotYetValid, nil, "the token was issued in the future (iat)")
	case c.Subject == "":
		return newError(ErrMissingClaim, nil, "the token has no sub")
	case c.ClientID == "":
		return newError(ErrMissingClaim, nil, "the token has no client_id")
	case c.ID == "":
		return newError(ErrMissingClaim, nil, "the token has no jti")
	}
	return nil
}

// isResource reports whether an aud value names this resource: the same
// URI after RFC 3986 normalization (oauth.SameResource, the rule Gatehouse
// matches resource indicators with), so "https://mcp.example.com/" in aud
// is accepted by a resource configured as "https://mcp.example.com".
func (v *Verifier) isResource(aud string) bool {
	return aud == v.cfg.Resource || oauth.SameResource(aud, v.cfg.Resource)
}

func (c *wireClaims) claims() *Claims {
	out := &Claims{
		Issuer:    c.Issuer,
		Subject:   c.Subject,
		ClientID:  c.ClientID,
		Audience:  []string(c.Audience),
		Scopes:    strings.Fields(c.Scope),
		ID:        c.ID,
		IssuedAt:  c.IssuedAt.Time(),
		ExpiresAt: c.Expiry.Time(),
		Email:     c.Email, EmailVerified: c.EmailVerified, Name: c.Name,
		PreferredUsername: c.PreferredUsername, Groups: c.Groups,
	}
	if c.NotBefore != nil {
		out.NotBefore = c.NotBefore.Time()
	}
	if c.AuthTime != nil {
		out.AuthTime = c.AuthTime.Time()
	}
	return out
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
