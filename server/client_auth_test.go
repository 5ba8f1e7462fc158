package server

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/dcr"
)

// TestClientAuthenticationForms: a secret counts by HTTP Basic or in the
// body whichever of the two the client registered; an empty secret only
// names the client, so a public client sending one is still public and a
// confidential one is refused. /revoke answers 200 once the client is
// authenticated (an unknown token is no error, RFC 7009 §2.2).
func TestClientAuthenticationForms(t *testing.T) {
	env := newOAuthEnv(t)
	tests := []struct {
		name       string
		user, pass string // Basic, when user or pass is set
		basic      bool
		body       url.Values
		status     int
		want       string
	}{
		{"basic client, Basic", "conf-app", testSecret, true, nil, 200, ""},
		{"basic client, secret in the body", "", "", false, url.Values{"client_id": {"conf-app"}, "client_secret": {testSecret}}, 200, ""},
		{"post client, Basic", "post-app", testSecret, true, nil, 200, ""},
		{"post client, secret in the body", "", "", false, url.Values{"client_id": {"post-app"}, "client_secret": {testSecret}}, 200, ""},
		{"basic client, Basic, body client_id agrees", "conf-app", testSecret, true, url.Values{"client_id": {"conf-app"}}, 200, ""},
		{"basic client, Basic and an empty body secret", "conf-app", testSecret, true, url.Values{"client_secret": {""}}, 200, ""},
		{"public client, client_id", "", "", false, url.Values{"client_id": {"public-app"}}, 200, ""},
		{"public client, Basic with an empty password", "public-app", "", true, nil, 200, ""},
		{"public client, empty body secret", "", "", false, url.Values{"client_id": {"public-app"}, "client_secret": {""}}, 200, ""},
		{"public client, empty Basic and body client_id", "public-app", "", true, url.Values{"client_id": {"public-app"}}, 200, ""},
		{"public client, empty Basic and empty body secret", "public-app", "", true, url.Values{"client_secret": {""}}, 200, ""},

		{"basic client, wrong secret by Basic", "conf-app", "wrong-wrong-wrong-wrong", true, nil, 401, "invalid_client"},
		{"basic client, wrong secret in the body", "", "", false, url.Values{"client_id": {"conf-app"}, "client_secret": {"wrong-wrong-wrong"}}, 401, "invalid_client"},
		{"basic client, no secret", "", "", false, url.Values{"client_id": {"conf-app"}}, 401, "invalid_client"},
		{"basic client, empty Basic password", "conf-app", "", true, nil, 401, "invalid_client"},
		{"post client, empty body secret", "", "", false, url.Values{"client_id": {"post-app"}, "client_secret": {""}}, 401, "invalid_client"},
		{"public client, a secret by Basic", "public-app", "made-up-secret", true, nil, 401, "invalid_client"},
		{"public client, a secret in the body", "", "", false, url.Values{"client_id": {"public-app"}, "client_secret": {"made-up-secret"}}, 401, "invalid_client"},
		{"empty Basic names one client, body another", "public-app", "", true, url.Values{"client_id": {"no-refresh-app"}}, 401, "invalid_client"},
		{"Basic for one client, body secret for another", "conf-app", testSecret, true, url.Values{"client_id": {"post-app"}}, 401, "invalid_client"},
		{"secrets by Basic and in the body", "conf-app", testSecret, true, url.Values{"client_secret": {testSecret}}, 400, "invalid_request"},
		{"private_key_jwt client with a secret", "", "", false, url.Values{"client_id": {"jwt-app"}, "client_secret": {testSecret}}, 401, "invalid_client"},
		{"empty Basic, nothing else", "", "", true, nil, 401, "invalid_client"},
		{"nothing at all", "", "", false, nil, 401, "invalid_client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form := url.Values{"token": {"not-a-token"}}
			for k, v := range tt.body {
				form[k] = v
			}
			req, _ := http.NewRequest(http.MethodPost, env.http.URL+revokePath, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tt.basic {
				req.SetBasicAuth(url.QueryEscape(tt.user), url.QueryEscape(tt.pass))
			}
			resp, body := env.do(req)
			if resp.StatusCode != tt.status {
				t.Fatalf("= %d %s; want %d %s", resp.StatusCode, body, tt.status, tt.want)
			}
			if tt.want != "" {
				var e struct{ Error string }
				if json.Unmarshal([]byte(body), &e); e.Error != tt.want {
					t.Fatalf("error = %s; want %s", body, tt.want)
				}
			}
			if tt.status == 401 && tt.basic && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic ") {
				t.Fatal("invalid_client after Basic without a Basic challenge (RFC 6749 §5.2)")
			}
		})
	}
}

