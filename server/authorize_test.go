package server

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestAuthorizeNeverRedirectsToUnverifiedURIs: until the client and its
// redirect URI are verified, every error is an HTML page and there is no
// Location header (OAuth 2.1 §4.1.2.1, RFC 9700 §4.1).
func TestAuthorizeNeverRedirectsToUnverifiedURIs(t *testing.T) {
	env := newOAuthEnv(t)
	env.login(testUser, testPassword)
	_, challenge := pkce()
	tests := []struct {
		name   string
		modify func(url.Values)
		want   string // text on the error page
	}{
		{"unknown client", func(v url.Values) { v.Set("client_id", "nobody") }, "unknown client"},
		{"missing client_id", func(v url.Values) { v.Del("client_id") }, "client_id is missing"},
		{"repeated client_id", func(v url.Values) { v.Add("client_id", "conf-app") }, "more than once"},
		{"repeated redirect_uri", func(v url.Values) { v.Add("redirect_uri", publicRedirect) }, "more than once"},
		{"https url client with CIMD off", func(v url.Values) { v.Set("client_id", "https://app.example.com/client.json") }, "does not accept URL client IDs"},
		{"trailing slash", func(v url.Values) { v.Set("redirect_uri", publicRedirect+"/") }, "not one of its registered"},
		{"case change", func(v url.Values) { v.Set("redirect_uri", "http://127.0.0.1/Callback") }, "not one of its registered"},
		{"userinfo", func(v url.Values) { v.Set("redirect_uri", "http://evil@127.0.0.1/callback") }, "not one of its registered"},
		{"fragment", func(v url.Values) { v.Set("redirect_uri", publicRedirect+"#x") }, "not one of its registered"},
		{"extra query", func(v url.Values) { v.Set("redirect_uri", publicRedirect+"?next=https://evil.example") }, "not one of its registered"},
		{"changed registered query", func(v url.Values) { v.Set("redirect_uri", "https://app.example.com/cb?tenant=2") }, "not one of its registered"},
		{"open redirect path", func(v url.Values) { v.Set("redirect_uri", "https://app.example.com/cb/../redirect?to=evil") }, "not one of its registered"},
		{"another host", func(v url.Values) { v.Set("redirect_uri", "https://evil.example/cb") }, "not one of its registered"},
		{"another loopback host", func(v url.Values) { v.Set("redirect_uri", "http://localhost:5000/callback") }, "not one of its registered"},
		{"another loopback path", func(v url.Values) { v.Set("redirect_uri", "http://127.0.0.1:5000/other") }, "not one of its registered"},
		{"https instead of http loopback", func(v url.Values) { v.Set("redirect_uri", "https://127.0.0.1:5000/callback") }, "not one of its registered"},
		{"javascript", func(v url.Values) { v.Set("redirect_uri", "javascript:alert(1)") }, "not one of its registered"},
		{"other client's redirect", func(v url.Values) { v.Set("redirect_uri", confRedirect) }, "not one of its registered"},
		{"omitted with several registered", func(v url.Values) { v.Del("redirect_uri") }, "redirect_uri is required"},
		{"registered query with a response parameter", func(v url.Values) { v.Set("redirect_uri", "https://app.example.com/cb?code=planted") }, "must not appear twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := authzParams("public-app", publicRedirect, challenge)
			tt.modify(v)
			resp, body := env.get(authorizePath + "?" + v.Encode())
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
				t.Fatalf("status %d, Location %q; want a 400 page and no redirect", resp.StatusCode, resp.Header.Get("Location"))
			}
			if !strings.Contains(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(body, tt.want) {
				t.Fatalf("page does not say %q:\n%s", tt.want, body)
			}
			assertNoLeak(t, body)
		})
	}
}

