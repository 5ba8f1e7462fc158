package server

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/gatehouse-dev/gatehouse/identity"
	"github.com/gatehouse-dev/gatehouse/identity/identitytest"
)

func TestOpenIDConnectCodeFlow(t *testing.T) {
	e := newOAuthEnv(t)
	verifier, challenge := pkce()
	params := authzParams("public-app", publicRedirect, challenge)
	params.Set("scope", "openid profile email files:read")
	params.Set("nonce", "n-0S6_WzA2Mj")
	params.Set("prompt", "select_account consent") // select_account is ignored, not an error
	resp, tok := e.exchange(e.code(params), verifier)
	if resp.StatusCode != http.StatusOK || tok["id_token"] == nil {
		t.Fatalf("token response %d %v; want an id_token", resp.StatusCode, tok)
	}
	// go-oidc verifies it: signature against /jwks.json, iss, aud, exp.
	ctx := oidc.ClientContext(context.Background(), e.http.Client())
	keys := oidc.NewRemoteKeySet(ctx, e.http.URL+jwksPath)
	v := oidc.NewVerifier(e.srv.cfg.Issuer, keys, &oidc.Config{ClientID: "public-app", Now: e.clock.Now, SupportedSigningAlgs: []string{"ES256"}})
	idt, err := v.Verify(ctx, tok["id_token"].(string))
	if err != nil {
		t.Fatalf("go-oidc rejects the ID token: %v", err)
	}
	var claims struct {
		Nonce             string   `json:"nonce"`
		AuthTime          int64    `json:"auth_time"`
		PreferredUsername string   `json:"preferred_username"`
		AMR               []string `json:"amr"`
	}
	if err := idt.Claims(&claims); err != nil || claims.Nonce != "n-0S6_WzA2Mj" || claims.AuthTime == 0 || claims.PreferredUsername != testUser ||
		len(claims.AMR) != 1 || claims.AMR[0] != "pwd" {
		t.Fatalf("ID token claims %+v, %v", claims, err)
	}
	access := tok["access_token"].(string)
	// /userinfo with the access token.
	req, _ := http.NewRequest(http.MethodGet, e.http.URL+userinfoPath, nil)
	req.Header.Set("Authorization", "Bearer "+access)
	resp, info := e.doJSON(req)
	if resp.StatusCode != http.StatusOK || info["sub"] != idt.Subject || info["preferred_username"] != testUser {
		t.Fatalf("userinfo %d %v", resp.StatusCode, info)
	}
	req, _ = http.NewRequest(http.MethodGet, e.http.URL+userinfoPath, nil)
	req.Header.Set("Authorization", "Bearer not-a-token")
	if resp, _ := e.doJSON(req); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "invalid_token") {
		t.Fatalf("userinfo with a bad token: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	// Without openid there is no ID token and userinfo says insufficient_scope.
	verifier, challenge = pkce()
	_, tok = e.exchange(e.code(authzParams("public-app", publicRedirect, challenge)), verifier)
	if tok["id_token"] != nil {
		t.Fatal("an ID token without the openid scope")
	}
	req, _ = http.NewRequest(http.MethodGet, e.http.URL+userinfoPath, nil)
	req.Header.Set("Authorization", "Bearer "+tok["access_token"].(string))
	if resp, _ := e.doJSON(req); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("userinfo without openid: %d", resp.StatusCode)
	}
}

func TestOpenIDDiscoveryFields(t *testing.T) {
	e := newOAuthEnv(t)
	_, md := e.doJSON(mustReq(t, e.http.URL+wellKnownOIDC))
	for _, k := range []string{"issuer", "authorization_endpoint", "token_endpoint", "jwks_uri", "response_types_supported",
		"subject_types_supported", "id_token_signing_alg_values_supported", "userinfo_endpoint", "claims_supported"} {
		if md[k] == nil {
			t.Errorf("discovery lacks %s (OIDC Discovery §3)", k)
		}
	}
	if !strings.Contains(toJSON(md["scopes_supported"]), `"openid"`) {
		t.Errorf("scopes_supported lacks openid: %v", md["scopes_supported"])
	}
}

