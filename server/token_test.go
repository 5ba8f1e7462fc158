package server

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/oauth"
)

func TestCodeReplayWithValidVerifierRevokesTokens(t *testing.T) {
	env := newOAuthEnv(t)
	verifier, challenge := pkce()
	code := env.code(authzParams("public-app", publicRedirect, challenge))
	resp, first := env.exchange(code, verifier)
	if resp.StatusCode != 200 {
		t.Fatalf("first exchange = %d %v", resp.StatusCode, first)
	}
	resp, body := env.exchange(code, verifier)
	wantOAuthError(t, resp, body, 400, "invalid_grant")
	if !strings.Contains(body["error_description"].(string), "already used") {
		t.Fatalf("description = %v", body["error_description"])
	}
	if env.introspect(t, first["access_token"].(string)) {
		t.Fatal("access token issued from a replayed code is still active")
	}
	r, b := env.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {first["refresh_token"].(string)}, "client_id": {"public-app"}}, "", "")
	wantOAuthError(t, r, b, 400, "invalid_grant")
}

func TestCodeReplayWithWrongVerifierRevokesNothing(t *testing.T) {
	env := newOAuthEnv(t)
	verifier, challenge := pkce()
	code := env.code(authzParams("public-app", publicRedirect, challenge))
	_, first := env.exchange(code, verifier)
	other, _ := pkce()
	resp, body := env.exchange(code, other)
	wantOAuthError(t, resp, body, 400, "invalid_grant")
	// An attacker without the verifier must not be able to kill the grant.
	if !env.introspect(t, first["access_token"].(string)) {
		t.Fatal("a replay with a wrong verifier revoked the legitimate tokens")
	}
}

func TestFailedRequestsDoNotConsumeTheCode(t *testing.T) {
	env := newOAuthEnv(t)
	verifier, challenge := pkce()
	code := env.code(authzParams("public-app", publicRedirect, challenge))
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier}, "redirect_uri": {publicRedirect}}
	// A public client sending a secret it does not have.
	resp, body := env.token(form, "public-app", "not-a-secret")
	wantOAuthError(t, resp, body, 401, "invalid_client")
	form.Set("client_id", "public-app")
	form.Set("client_secret", "not-a-secret")
	resp, body = env.token(form, "", "")
	wantOAuthError(t, resp, body, 401, "invalid_client")
	// Wrong verifier, wrong redirect URI: refused, code intact.
	wrong, _ := pkce()
	bad := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {wrong}, "redirect_uri": {publicRedirect}, "client_id": {"public-app"}}
	resp, body = env.token(bad, "", "")
	wantOAuthError(t, resp, body, 400, "invalid_grant")
	bad.Set("code_verifier", verifier)
	bad.Set("redirect_uri", "http://127.0.0.1:9/callback")
	resp, body = env.token(bad, "", "")
	wantOAuthError(t, resp, body, 400, "invalid_grant")
	// The genuine retry still works.
	if resp, body := env.exchange(code, verifier); resp.StatusCode != 200 {
		t.Fatalf("exchange after refused attempts = %d %v", resp.StatusCode, body)
	}
}