// TestAuthorizeErrorsGoBackWithIss: once the redirect URI is verified,
// errors return to the client with error, state and iss (RFC 9207).
func TestAuthorizeErrorsGoBackWithIss(t *testing.T) {
	env := newOAuthEnv(t)
	env.login(testUser, testPassword)
	_, challenge := pkce()
	tests := []struct {
		name   string
		client string
		modify func(url.Values)
		want   string
	}{
		{"missing response_type", "public-app", func(v url.Values) { v.Del("response_type") }, "invalid_request"},
		{"implicit grant", "public-app", func(v url.Values) { v.Set("response_type", "token") }, "unsupported_response_type"},
		{"hybrid", "public-app", func(v url.Values) { v.Set("response_type", "code token") }, "unsupported_response_type"},
		{"no PKCE", "public-app", func(v url.Values) { v.Del("code_challenge"); v.Del("code_challenge_method") }, "invalid_request"},
		{"PKCE plain", "public-app", func(v url.Values) { v.Set("code_challenge_method", "plain") }, "invalid_request"},
		{"PKCE method missing (means plain)", "public-app", func(v url.Values) { v.Del("code_challenge_method") }, "invalid_request"},
		{"PKCE method lower-case", "public-app", func(v url.Values) { v.Set("code_challenge_method", "s256") }, "invalid_request"},
		{"challenge too short", "public-app", func(v url.Values) { v.Set("code_challenge", "abc") }, "invalid_request"},
		{"challenge bad characters", "public-app", func(v url.Values) { v.Set("code_challenge", strings.Repeat("+", 43)) }, "invalid_request"},
		{"PKCE required of confidential clients too", "conf-app", func(v url.Values) { v.Del("code_challenge") }, "invalid_request"},
		{"repeated state", "public-app", func(v url.Values) { v.Add("state", "other") }, "invalid_request"},
		{"repeated scope", "public-app", func(v url.Values) { v.Add("scope", "files:write") }, "invalid_request"},
		{"unknown resource", "public-app", func(v url.Values) { v.Set("resource", "https://evil.example/mcp") }, "invalid_target"},
		{"resource with fragment", "public-app", func(v url.Values) { v.Set("resource", testResource+"#x") }, "invalid_target"},
		{"missing resource, no default", "public-app", func(v url.Values) { v.Del("resource") }, "invalid_target"},
		{"one of two resources unknown", "public-app", func(v url.Values) { v.Add("resource", "https://evil.example/") }, "invalid_target"},
		{"scope the resource does not accept", "public-app", func(v url.Values) { v.Set("scope", "admin") }, "invalid_scope"},
		{"scope outside the client's registration", "scoped-app", func(v url.Values) { v.Set("scope", "files:write") }, "invalid_scope"},
		{"prompt none with others", "public-app", func(v url.Values) { v.Set("prompt", "none consent") }, "invalid_request"},
		{"prompt none without consent", "public-app", func(v url.Values) { v.Set("prompt", "none") }, "consent_required"},
		{"response_mode fragment", "public-app", func(v url.Values) { v.Set("response_mode", "fragment") }, "invalid_request"},
		// A request object is refused, never ignored: its signed parameters,
		// not the plain ones beside it, are what the client asked for.
		{"request object", "public-app", func(v url.Values) { v.Set("request", "eyJhbGciOiJub25lIn0.eyJzY29wZSI6ImFkbWluIn0.") }, "request_not_supported"},
		{"empty request object", "public-app", func(v url.Values) { v.Set("request", "") }, "request_not_supported"},
		{"request_uri", "public-app", func(v url.Values) { v.Set("request_uri", "urn:ietf:params:oauth:request_uri:abc") }, "request_uri_not_supported"},
		{"request and request_uri", "public-app", func(v url.Values) { v.Set("request", "x"); v.Set("request_uri", "https://app.example.com/r") }, "request_not_supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			redirect := publicRedirect
			if tt.client != "public-app" && tt.client != "scoped-app" {
				redirect = confRedirect
			}
			v := authzParams(tt.client, redirect, challenge)
			tt.modify(v)
			resp, body := env.get(authorizePath + "?" + v.Encode())
			loc, err := url.Parse(resp.Header.Get("Location"))
			if resp.StatusCode != http.StatusFound || err != nil {
				t.Fatalf("status %d, want a redirect:\n%s", resp.StatusCode, body)
			}
			q := loc.Query()
			if !strings.HasPrefix(loc.String(), redirect+"?") || q.Get("error") != tt.want {
				t.Fatalf("redirect = %s, want error %s to %s", loc, tt.want, redirect)
			}
			if q.Get("iss") != env.srv.cfg.Issuer {
				t.Fatalf("error redirect without iss: %s", loc)
			}
			if q.Get("state") != v.Get("state") && tt.name != "repeated state" {
				t.Fatalf("state not returned: %s", loc)
			}
			if q.Get("code") != "" {
				t.Fatal("a code came with an error")
			}
		})
	}
}

func TestAuthorizeLoopbackAnyPortAndRegisteredQuery(t *testing.T) {
	env := newOAuthEnv(t)
	_, challenge := pkce()
	// RFC 8252 §7.3: the port of a loopback redirect may vary.
	loc := env.authorize(authzParams("public-app", "http://127.0.0.1:53682/callback", challenge), "allow")
	if loc.Host != "127.0.0.1:53682" || loc.Path != "/callback" || loc.Query().Get("code") == "" {
		t.Fatalf("loopback redirect = %s", loc)
	}
	// A registered query is kept byte for byte; ours is appended.
	loc = env.authorize(authzParams("public-app", "https://app.example.com/cb?tenant=1", challenge), "allow")
	if !strings.HasPrefix(loc.String(), "https://app.example.com/cb?tenant=1&") || loc.Query().Get("code") == "" {
		t.Fatalf("redirect with registered query = %s", loc)
	}
}