// TestSecretInEitherFormThroughTheFlow: a client registered for Basic
// redeems its code with the secret in the body and refreshes with Basic.
func TestSecretInEitherFormThroughTheFlow(t *testing.T) {
	env := newOAuthEnv(t)
	verifier, challenge := pkce()
	code := env.code(authzParams("conf-app", confRedirect, challenge))
	resp, tokens := env.token(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier},
		"redirect_uri": {confRedirect}, "client_id": {"conf-app"}, "client_secret": {testSecret}}, "", "")
	if resp.StatusCode != 200 {
		t.Fatalf("exchange with the secret in the body = %d %v", resp.StatusCode, tokens)
	}
	resp, body := env.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tokens["refresh_token"].(string)}}, "conf-app", testSecret)
	if resp.StatusCode != 200 {
		t.Fatalf("refresh with Basic = %d %v", resp.StatusCode, body)
	}
}

// TestExpiredClientSecret: a DCR client whose secret expired is told so
// at /authorize (no code it could not redeem) and at /token, and gets a
// new secret by updating its registration (RFC 7592 §2.2), keeping its
// client_id.
func TestExpiredClientSecret(t *testing.T) {
	cfg := dcr.DefaultConfig()
	cfg.SecretTTL = time.Hour
	env := newOAuthEnvWith(t, &cfg)
	regBody := `{"redirect_uris":["` + publicRedirect + `"],"token_endpoint_auth_method":"client_secret_basic",
"grant_types":["authorization_code","refresh_token"],"client_name":"Web app"}`
	resp, reg := env.register(regBody)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("register = %d %v", resp.StatusCode, reg)
	}
	id, secret, rat := reg["client_id"].(string), reg["client_secret"].(string), reg["registration_access_token"].(string)
	_, challenge := pkce()
	params := authzParams(id, publicRedirect, challenge)
	params.Set("scope", "files:read")

	env.clock.Advance(time.Hour)
	// Signed out: the page says what happened (the error is not redirected
	// for a self-registered client, issue 15).
	resp, page := env.get(authorizePath + "?" + params.Encode())
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "unauthorized_client") ||
		!strings.Contains(page, "client secret expired") || !strings.Contains(page, "RFC 7592") {
		t.Fatalf("signed-out /authorize with an expired secret = %d:\n%s", resp.StatusCode, page)
	}
	// Signed in: the client hears it at its redirect URI, with no code.
	env.login(testUser, testPassword)
	resp, _ = env.get(authorizePath + "?" + params.Encode())
	wantErrorRedirect(t, resp, publicRedirect, "unauthorized_client")
	if loc, _ := url.Parse(resp.Header.Get("Location")); loc.Query().Has("code") || !strings.Contains(loc.Query().Get("error_description"), "expired") {
		t.Fatalf("redirect %s", loc)
	}
	// The token endpoint says why too.
	r, body := env.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}}, id, secret)
	if r.StatusCode != 401 || body["error"] != "invalid_client" || !strings.Contains(body["error_description"].(string), "expired") {
		t.Fatalf("token with an expired secret = %d %v", r.StatusCode, body)
	}

	// RFC 7592 update: a new secret with a new expiry, same client_id.
	r, upd := env.manage(http.MethodPut, id, rat, `{"client_id":"`+id+`","redirect_uris":["`+publicRedirect+`"],
"token_endpoint_auth_method":"client_secret_basic","grant_types":["authorization_code","refresh_token"],"client_name":"Web app"}`)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("update = %d %v", r.StatusCode, upd)
	}
	newSecret, _ := upd["client_secret"].(string)
	exp, _ := upd["client_secret_expires_at"].(float64)
	if newSecret == "" || newSecret == secret || upd["client_id"] != id || int64(exp) != env.clock.Now().Add(time.Hour).Unix() {
		t.Fatalf("update response = %v; want a new secret expiring in an hour", upd)
	}
	// A second update while the new secret is valid keeps it.
	if _, again := env.manage(http.MethodPut, id, rat, `{"client_id":"`+id+`","redirect_uris":["`+publicRedirect+`"],
"token_endpoint_auth_method":"client_secret_basic","grant_types":["authorization_code","refresh_token"],"client_name":"Web app 2"}`); again["client_secret"] != nil {
		t.Fatalf("an update rotated a valid secret: %v", again)
	}
	verifier, challenge := pkce()
	params = authzParams(id, publicRedirect, challenge)
	code := env.code(params)
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier}, "redirect_uri": {publicRedirect}}
	if r, body := env.token(form, id, secret); r.StatusCode != 401 {
		t.Fatalf("the old secret after renewal = %d %v", r.StatusCode, body)
	}
	if r, body := env.token(form, id, newSecret); r.StatusCode != 200 {
		t.Fatalf("the new secret = %d %v", r.StatusCode, body)
	}
}