func TestTokenEndpointHostileRequests(t *testing.T) {
	env := newOAuthEnv(t)
	verifier, challenge := pkce()
	code := env.code(authzParams("public-app", publicRedirect, challenge))
	base := func() url.Values {
		return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier},
			"redirect_uri": {publicRedirect}, "client_id": {"public-app"}}
	}
	tests := []struct {
		name       string
		form       func() url.Values
		user, pass string
		status     int
		want       string
	}{
		{"no grant_type", func() url.Values { v := base(); v.Del("grant_type"); return v }, "", "", 400, "invalid_request"},
		{"password grant", func() url.Values { v := base(); v.Set("grant_type", "password"); return v }, "", "", 400, "unsupported_grant_type"},
		{"implicit grant", func() url.Values { v := base(); v.Set("grant_type", "implicit"); return v }, "", "", 400, "unsupported_grant_type"},
		{"repeated code", func() url.Values { v := base(); v.Add("code", "x"); return v }, "", "", 400, "invalid_request"},
		{"repeated grant_type", func() url.Values { v := base(); v.Add("grant_type", "refresh_token"); return v }, "", "", 400, "invalid_request"},
		{"missing code", func() url.Values { v := base(); v.Del("code"); return v }, "", "", 400, "invalid_request"},
		{"missing verifier (PKCE downgrade)", func() url.Values { v := base(); v.Del("code_verifier"); return v }, "", "", 400, "invalid_request"},
		{"malformed verifier", func() url.Values { v := base(); v.Set("code_verifier", "short"); return v }, "", "", 400, "invalid_request"},
		{"verifier is the challenge (plain downgrade)", func() url.Values { v := base(); v.Set("code_verifier", challenge); return v }, "", "", 400, "invalid_grant"},
		{"unknown code", func() url.Values { v := base(); v.Set("code", "bogus"); return v }, "", "", 400, "invalid_grant"},
		{"redirect_uri omitted", func() url.Values { v := base(); v.Del("redirect_uri"); return v }, "", "", 400, "invalid_grant"},
		{"resource not authorized", func() url.Values { v := base(); v.Set("resource", testOtherResource); return v }, "", "", 400, "invalid_target"},
		{"unknown client", func() url.Values { v := base(); v.Set("client_id", "ghost"); return v }, "", "", 401, "invalid_client"},
		{"no client at all", func() url.Values { v := base(); v.Del("client_id"); return v }, "", "", 401, "invalid_client"},
		{"impersonate a confidential client without secret", func() url.Values { v := base(); v.Set("client_id", "conf-app"); return v }, "", "", 401, "invalid_client"},
		{"confidential client, wrong secret", func() url.Values { v := base(); v.Del("client_id"); return v }, "conf-app", "nope-nope-nope-nope", 401, "invalid_client"},
		{"basic and post together", func() url.Values { v := base(); v.Del("client_id"); v.Set("client_secret", testSecret); return v }, "conf-app", testSecret, 400, "invalid_request"},
		{"body client_id differs from Basic", func() url.Values { v := base(); v.Set("client_id", "public-app"); return v }, "conf-app", testSecret, 401, "invalid_client"},
		{"code of another client", func() url.Values { v := base(); v.Del("client_id"); return v }, "conf-app", testSecret, 400, "invalid_grant"},
		{"post-app with Basic and a wrong secret", func() url.Values { v := base(); v.Del("client_id"); return v }, "post-app", "nope-nope-nope-nope", 401, "invalid_client"},
		{"confidential client, empty Basic password", func() url.Values { v := base(); v.Del("client_id"); return v }, "conf-app", "", 401, "invalid_client"},
		{"confidential client, empty body secret", func() url.Values { v := base(); v.Set("client_id", "conf-app"); v.Set("client_secret", ""); return v }, "", "", 401, "invalid_client"},
		{"public client with a secret", func() url.Values { v := base(); v.Set("client_secret", "guess-guess-guess"); return v }, "", "", 401, "invalid_client"},
		{"empty Basic names another client", func() url.Values { return base() }, "no-refresh-app", "", 401, "invalid_client"},
		{"private_key_jwt client with a secret", func() url.Values {
			v := base()
			v.Set("client_id", "jwt-app")
			v.Set("client_secret", testSecret)
			return v
		}, "", "", 401, "invalid_client"},
		{"secret client with an assertion", func() url.Values {
			v := base()
			v.Set("client_id", "conf-app")
			v.Set("client_assertion_type", oauth.ClientAssertionTypeJWTBearer)
			v.Set("client_assertion", "x.y.z")
			return v
		}, "", "", 401, "invalid_client"},
		{"bad assertion type", func() url.Values {
			v := base()
			v.Set("client_id", "jwt-app")
			v.Set("client_assertion_type", "urn:x")
			v.Set("client_assertion", "x")
			return v
		}, "", "", 401, "invalid_client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := env.token(tt.form(), tt.user, tt.pass)
			wantOAuthError(t, resp, body, tt.status, tt.want)
		})
	}
	// None of the above consumed the code.
	if resp, body := env.exchange(code, verifier); resp.StatusCode != 200 {
		t.Fatalf("code consumed by a refused request: %d %v", resp.StatusCode, body)
	}
}

