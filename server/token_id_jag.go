package server

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-dev/gatehouse/identity"
	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/store"
)

// exchangeIDJAG is the jwt-bearer grant (RFC 7523 §2.1) with an ID-JAG as
// the assertion (enterprise-managed authorization): no browser and no
// consent page, the enterprise IdP's policy is the consent. The client is
// already authenticated (static, registered, or a CIMD client with its
// document's method, private_key_jwt included). The answer is an access
// token for the user the assertion's sub maps to, audience-restricted to
// the assertion's resource, with the requested scopes narrowed to the
// assertion's (MCP extension §7.2.1), and no refresh token.
func (s *Server) exchangeIDJAG(c echo.Context, client *oauth.Client, form url.Values) error {
	ctx := c.Request().Context()
	log := requestLogger(c, s.log)
	raw := form.Get("assertion")
	if raw == "" {
		s.metrics.idJAGDone("malformed")
		return oauth.InvalidRequest("assertion is required for the jwt-bearer grant")
	}
	claims, iss, err := s.verifyIDJAG(ctx, client, raw)
	if err == nil {
		err = s.useIDJAGID(ctx, claims)
	}
	var spec tokenSpec
	var user store.User
	if err == nil {
		spec, user, err = s.idJAGToken(ctx, client, form, claims, iss)
	}
	if err == nil { // the client profile's ceilings, as for every grant
		err = s.applyGrantCeilings(c, client, &spec)
	}
	if err != nil {
		rule := "error"
		var je *idJAGError
		if errors.As(err, &je) {
			rule = je.rule
		} else if oe := (*oauth.Error)(nil); errors.As(err, &oe) {
			rule = oe.Code
		}
		s.metrics.idJAGDone(rule)
		Audit(ctx, log, AuditPolicyDenial, "grant_type", oauth.GrantJWTBearer, "client_id", client.ID, "rule", rule, "reason", descriptionOf(err))
		return err
	}
	access, err := s.signAccessToken(spec)
	if err != nil {
		return err
	}
	s.metrics.idJAGDone("ok")
	Audit(ctx, log, AuditIDJAGAccepted, "client_id", client.ID, "user_id", user.ID, "issuer", iss.Issuer,
		"subject", claims.Subject, "resource", spec.Audience[0], "scopes", oauth.JoinScope(spec.Scopes))
	return s.writeTokenResponse(c, access, spec, "")
}

// AuditIDJAGAccepted: an ID-JAG was exchanged for an access token.
const AuditIDJAGAccepted = "id_jag_accepted"

// useIDJAGID records the assertion's jti past its expiry (as client
// assertions do, so a clock stepping back cannot revive it): an assertion
// is single use (RFC 7523 §3 rule 7). jtis are kept per issuer.
func (s *Server) useIDJAGID(ctx context.Context, c *idJAGClaims) error {
	err := s.store.UseAssertionID(ctx, "id-jag "+c.Issuer, c.ID, c.Expiry.Time().Add(assertionLeeway+assertionIDKeep))
	if errors.Is(err, store.ErrConflict) {
		return jagFail("replay", "jti was already used (replay)")
	}
	return err
}

// idJAGToken applies the resource and scope rules and finds (or
// provisions) the user.
func (s *Server) idJAGToken(ctx context.Context, client *oauth.Client, form url.Values, c *idJAGClaims, iss *AssertionIssuer) (tokenSpec, store.User, error) {
	// The token is for the assertion's resource (MCP extension §5.1); a
	// resource parameter may repeat it but not change it.
	requested := form["resource"]
	target := []string(c.Resource)
	if len(target) == 0 {
		target = requested
	} else if len(requested) > 0 && !sameResources(requested, target) {
		return tokenSpec{}, store.User{}, oauth.InvalidTarget("resource must match the ID-JAG's resource claim")
	}
	if len(target) > 1 {
		return tokenSpec{}, store.User{}, oauth.InvalidTarget("an ID-JAG token is for one resource")
	}
	resources, entries, err := s.policy().resources.resolve(target)
	if err != nil {
		return tokenSpec{}, store.User{}, err
	}
	// Scopes: the requested ones the resource accepts (grantScopes, RFC
	// 6749 §3.3), narrowed to the assertion's; none requested means the
	// assertion's; the issuer's cap applies to both.
	granted := oauth.SplitScope(c.Scope)
	if form.Has("scope") {
		want, _, err := grantScopes(oauth.SplitScope(form.Get("scope")), entries, client)
		if err != nil {
			return tokenSpec{}, store.User{}, err
		}
		if granted = intersect(want, granted); len(want) > 0 && len(granted) == 0 {
			return tokenSpec{}, store.User{}, oauth.InvalidScope("none of the requested scopes is in the ID-JAG's scope")
		}
	} else if granted, _, err = grantScopes(granted, entries, client); err != nil {
		return tokenSpec{}, store.User{}, err
	}
	if len(iss.Scopes) > 0 {
		granted = intersect(granted, iss.Scopes)
	}
	user, err := s.idJAGUser(ctx, c, iss)
	if err != nil {
		return tokenSpec{}, store.User{}, err
	}
	granted, err = s.grantableScopes(ctx, user, entries, granted)
	if err != nil {
		return tokenSpec{}, store.User{}, err
	}
	var authTime time.Time
	if c.AuthTime > 0 {
		authTime = time.Unix(c.AuthTime, 0)
	}
	spec, err := s.newTokenSpec(user.ID, client.ID, resources, granted, authTime)
	if err != nil {
		return tokenSpec{}, store.User{}, err
	}
	spec.Extra, err = s.resourceClaims(ctx, user, entries)
	return spec, user, err
}

// idJAGUser maps the assertion's sub to the user linked at the issuer's
// login provider, provisioning one if the provider's admission rules admit
// the person; a known user is checked against the rules as they stand.
func (s *Server) idJAGUser(ctx context.Context, c *idJAGClaims, iss *AssertionIssuer) (store.User, error) {
	p := s.provider(iss.Provider)
	if p == nil {
		return store.User{}, jagFail("provider", "issuer %q maps to login provider %q, which is not configured", iss.Issuer, iss.Provider)
	}
	linked, err := s.store.Identity(ctx, p.ID(), c.Subject)
	switch {
	case err == nil:
		if err := s.checkAdmission(ctx, linked.UserID); errors.Is(err, errNotAdmitted) {
			return store.User{}, jagFail("admission", "user is not admitted: %v", errors.Unwrap(err))
		} else if err != nil {
			return store.User{}, err
		}
		return s.store.UserByID(ctx, linked.UserID)
	case !errors.Is(err, store.ErrNotFound):
		return store.User{}, err
	}
	// The IdP signed the assertion, so its email claim is its statement
	// about the user, as verified as the rest of the assertion.
	id := identity.Identity{Provider: p.ID(), Subject: c.Subject, Email: c.Email, EmailVerified: c.Email != "", Name: c.Name}
	if err := p.Admit(id); err != nil {
		var re *identity.RefusedError
		if errors.As(err, &re) {
			return store.User{}, jagFail("admission", "user is refused by the admission rules of %s: %s", p.ID(), re.Reason)
		}
		return store.User{}, err
	}
	return s.userForIdentity(ctx, s.log, id)
}

// sameStrings reports whether a and b hold the same strings.
func intersect(a, b []string) []string {
	var out []string
	for _, x := range a {
		if slices.Contains(b, x) && !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}