func TestAuthorizePOSTAndPromptLogin(t *testing.T) {
	env := newOAuthEnv(t)
	_, challenge := pkce()
	// The first sign-in goes through /login and comes back.
	env.code(authzParams("public-app", publicRedirect, challenge))
	// An authorization request may also arrive as a form POST.
	resp, _ := env.postForm(authorizePath, authzParams("public-app", publicRedirect, challenge))
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), publicRedirect+"?code=") {
		t.Fatalf("POST /authorize = %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	// prompt=login forces a new sign-in even with a session, once.
	v := authzParams("public-app", publicRedirect, challenge)
	v.Set("prompt", "login")
	resp, _ = env.get(authorizePath + "?" + v.Encode())
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if loc.Path != loginPath || loc.Query().Get("prompt") != "login" {
		t.Fatalf("prompt=login redirected to %s", loc)
	}
	if rt := loc.Query().Get("return_to"); strings.Contains(rt, "prompt") {
		t.Fatalf("return_to keeps prompt=login and would loop: %s", rt)
	}
	_, page := env.get(loc.RequestURI())
	if !strings.Contains(page, "<h1>Sign in</h1>") {
		t.Fatal("prompt=login did not show the sign-in form to a signed-in user")
	}
	// prompt=none with a session and remembered consent returns a code.
	v.Set("prompt", "none")
	resp, _ = env.get(authorizePath + "?" + v.Encode())
	if !strings.Contains(resp.Header.Get("Location"), "code=") {
		t.Fatalf("prompt=none = %s", resp.Header.Get("Location"))
	}
}

func TestPromptNoneWithoutSession(t *testing.T) {
	env := newOAuthEnv(t)
	_, challenge := pkce()
	v := authzParams("public-app", publicRedirect, challenge)
	v.Set("prompt", "none")
	resp, _ := env.get(authorizePath + "?" + v.Encode())
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if loc.Query().Get("error") != "login_required" || loc.Query().Get("iss") == "" {
		t.Fatalf("prompt=none without session = %s", loc)
	}
}

func TestConsentRememberedNarrowedAndRevoked(t *testing.T) {
	env := newOAuthEnv(t)
	verifier, challenge := pkce()
	p := authzParams("public-app", publicRedirect, challenge)
	env.code(p)
	// Remembered: the same request goes straight back with a code.
	resp, _ := env.get(authorizePath + "?" + p.Encode())
	if !strings.Contains(resp.Header.Get("Location"), "code=") {
		t.Fatalf("remembered consent asked again: %d", resp.StatusCode)
	}
	// More scope than approved, another resource, or prompt=consent: ask.
	for name, mod := range map[string]func(url.Values){
		"wider scope":    func(v url.Values) { v.Set("scope", "files:read files:write") },
		"other resource": func(v url.Values) { v.Set("resource", testOtherResource) },
		"prompt consent": func(v url.Values) { v.Set("prompt", "consent") },
	} {
		v := authzParams("public-app", publicRedirect, challenge)
		mod(v)
		resp, body := env.get(authorizePath + "?" + v.Encode())
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "<h1>Authorize access</h1>") {
			t.Fatalf("%s: no consent page (%d)", name, resp.StatusCode)
		}
	}
	// Deny returns access_denied with iss.
	v := authzParams("public-app", publicRedirect, challenge)
	v.Set("scope", "files:write")
	if loc := env.authorize(v, "deny"); loc.Query().Get("error") != "access_denied" || loc.Query().Get("iss") == "" {
		t.Fatalf("deny = %s", loc)
	}
	// Tokens issued under the consent die when it is withdrawn.
	_, tokens := env.exchange(env.code(p), verifier)
	_, page := env.get(accountPath)
	if !strings.Contains(page, "Public App") {
		t.Fatalf("account page does not list the approval:\n%s", page)
	}
	_, form := formFields(t, page)
	resp, _ = env.postForm(accountRevokePath, url.Values{"csrf_token": {form.Get("csrf_token")}, "client_id": {"public-app"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("revoke consent = %d", resp.StatusCode)
	}
	r, body := env.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tokens["refresh_token"].(string)}, "client_id": {"public-app"}}, "", "")
	wantOAuthError(t, r, body, 400, "invalid_grant")
	if env.introspect(t, tokens["access_token"].(string)) {
		t.Fatal("access token survives the withdrawal of consent")
	}
	resp, page = env.get(authorizePath + "?" + p.Encode())
	if !strings.Contains(page, "<h1>Authorize access</h1>") {
		t.Fatal("withdrawn consent was still remembered")
	}
}

func TestConsentPageShowsWhoAndWhat(t *testing.T) {
	env := newOAuthEnv(t)
	env.login(testUser, testPassword)
	_, challenge := pkce()
	v := authzParams("public-app", "http://127.0.0.1:4000/callback", challenge)
	v.Set("scope", "files:read files:write")
	_, page := env.get(authorizePath + "?" + v.Encode())
	for _, want := range []string{"Public App", testResource, "files:write", "127.0.0.1:4000", "on your own computer", `value="allow"`, `value="deny"`} {
		if !strings.Contains(page, want) {
			t.Errorf("consent page lacks %q", want)
		}
	}
	// A consent form posted with a stale fingerprint is shown again.
	action, form := formFields(t, page)
	form.Set("decision", "allow")
	form.Set("fingerprint", "stale")
	resp, body := env.postForm(action, form)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "details changed") {
		t.Fatalf("stale fingerprint = %d", resp.StatusCode)
	}
	// A forged consent post (no CSRF token) is refused.
	form.Del("csrf_token")
	if resp, _ := env.postForm(action, form); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("consent without CSRF token = %d", resp.StatusCode)
	}
}
