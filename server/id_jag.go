package server

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/policy"
)

// Identity Assertion JWT Authorization Grant (ID-JAG,
// draft-ietf-oauth-identity-assertion-authz-grant; MCP extension
// io.modelcontextprotocol/enterprise-managed-authorization).
const (
	// IDJAGType is the JOSE typ of an ID-JAG (draft §3.1).
	IDJAGType = "oauth-id-jag+jwt"
	// IDJAGGrantProfile is advertised in authorization_grant_profiles_supported
	// (draft §7.2).
	IDJAGGrantProfile = "urn:ietf:params:oauth:grant-profile:id-jag"
	// maxIDJAGAge bounds how old an assertion may be (iat): the client
	// trades it at once, and the replay store keeps its jti only so long.
	maxIDJAGAge = 5 * time.Minute
	// maxIDJAGBytes bounds the assertion before it is parsed.
	maxIDJAGBytes = 16 << 10
)

// AssertionIssuer is a trusted enterprise IdP (identity_assertions.issuers).
type AssertionIssuer struct {
	// Issuer is the assertions' exact iss.
	Issuer string
	// JWKSURI is the IdP's key set, fetched through the SSRF-safe fetcher.
	JWKSURI string
	// Provider is the login provider whose identities the assertion's sub
	// maps to, so a person gets the same usr_ subject through the browser
	// and through ID-JAG; its admission rules apply.
	Provider string
	// AllowedClients, when set, are the only client_ids it may vouch for.
	AllowedClients []string
	// Scopes, when set, cap the scopes its assertions can yield.
	Scopes []string
}

// IssuerKeySource returns a trusted issuer's public keys; kid lets it
// refetch once on an unknown key (cimd.Resolver.KeySetForKID).
type IssuerKeySource interface {
	KeySetForKID(ctx context.Context, jwksURI, kid string) (jose.JSONWebKeySet, error)
}

// idJAGClaims are the claims of an ID-JAG (draft §3.1).
type idJAGClaims struct {
	jwt.Claims
	ClientID string   `json:"client_id"`
	Resource audience `json:"resource,omitempty"`
	Scope    string   `json:"scope,omitempty"`
	AuthTime int64    `json:"auth_time,omitempty"`
	ACR      string   `json:"acr,omitempty"`
	AMR      []string `json:"amr,omitempty"`
	Email    string   `json:"email,omitempty"`
	Name     string   `json:"name,omitempty"`
}

// audience reads a string or an array of strings (resource may be either).
type audience = jwt.Audience

// idJAGError is an invalid_grant naming the failing rule (for the client
// and, as the outcome label, for the metric).
type idJAGError struct {
	rule string
	err  *oauth.Error
}

func (e *idJAGError) Error() string { return e.err.Error() }
func (e *idJAGError) Unwrap() error { return e.err }

func jagFail(rule, format string, args ...any) error {
	return &idJAGError{rule: rule, err: oauth.InvalidGrant("ID-JAG "+format, args...)}
}

