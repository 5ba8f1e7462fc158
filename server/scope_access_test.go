package server

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/identity"
	"github.com/gatehouse-dev/gatehouse/identity/identitytest"
)

// scopeAccessEnv: files:write only for the staff group; tokens for
// testResource carry email and groups.
func scopeAccessEnv(t *testing.T) (*oauthEnv, *identitytest.OIDC) {
	up := identitytest.NewOIDC(t)
	e := newOAuthEnv(t, withOIDC(t, up, identity.Admission{}, false), func(c *Config) {
		c.Resources[0].Claims = []string{"email", "groups"}
		c.Resources[0].ScopeAccess = []ScopeAccess{{Scopes: []string{"files:write"}, Groups: []string{"staff"}}}
	})
	return e, up
}

func TestScopeAccessAndResourceClaims(t *testing.T) {
	e, up := scopeAccessEnv(t)
	verifier, challenge := pkce()
	params := authzParams("public-app", publicRedirect, challenge)
	params.Set("scope", "files:read files:write")
	code, state := up.Authorize(t, e.followToUpstream(loginPath+"/corp"))
	e.upstreamCallback(url.Values{"code": {code}, "state": {state}})
	_, tok := e.exchange(e.code(params), verifier)
	claims := verifyAccessToken(t, e, tok["access_token"].(string), testResource)
	if claims.Scope != "files:read files:write" || claims.Extra["email"] != "alice@example.com" || toJSON(claims.Extra["groups"]) != `["staff"]` {
		t.Fatalf("staff member's token: scope %q extra %v", claims.Scope, claims.Extra)
	}
	if _, ok := claims.Extra["name"]; ok {
		t.Fatal("name copied though the resource does not list it")
	}
	// The user leaves the group and signs in again: refresh drops the scope.
	up.Claims["groups"] = []string{"contractors"}
	b2 := e.newBrowser()
	code, state = up.Authorize(t, b2.followToUpstream(loginPath+"/corp"))
	b2.upstreamCallback(url.Values{"code": {code}, "state": {state}})
	resp, tok := e.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok["refresh_token"].(string)}, "client_id": {"public-app"}}, "", "")
	if resp.StatusCode != http.StatusOK || tok["scope"] != "files:read" {
		t.Fatalf("refresh after leaving the group: %d %v; want scope files:read", resp.StatusCode, tok)
	}
}

func TestScopeAccessDeniesWhenNothingGrantable(t *testing.T) {
	e, _ := scopeAccessEnv(t)
	// alice (a password account, no groups) asks only for files:write.
	_, challenge := pkce()
	params := authzParams("public-app", publicRedirect, challenge)
	params.Set("scope", "files:write")
	loc := e.authorize(params, "allow")
	if loc.Query().Get("error") != "access_denied" || !strings.Contains(loc.Query().Get("error_description"), "files:write") {
		t.Fatalf("redirect = %s; want access_denied naming files:write", loc)
	}
	// Asking for both, the consent page shows only files:read.
	params.Set("scope", "files:read files:write")
	resp, body := e.get(authorizePath + "?" + params.Encode())
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "files:read") || strings.Contains(body, "files:write") {
		t.Fatalf("consent page (%d) should list only grantable scopes:\n%s", resp.StatusCode, body)
	}
	_ = context.Background()
}

// TestScopeAccessIgnoresAnUnverifiedEmail: with require_verified_email
// off, an upstream user whose email is not verified does not match a
// scope_access entry naming that address (anyone could have typed it);
// once the provider says it is verified, the scope is granted.
func TestScopeAccessIgnoresAnUnverifiedEmail(t *testing.T) {
	up := identitytest.NewOIDC(t)
	up.Claims = map[string]any{"sub": "u-999", "email": "boss@example.com", "email_verified": false, "preferred_username": "mallory"}
	e := newOAuthEnv(t, withOIDC(t, up, identity.Admission{}, false), func(c *Config) {
		c.Resources[0].ScopeAccess = []ScopeAccess{{Scopes: []string{"files:write"}, Users: []string{"boss@example.com"}}}
	})
	code, state := up.Authorize(t, e.followToUpstream(loginPath+"/corp"))
	e.upstreamCallback(url.Values{"code": {code}, "state": {state}})
	verifier, challenge := pkce()
	params := authzParams("public-app", publicRedirect, challenge)
	params.Set("scope", "files:read files:write")
	_, tok := e.exchange(e.code(params), verifier)
	if tok["scope"] != "files:read" {
		t.Fatalf("an unverified email matched scope_access: scope %v, want files:read", tok["scope"])
	}
	up.Claims["email_verified"] = true
	b2 := e.newBrowser()
	code, state = up.Authorize(t, b2.followToUpstream(loginPath+"/corp"))
	b2.upstreamCallback(url.Values{"code": {code}, "state": {state}})
	verifier, challenge = pkce()
	params = authzParams("public-app", publicRedirect, challenge)
	params.Set("scope", "files:read files:write")
	_, tok = e.exchange(e.code(params), verifier)
	if tok["scope"] != "files:read files:write" {
		t.Fatalf("a verified email did not match scope_access: scope %v", tok["scope"])
	}
}

// A resource that lists email but not email_verified still gets
// email_verified beside it: an address the provider did not verify must
// not read as a verified one (selectClaims).
func TestResourceClaimsEmailTravelsWithEmailVerified(t *testing.T) {
	up := identitytest.NewOIDC(t)
	up.Claims = map[string]any{"sub": "u-7", "email": "boss@example.com", "email_verified": false, "preferred_username": "mallory"}
	e := newOAuthEnv(t, withOIDC(t, up, identity.Admission{}, false), func(c *Config) {
		c.Resources[0].Claims = []string{"email"}
	})
	code, state := up.Authorize(t, e.followToUpstream(loginPath+"/corp"))
	e.upstreamCallback(url.Values{"code": {code}, "state": {state}})
	verifier, challenge := pkce()
	_, tok := e.exchange(e.code(authzParams("public-app", publicRedirect, challenge)), verifier)
	claims := verifyAccessToken(t, e, tok["access_token"].(string), testResource)
	if v, ok := claims.Extra["email_verified"]; claims.Extra["email"] != "boss@example.com" || !ok || v != false {
		t.Fatalf("access token claims %v: want email with email_verified false", claims.Extra)
	}
}
