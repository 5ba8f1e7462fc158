package dcr

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/policy"
)

// TrustedIssuer is a software statement issuer the operator trusts.
type TrustedIssuer struct {
	// Issuer is the statement's exact iss.
	Issuer string
	// Keys verify the issuer's statements.
	Keys jose.JSONWebKeySet
	// Algorithms allowed for this issuer (default: every asymmetric one).
	Algorithms []jose.SignatureAlgorithm
}

// StatementPolicy says which software statements Gatehouse trusts.
type StatementPolicy struct {
	// Required refuses registrations without a trusted statement.
	Required bool
	Issuers  []TrustedIssuer
}

// statementLeeway is the clock skew tolerated on exp, nbf and iat.
const statementLeeway = time.Minute

// jwtClaimNames are JWT housekeeping claims, never client metadata.
var jwtClaimNames = []string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti"}

// verifyStatement checks a software statement (RFC 7591 §2.3): a compact
// JWS with an allowed asymmetric algorithm, an iss the operator trusts, a
// valid signature by that issuer's keys, and sane times. It returns the
// statement's metadata claims, which override the JSON body (§3.1.1).
func (p StatementPolicy) verifyStatement(raw string, now time.Time) (map[string]json.RawMessage, string, error) {
	tok, err := jwt.ParseSigned(raw, policy.AssertionAlgorithms)
	if err != nil || len(tok.Headers) != 1 {
		return nil, "", oauth.New(oauth.ErrCodeInvalidSoftwareStatement, 400, "software_statement is not a compact JWS signed with an asymmetric algorithm")
	}
	var unverified jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&unverified); err != nil || unverified.Issuer == "" {
		return nil, "", oauth.New(oauth.ErrCodeInvalidSoftwareStatement, 400, "software_statement must carry iss (RFC 7591 §2.3)")
	}
	idx := slices.IndexFunc(p.Issuers, func(t TrustedIssuer) bool { return t.Issuer == unverified.Issuer })
	if idx < 0 {
		return nil, "", oauth.New(oauth.ErrCodeUnapprovedSoftwareStatement, 400, "software_statement issuer %q is not trusted by this server", clip(unverified.Issuer))
	}
	issuer := p.Issuers[idx]
	alg := jose.SignatureAlgorithm(tok.Headers[0].Algorithm)
	if len(issuer.Algorithms) > 0 && !slices.Contains(issuer.Algorithms, alg) {
		return nil, "", oauth.New(oauth.ErrCodeInvalidSoftwareStatement, 400, "software_statement algorithm %s is not allowed for %s", alg, issuer.Issuer)
	}
	var std jwt.Claims
	var claims map[string]json.RawMessage
	if err := tok.Claims(issuer.Keys, &std, &claims); err != nil {
		return nil, "", oauth.New(oauth.ErrCodeInvalidSoftwareStatement, 400, "software_statement signature does not verify against %s's keys", issuer.Issuer)
	}
	if err := std.ValidateWithLeeway(jwt.Expected{Issuer: issuer.Issuer, Time: now}, statementLeeway); err != nil {
		return nil, "", oauth.New(oauth.ErrCodeInvalidSoftwareStatement, 400, "software_statement is not valid now: %v", err)
	}
	for _, name := range jwtClaimNames {
		delete(claims, name)
	}
	return claims, issuer.Issuer, nil
}

// applyStatement overlays a trusted statement's claims on the body
// members, or refuses the registration when a statement is required. It
// returns the issuer of the statement it verified, "" when there was none.
func (p StatementPolicy) applyStatement(members map[string]json.RawMessage, now time.Time) (issuer string, err error) {
	raw, present := members["software_statement"]
	if !present || string(raw) == "null" {
		if p.Required {
			return "", oauth.New(oauth.ErrCodeInvalidSoftwareStatement, 400, "a software_statement from a trusted issuer is required")
		}
		return "", nil
	}
	var statement string
	if err := json.Unmarshal(raw, &statement); err != nil {
		return "", oauth.New(oauth.ErrCodeInvalidSoftwareStatement, 400, "software_statement must be a string")
	}
	claims, iss, err := p.verifyStatement(statement, now)
	if err != nil {
		return "", err
	}
	for k, v := range claims {
		members[k] = v
	}
	return iss, nil
}
