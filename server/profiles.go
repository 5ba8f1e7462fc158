package server

import (
	"context"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/policy"
)

// profileClient is what profile matching knows of a resolved client: its
// ID, its kind and, for a registered client, the software_id a verified
// software statement asserted (never a self-asserted one).
func profileClient(c *oauth.Client) policy.ProfileClient {
	return policy.ProfileClient{ID: c.ID, URL: c.Kind == oauth.ClientCIMD, Registered: c.Kind == oauth.ClientDCR,
		SoftwareID: c.VerifiedSoftwareID}
}

// profileFor is the client profile that applies to c under the policy p
// (one snapshot: a request reads its profile once, so a reload never
// gives it a mix of two).
func (p *policyState) profileFor(c *oauth.Client) *policy.Profile {
	return p.profiles.For(profileClient(c))
}

// clientProfile is profileFor under the policy in force.
func (s *Server) clientProfile(c *oauth.Client) *policy.Profile {
	return s.policy().profileFor(c)
}

// defaultProfiles is the profile set of a server configured without
// client_profiles: every client gets the built-in default.
func (s *Server) defaultProfiles(cc ClientCredentialsPolicy) *policy.Profiles {
	ps, _ := policy.NewProfiles(nil, policy.ProfileDefaults{
		ClientCredentialsDCR: cc.DCR, ClientCredentialsCIMD: cc.CIMD,
		AccessTokenTTL: s.cfg.AccessTokenTTL, RefreshTokenMaxTTL: s.cfg.RefreshMaxTTL,
	})
	return ps
}

// capScopes applies a profile's scope ceiling to requested scopes, and
// drops offline_access when the profile withholds refresh tokens (it
// asks for one). requested non-empty with nothing left is invalid_scope:
// a token without any of the scopes asked for would only send the client
// back in a loop.
func capScopes(prof *policy.Profile, requested []string) ([]string, []string, error) {
	kept, dropped := prof.Ceilings.CapScopes(requested)
	if !prof.Ceilings.RefreshAllowed() && slices.Contains(kept, oauth.ScopeOfflineAccess) {
		kept = slices.DeleteFunc(slices.Clone(kept), func(s string) bool { return s == oauth.ScopeOfflineAccess })
		dropped = append(dropped, oauth.ScopeOfflineAccess)
	}
	if len(requested) > 0 && len(kept) == 0 {
		return nil, dropped, oauth.InvalidScope("none of the requested scopes (%s) is open to this client (client profile %s)",
			truncate(strings.Join(requested, " "), 200), prof.Name)
	}
	return kept, dropped, nil
}

// checkResourceCeiling refuses audiences outside a profile's resource
// ceiling (RFC 8707 §2: invalid_target).
func checkResourceCeiling(prof *policy.Profile, auds []string) error {
	for _, aud := range auds {
		if !resourceAllowed(prof.Ceilings.Resources, aud) {
			return oauth.InvalidTarget("resource %q is not open to this client (client profile %s)", truncate(aud, 200), prof.Name)
		}
	}
	return nil
}

// applyTokenCeilings shortens an access token's lifetime to the profile's
// access_token_ttl ceiling. Every grant calls it after newTokenSpec.
func (s *Server) applyTokenCeilings(spec *tokenSpec, prof *policy.Profile) {
	if ttl := prof.Ceilings.AccessTTL(s.cfg.AccessTokenTTL); spec.ExpiresAt.Sub(spec.IssuedAt) > ttl {
		spec.ExpiresAt = spec.IssuedAt.Add(ttl)
		s.metrics.ceilingApplied(prof.Name, "access_token_ttl")
	}
}

// applyRequestCeilings applies the client profile's ceilings to an
// authorization request: a resource outside the resource ceiling is
// refused, scopes outside the scope ceiling are dropped (the consent page
// and the code carry only the rest).
func (s *Server) applyRequestCeilings(ctx context.Context, req *authzRequest) error {
	prof := req.Profile
	if err := checkResourceCeiling(prof, req.Resources); err != nil {
		s.metrics.ceilingApplied(prof.Name, "resources")
		Audit(ctx, s.log, AuditCeilingRefused, "client_id", req.Client.ID, "profile", prof.Name, "ceiling", "resources", "reason", descriptionOf(err))
		return err
	}
	kept, dropped, err := capScopes(prof, req.Scopes)
	if len(dropped) > 0 {
		s.metrics.ceilingApplied(prof.Name, "scopes")
		s.log.DebugContext(ctx, "client profile dropped scopes", "client_id", req.Client.ID, "profile", prof.Name, "dropped", strings.Join(dropped, " "))
	}
	if err != nil {
		Audit(ctx, s.log, AuditCeilingRefused, "client_id", req.Client.ID, "profile", prof.Name, "ceiling", "scopes", "reason", descriptionOf(err))
		return err
	}
	req.Scopes = kept
	return nil
}

// ctxProfile holds the client profile a token request was decided under.
const ctxProfile = "gatehouse.client_profile"

// requestProfile is the client profile of this request's client, read
// from the policy once and kept for the rest of the request: the approval
// check, the ceilings and the token lifetime all see the same profile,
// even when a reload swaps the policy halfway. Every grant (the jwt-bearer
// one too) reads its ceilings through it.
func (s *Server) requestProfile(c echo.Context, client *oauth.Client) *policy.Profile {
	if p, ok := c.Get(ctxProfile).(*policy.Profile); ok {
		return p
	}
	p := s.clientProfile(client)
	c.Set(ctxProfile, p)
	return p
}

// refreshAllowed reports whether prof lets a grant carry a refresh token,
// counting the ceiling when it withholds one.
func (s *Server) refreshAllowed(prof *policy.Profile) bool {
	if prof.Ceilings.RefreshAllowed() {
		return true
	}
	s.metrics.ceilingApplied(prof.Name, "refresh_tokens")
	return false
}

// tokenResourceCeiling is checkResourceCeiling at the token endpoint,
// with its audit event.
func (s *Server) tokenResourceCeiling(c echo.Context, client *oauth.Client, prof *policy.Profile, auds []string) error {
	err := checkResourceCeiling(prof, auds)
	if err != nil {
		s.metrics.ceilingApplied(prof.Name, "resources")
		Audit(c.Request().Context(), requestLogger(c, s.log), AuditCeilingRefused, "client_id", client.ID, "profile", prof.Name,
			"ceiling", "resources", "reason", descriptionOf(err))
	}
	return err
}

// applyGrantCeilings applies the client profile's resource, scope and
// lifetime ceilings to a token a grant has built (the jwt-bearer grant:
// an enterprise IdP vouching for the user does not lift the operator's
// ceilings for the client).
func (s *Server) applyGrantCeilings(c echo.Context, client *oauth.Client, spec *tokenSpec) error {
	prof := s.requestProfile(c, client)
	if err := s.tokenResourceCeiling(c, client, prof, spec.Audience); err != nil {
		return err
	}
	scopes, dropped, err := capScopes(prof, spec.Scopes)
	if err != nil {
		return err
	}
	if len(dropped) > 0 {
		s.metrics.ceilingApplied(prof.Name, "scopes")
	}
	spec.Scopes = scopes
	s.applyTokenCeilings(spec, prof)
	return nil
}