// verifyIDJAG checks an assertion presented by the authenticated client
// (draft §4.4.1, RFC 7523 §3, RFC 8725 §3.11): compact JWS with an
// asymmetric algorithm, typ oauth-id-jag+jwt, a trusted iss whose keys
// verify the signature, aud = our issuer, client_id = the client, exp in
// the future, iat present and recent, sub and jti present. The jti is not
// consumed here.
func (s *Server) verifyIDJAG(ctx context.Context, client *oauth.Client, raw string) (*idJAGClaims, *AssertionIssuer, error) {
	if len(raw) > maxIDJAGBytes {
		return nil, nil, jagFail("malformed", "is larger than %d bytes", maxIDJAGBytes)
	}
	tok, err := jwt.ParseSigned(raw, policy.AssertionAlgorithms)
	if err != nil || len(tok.Headers) != 1 {
		return nil, nil, jagFail("malformed", "is not a compact JWS signed with an asymmetric algorithm")
	}
	hdr := tok.Headers[0]
	if typ, _ := hdr.ExtraHeaders[jose.HeaderType].(string); !strings.EqualFold(strings.TrimPrefix(typ, "application/"), IDJAGType) {
		return nil, nil, jagFail("typ", "typ must be %s (draft §3.1), got %q", IDJAGType, truncate(typ, 60))
	}
	var unverified idJAGClaims
	if err := tok.UnsafeClaimsWithoutVerification(&unverified); err != nil {
		return nil, nil, jagFail("malformed", "claims are unreadable")
	}
	iss := s.assertionIssuer(unverified.Issuer)
	if iss == nil {
		return nil, nil, jagFail("issuer", "issuer %q is not trusted here", truncate(unverified.Issuer, 200))
	}
	keys, err := s.issuerKeys.KeySetForKID(ctx, iss.JWKSURI, hdr.KeyID)
	if err != nil {
		return nil, nil, (&idJAGError{rule: "issuer_keys", err: oauth.InvalidGrant("the keys of issuer %q could not be loaded", iss.Issuer).WithCause(err)})
	}
	key, err := pickAssertionKey(keys, hdr)
	if err != nil {
		return nil, nil, jagFail("signature", "kid %q matches no usable key of the issuer", truncate(hdr.KeyID, 80))
	}
	var claims idJAGClaims
	if err := tok.Claims(key.Key, &claims); err != nil {
		return nil, nil, jagFail("signature", "signature does not verify with the issuer's keys")
	}
	if err := s.checkIDJAGClaims(&claims, client, iss); err != nil {
		return nil, nil, err
	}
	return &claims, iss, nil
}

// checkIDJAGClaims is the ordered list of claim rules.
func (s *Server) checkIDJAGClaims(c *idJAGClaims, client *oauth.Client, iss *AssertionIssuer) error {
	now := s.now()
	switch {
	case c.Issuer != iss.Issuer:
		return jagFail("issuer", "iss changed between parsing and verification")
	case len(c.Audience) != 1 || c.Audience[0] != s.cfg.Issuer:
		// The sole audience (draft §4.4.1 names one server; rfc7523bis): an
		// ID-JAG that also names another server could be replayed here by
		// that server, as a public client needs no secret to name itself.
		return jagFail("audience", "aud must be this authorization server's issuer %q and nothing else", s.cfg.Issuer)
	case c.ClientID == "":
		return jagFail("client_id", "has no client_id claim")
	case c.ClientID != client.ID:
		return jagFail("client_id", "client_id %q is not the authenticated client", truncate(c.ClientID, 200))
	case len(iss.AllowedClients) > 0 && !slices.Contains(iss.AllowedClients, client.ID):
		return jagFail("client_id", "issuer %q may not vouch for this client (allowed_clients)", iss.Issuer)
	case c.Expiry == nil:
		return jagFail("exp", "has no exp")
	case !now.Before(c.Expiry.Time().Add(assertionLeeway)):
		return jagFail("exp", "has expired")
	case c.IssuedAt == nil:
		return jagFail("iat", "has no iat")
	case c.IssuedAt.Time().After(now.Add(assertionLeeway)):
		return jagFail("iat", "iat is in the future")
	case now.Sub(c.IssuedAt.Time()) > maxIDJAGAge+assertionLeeway:
		return jagFail("iat", "was issued more than %s ago", maxIDJAGAge)
	case c.NotBefore != nil && c.NotBefore.Time().After(now.Add(assertionLeeway)):
		return jagFail("nbf", "is not valid yet (nbf)")
	case c.Subject == "" || len(c.Subject) > 256:
		return jagFail("sub", "needs a sub of at most 256 bytes")
	case c.ID == "" || len(c.ID) > 256:
		return jagFail("jti", "needs a jti of at most 256 bytes")
	}
	return nil
}

func (s *Server) assertionIssuer(iss string) *AssertionIssuer {
	for i := range s.cfg.IdentityAssertions {
		if s.cfg.IdentityAssertions[i].Issuer == iss {
			return &s.cfg.IdentityAssertions[i]
		}
	}
	return nil
}