func TestMalformedTokenRequests(t *testing.T) {
	env := newOAuthEnv(t)
	post := func(ctype, body string, header ...string) (*http.Response, map[string]any) {
		req, _ := http.NewRequest(http.MethodPost, env.http.URL+tokenPath, strings.NewReader(body))
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		return env.doJSON(req)
	}
	resp, body := post("application/json", `{"grant_type":"client_credentials"}`)
	wantOAuthError(t, resp, body, 415, "invalid_request")
	resp, body = post("", "grant_type=client_credentials")
	wantOAuthError(t, resp, body, 415, "invalid_request")
	resp, body = post("application/x-www-form-urlencoded", "grant_type=%zz")
	wantOAuthError(t, resp, body, 400, "invalid_request")
	resp, body = post("application/x-www-form-urlencoded", strings.Repeat("a", 70<<10))
	wantOAuthError(t, resp, body, 413, "invalid_request")
	for _, h := range []string{"Bearer abc", "Basic !!!", "Basic " + base64.StdEncoding.EncodeToString([]byte("no-colon")), "Basic " + base64.StdEncoding.EncodeToString([]byte("%zz:x"))} {
		resp, body = post("application/x-www-form-urlencoded", "grant_type=client_credentials", "Authorization", h)
		wantOAuthError(t, resp, body, 401, "invalid_client")
	}
	// GET on the token endpoint is not allowed.
	r, _ := env.get(tokenPath)
	if r.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET /token = %d", r.StatusCode)
	}
}

func TestCodeExpiresAfterSixtySeconds(t *testing.T) {
	env := newOAuthEnv(t)
	verifier, challenge := pkce()
	code := env.code(authzParams("public-app", publicRedirect, challenge))
	env.clock.Advance(60 * time.Second)
	resp, body := env.exchange(code, verifier)
	wantOAuthError(t, resp, body, 400, "invalid_grant")
}

func TestRefreshRules(t *testing.T) {
	env := newOAuthEnv(t)
	verifier, challenge := pkce()
	p := authzParams("public-app", publicRedirect, challenge)
	p.Set("scope", "files:read files:write")
	p.Add("resource", testOtherResource)
	_, tokens := env.exchange(env.code(p), verifier)
	rt := tokens["refresh_token"].(string)
	refresh := func(extra url.Values, client string) (*http.Response, map[string]any) {
		v := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {client}}
		for k, vals := range extra {
			v[k] = vals
		}
		return env.token(v, "", "")
	}
	// Asking only for what the grant lacks is refused without consuming
	// the token; so is a malformed scope.
	resp, body := refresh(url.Values{"scope": {"admin"}}, "public-app")
	wantOAuthError(t, resp, body, 400, "invalid_scope")
	resp, body = refresh(url.Values{"scope": {"files:read bad\\scope"}}, "public-app")
	wantOAuthError(t, resp, body, 400, "invalid_scope")
	resp, body = refresh(url.Values{"resource": {"https://evil.example/"}}, "public-app")
	wantOAuthError(t, resp, body, 400, "invalid_target")
	// Another client presenting the token gets nothing and kills nothing.
	resp, body = refresh(nil, "no-refresh-app")
	wantOAuthError(t, resp, body, 400, "unauthorized_client")
	resp, body = refresh(nil, "scoped-app")
	wantOAuthError(t, resp, body, 400, "invalid_grant")
	// Narrowing scope and audience is allowed; the response says the scope.
	resp, body = refresh(url.Values{"scope": {"files:read"}, "resource": {testOtherResource}}, "public-app")
	if resp.StatusCode != 200 {
		t.Fatalf("narrowing refresh = %d %v", resp.StatusCode, body)
	}
	claims := verifyAccessToken(t, env, body["access_token"].(string), testOtherResource)
	if claims.Scope != "files:read" || len(claims.Audience) != 1 {
		t.Fatalf("narrowed claims = %+v", claims)
	}
	// Without a scope parameter the full grant comes back, and scope is
	// stated in the response.
	rt = body["refresh_token"].(string)
	resp, body = refresh(nil, "public-app")
	if resp.StatusCode != 200 || body["scope"] != "files:read files:write" {
		t.Fatalf("full refresh = %d %v", resp.StatusCode, body)
	}
	// Widening narrows to the grant (RFC 6749 §3.3) and says so.
	rt = body["refresh_token"].(string)
	resp, body = refresh(url.Values{"scope": {"files:write admin files:read"}}, "public-app")
	if resp.StatusCode != 200 || body["scope"] != "files:write files:read" {
		t.Fatalf("widening refresh = %d %v; want the grant's scopes only", resp.StatusCode, body)
	}
	// The idle timeout ends an unused refresh token.
	rt = body["refresh_token"].(string)
	env.clock.Advance(env.srv.cfg.RefreshIdleTTL)
	resp, body = refresh(nil, "public-app")
	wantOAuthError(t, resp, body, 400, "invalid_grant")
}

