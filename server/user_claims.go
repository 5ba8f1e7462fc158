package server

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/store"
)

// UserClaimNames are the user claims a resource may ask for
// (resources[].claims) and that profile/email release in OpenID Connect.
var UserClaimNames = []string{"email", "email_verified", "name", "groups", "preferred_username"}

// userClaims are what Gatehouse knows about a user: the claims of the
// user's linked identities as of their last sign-in (the first identity
// with a value wins; groups are the union), and the login name as
// preferred_username when no identity has one.
func (s *Server) userClaims(ctx context.Context, u store.User) (map[string]any, error) {
	out := map[string]any{}
	ids, err := s.store.IdentitiesByUser(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	var groups []string
	for _, id := range ids {
		if _, ok := out["email"]; !ok && id.Email != "" {
			out["email"], out["email_verified"] = id.Email, id.EmailVerified
		}
		if _, ok := out["name"]; !ok && id.Name != "" {
			out["name"] = id.Name
		}
		if _, ok := out["preferred_username"]; !ok && id.Username != "" {
			out["preferred_username"] = id.Username
		}
		for _, g := range id.Groups {
			if !slices.Contains(groups, g) {
				groups = append(groups, g)
			}
		}
	}
	if _, ok := out["preferred_username"]; !ok {
		out["preferred_username"] = u.Name
	}
	if len(groups) > 0 {
		out["groups"] = groups
	}
	return out, nil
}

// resourceClaims are the user claims copied into an access token: those
// every one of its resources lists (a token for two resources carries only
// what both asked for). Nothing is copied unless listed.
func (s *Server) resourceClaims(ctx context.Context, u store.User, entries []*Resource) (map[string]any, error) {
	if len(entries) == 0 || u.ID == "" {
		return nil, nil
	}
	want := entries[0].Claims
	for _, r := range entries[1:] {
		want = intersect(want, r.Claims)
	}
	if len(want) == 0 {
		return nil, nil
	}
	return s.selectClaims(ctx, u, want)
}

// selectClaims are the claims named in want that the user has; email
// always travels with email_verified, so that nobody reads an unverified
// address as verified.
func (s *Server) selectClaims(ctx context.Context, u store.User, want []string) (map[string]any, error) {
	all, err := s.userClaims(ctx, u)
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	for _, k := range want {
		if v, ok := all[k]; ok {
			out[k] = v
			if k == "email" {
				out["email_verified"] = all["email_verified"]
			}
		}
	}
	return out, nil
}

// grantableScopes drops the scopes the user may not have under the
// resources' scope_access rules. A scope restricted by a resource needs a
// match in one of that resource's entries naming it.
func (s *Server) grantableScopes(ctx context.Context, u store.User, entries []*Resource, scopes []string) ([]string, error) {
	restricted := false
	for _, r := range entries {
		restricted = restricted || len(r.ScopeAccess) > 0
	}
	if !restricted || len(scopes) == 0 {
		return scopes, nil
	}
	claims, err := s.userClaims(ctx, u)
	if err != nil {
		return nil, err
	}
	groups, _ := claims["groups"].([]string)
	names := []string{u.Name, u.ID}
	if v, ok := claims["preferred_username"].(string); ok {
		names = append(names, v)
	}
	// An email names a user only when the provider says it is verified:
	// where the user may set it freely (require_verified_email: false,
	// Entra ID's mutable email claim), matching it would let anyone claim
	// another person's address and the scopes that go with it.
	if v, ok := claims["email"].(string); ok && claims["email_verified"] == true {
		names = append(names, v)
	}
	var out []string
	for _, sc := range scopes {
		ok := true
		for _, r := range entries {
			ok = ok && scopeAllowed(r, sc, groups, names)
		}
		if ok {
			out = append(out, sc)
		}
	}
	return out, nil
}

func scopeAllowed(r *Resource, scope string, groups, names []string) bool {
	named := false
	for _, e := range r.ScopeAccess {
		if !slices.Contains(e.Scopes, scope) {
			continue
		}
		named = true
		for _, g := range e.Groups {
			if slices.Contains(groups, g) {
				return true
			}
		}
		for _, n := range e.Users {
			if slices.Contains(names, n) {
				return true
			}
		}
	}
	return !named
}

// checkResourceUserRules validates claims and scope_access of a resource.
func checkResourceUserRules(r Resource) error {
	for _, c := range r.Claims {
		if !slices.Contains(UserClaimNames, c) || c == "email_verified" {
			return fmt.Errorf("claims: %q is not one of email, name, groups, preferred_username", c)
		}
	}
	for j, e := range r.ScopeAccess {
		if len(e.Scopes) == 0 {
			return fmt.Errorf("scope_access[%d].scopes: must name at least one scope", j)
		}
		if len(e.Groups)+len(e.Users) == 0 {
			return fmt.Errorf("scope_access[%d]: name groups or users (an entry with neither would grant its scopes to nobody)", j)
		}
		for _, sc := range e.Scopes {
			if sc != oauth.ScopeOfflineAccess && !slices.Contains(r.Scopes, sc) {
				return fmt.Errorf("scope_access[%d].scopes: %q is not one of the resource's scopes", j, sc)
			}
		}
	}
	return nil
}

// MarshalJSON writes the claims with the user claims (Extra) at the top
// level. Extra keys come from UserClaimNames only, so they cannot shadow a
// registered claim.
func (a accessTokenClaims) MarshalJSON() ([]byte, error) {
	type plain accessTokenClaims
	b, err := json.Marshal(plain(a))
	if err != nil || len(a.Extra) == 0 {
		return b, err
	}
	extra, err := json.Marshal(a.Extra)
	if err != nil {
		return nil, err
	}
	return append(append(b[:len(b)-1], ','), extra[1:]...), nil
}

// UnmarshalJSON reads the claims and any user claims into Extra.
func (a *accessTokenClaims) UnmarshalJSON(b []byte) error {
	type plain accessTokenClaims
	if err := json.Unmarshal(b, (*plain)(a)); err != nil {
		return err
	}
	var all map[string]any
	if err := json.Unmarshal(b, &all); err != nil {
		return err
	}
	for _, k := range UserClaimNames {
		if v, ok := all[k]; ok {
			if a.Extra == nil {
				a.Extra = map[string]any{}
			}
			a.Extra[k] = v
		}
	}
	return nil
}

// narrowForUser applies scope_access to an authorization request once the
// user is known: the consent page and the code carry only grantable
// scopes, and a request of which nothing is grantable is access_denied
// naming the scopes (the token response's scope then says what was
// granted, RFC 6749 §5.1).
func (s *Server) narrowForUser(ctx context.Context, u store.User, req *authzRequest) error {
	entries := s.entriesFor(req.Resources)
	granted, err := s.grantableScopes(ctx, u, entries, req.Scopes)
	if err != nil {
		return err
	}
	if len(req.Scopes) > 0 && len(granted) == 0 {
		return &redirectError{req: req, err: oauth.AccessDenied("the user may not be granted %s (resources[].scope_access)", oauth.JoinScope(req.Scopes))}
	}
	req.Scopes = granted
	return nil
}

// entriesFor finds the configured entries of resources already validated.
func (s *Server) entriesFor(resources []string) []*Resource {
	if len(resources) == 0 {
		return nil
	}
	_, entries, err := s.policy().resources.resolve(resources)
	if err != nil {
		return nil // validated earlier; a reload may have removed one
	}
	return entries
}

// needsUserClaims reports whether tokens for these entries carry user
// claims or depend on scope_access (so the user must be loaded).
func needsUserClaims(entries []*Resource) bool {
	for _, r := range entries {
		if len(r.Claims) > 0 || len(r.ScopeAccess) > 0 {
			return true
		}
	}
	return false
}