func TestMaxAgeForcesSignIn(t *testing.T) {
	e := newOAuthEnv(t)
	_, challenge := pkce()
	params := authzParams("public-app", publicRedirect, challenge)
	e.authorize(params, "allow") // signed in and consented
	e.clock.Advance(10 * time.Minute)
	params.Set("max_age", "60")
	resp, _ := e.get(authorizePath + "?" + params.Encode())
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || loc.Path != loginPath || loc.Query().Get("prompt") != "login" {
		t.Fatalf("max_age exceeded: %d %s; want the sign-in page", resp.StatusCode, loc)
	}
	// A sign-in younger than max_age goes straight through.
	params.Set("max_age", "3600")
	if resp, _ := e.get(authorizePath + "?" + params.Encode()); !strings.HasPrefix(resp.Header.Get("Location"), publicRedirect) {
		t.Fatalf("max_age satisfied: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	params.Set("max_age", "-1")
	if resp, _ := e.get(authorizePath + "?" + params.Encode()); !strings.Contains(resp.Header.Get("Location"), "invalid_request") {
		t.Fatalf("bad max_age: %s", resp.Header.Get("Location"))
	}
}

// TestIDTokenCarriesUpstreamAMR: after an upstream sign-in, the ID token
// says how the upstream authenticated the user (its amr and acr).
func TestIDTokenCarriesUpstreamAMR(t *testing.T) {
	up := identitytest.NewOIDC(t)
	up.Claims["amr"] = []string{"pwd", "mfa"}
	up.Claims["acr"] = "urn:example:loa:2"
	e := newOAuthEnv(t, withOIDC(t, up, identity.Admission{}, true))
	verifier, challenge := pkce()
	params := authzParams("public-app", publicRedirect, challenge)
	params.Set("scope", "openid files:read")
	code, state := up.Authorize(t, e.followToUpstream(authorizePath+"?"+params.Encode()))
	e.upstreamCallback(url.Values{"code": {code}, "state": {state}})
	_, tok := e.exchange(e.code(params), verifier)
	raw, _ := tok["id_token"].(string)
	parsed, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatalf("id_token %q: %v", raw, err)
	}
	var claims struct {
		AMR []string `json:"amr"`
		ACR string   `json:"acr"`
	}
	if err := parsed.Claims(e.srv.keys.Public(), &claims); err != nil || toJSON(claims.AMR) != `["pwd","mfa"]` || claims.ACR != "urn:example:loa:2" {
		t.Fatalf("ID token amr/acr = %+v, %v", claims, err)
	}
}

// TestMaxAgeSignInDoesNotLoop: the sign-in that max_age forces satisfies
// it. openid-client with max_age: 0 (OIDC Core §3.1.2.1: prompt=login) was
// sent back to the sign-in page after every sign-in, for ever, because
// the returning request asked for max_age again and a second had passed.
func TestMaxAgeSignInDoesNotLoop(t *testing.T) {
	for _, tc := range []struct {
		name     string
		signedIn bool // a session exists, older than max_age
		maxAge   string
		state    int // length of the state; past 2 KiB the request is kept pending
	}{
		{"zero, signed in", true, "0", 8},
		{"zero, signed out", false, "0", 8},
		{"shorter than the sign-in takes, signed in", true, "1", 8},
		{"shorter than the sign-in takes, signed out", false, "1", 8},
		{"zero, signed out, request kept pending", false, "0", 4000},
		{"zero, signed in, request kept pending", true, "0", 4000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newOAuthEnv(t)
			verifier, challenge := pkce()
			params := authzParams("public-app", publicRedirect, challenge)
			params.Set("scope", "openid files:read")
			if tc.signedIn {
				e.authorize(params, "allow")
				e.clock.Advance(10 * time.Minute)
			}
			params.Set("max_age", tc.maxAge)
			params.Set("state", strings.Repeat("s", tc.state))
			signIns := 0
			resp, body := e.get(authorizePath + "?" + params.Encode())
			var back *url.URL
			for range 8 {
				if resp.StatusCode == http.StatusFound || resp.StatusCode == http.StatusSeeOther {
					loc, _ := url.Parse(resp.Header.Get("Location"))
					if loc.Host != "" {
						back = loc
						break
					}
					resp, body = e.get(loc.RequestURI())
					continue
				}
				action, form := formFields(t, body)
				if strings.Contains(body, "<h1>Sign in</h1>") {
					signIns++
					form.Set("username", testUser)
					form.Set("password", testPassword)
					resp, body = e.postForm(action, form)
					e.clock.Advance(2 * time.Second) // the way back to /authorize takes time too
					continue
				}
				form.Set("decision", "allow")
				resp, body = e.postForm(action, form)
			}
			if back == nil || back.Query().Get("code") == "" || back.Query().Get("state") != params.Get("state") || signIns != 1 {
				t.Fatalf("max_age=%s: %d sign-in(s), back at the client with %v; want one sign-in and a code", tc.maxAge, signIns, back)
			}
			signedInAt := e.clock.Now().Add(-2 * time.Second).Unix()
			_, tok := e.exchange(back.Query().Get("code"), verifier)
			raw, _ := tok["id_token"].(string)
			parsed, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256})
			if err != nil {
				t.Fatalf("id_token %q: %v", raw, err)
			}
			var claims struct {
				AuthTime int64 `json:"auth_time"`
			}
			if err := parsed.UnsafeClaimsWithoutVerification(&claims); err != nil || claims.AuthTime != signedInAt {
				t.Fatalf("auth_time %d (%v); want the forced sign-in's %d", claims.AuthTime, err, signedInAt)
			}
		})
	}
}