func TestRefreshAbsoluteLifetime(t *testing.T) {
	env := newOAuthEnv(t)
	verifier, challenge := pkce()
	_, tokens := env.exchange(env.code(authzParams("public-app", publicRedirect, challenge)), verifier)
	rt := tokens["refresh_token"].(string)
	// Refreshing every 20 hours keeps the token from idling out, but not
	// past the grant's absolute lifetime (7 days here).
	for elapsed := time.Duration(0); ; elapsed += 20 * time.Hour {
		env.clock.Advance(20 * time.Hour)
		resp, body := env.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {"public-app"}}, "", "")
		if elapsed+20*time.Hour >= env.srv.cfg.RefreshMaxTTL {
			wantOAuthError(t, resp, body, 400, "invalid_grant")
			return
		}
		if resp.StatusCode != 200 {
			t.Fatalf("refresh at %v = %d %v", elapsed+20*time.Hour, resp.StatusCode, body)
		}
		rt = body["refresh_token"].(string)
	}
}

func TestNoRefreshTokenWithoutTheGrant(t *testing.T) {
	env := newOAuthEnv(t)
	verifier, challenge := pkce()
	code := env.code(authzParams("no-refresh-app", publicRedirect, challenge))
	resp, body := env.token(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier},
		"redirect_uri": {publicRedirect}, "client_id": {"no-refresh-app"}}, "", "")
	if resp.StatusCode != 200 || body["refresh_token"] != nil {
		t.Fatalf("= %d %v; no refresh token expected", resp.StatusCode, body)
	}
}

func TestDeletedUserLosesTokens(t *testing.T) {
	env := newOAuthEnv(t)
	verifier, challenge := pkce()
	_, tokens := env.exchange(env.code(authzParams("public-app", publicRedirect, challenge)), verifier)
	a := &Accounts{Store: env.store, Hasher: env.srv.passwords, Now: env.clock.Now}
	if err := a.Delete(t.Context(), testUser); err != nil {
		t.Fatal(err)
	}
	resp, body := env.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tokens["refresh_token"].(string)}, "client_id": {"public-app"}}, "", "")
	wantOAuthError(t, resp, body, 400, "invalid_grant")
	if env.introspect(t, tokens["access_token"].(string)) {
		t.Fatal("a deleted user's access token is still active")
	}
}

func TestRevocationIsQuietAboutOthersTokens(t *testing.T) {
	env := newOAuthEnv(t)
	verifier, challenge := pkce()
	_, tokens := env.exchange(env.code(authzParams("public-app", publicRedirect, challenge)), verifier)
	// Another client asking to revoke gets 200 and changes nothing.
	req := newForm(env, revokePath, url.Values{"token": {tokens["refresh_token"].(string)}})
	req.SetBasicAuth("conf-app", testSecret)
	if resp, _ := env.do(req); resp.StatusCode != 200 {
		t.Fatalf("revoke = %d", resp.StatusCode)
	}
	if !env.introspect(t, tokens["access_token"].(string)) {
		t.Fatal("another client revoked this client's grant")
	}
	for _, tok := range []string{"garbage", "ghr_unknown", ""} {
		resp, body := env.doJSON(newForm(env, revokePath, url.Values{"token": {tok}, "client_id": {"public-app"}}))
		if tok == "" {
			wantOAuthError(t, resp, body, 400, "invalid_request")
			continue
		}
		if resp.StatusCode != 200 {
			t.Fatalf("revoke %q = %d", tok, resp.StatusCode)
		}
	}
}
