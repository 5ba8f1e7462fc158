package server

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/dcr"
)

// phishRedirect is a redirect URI anyone may register: a page that
// imitates a sign-in form.
const phishRedirect = "https://phish.example.net/login"

// invalidAuthorizeRequests are hostile /authorize links: a valid client and
// redirect URI with one parameter deliberately wrong, so that the only
// effect of following the link would be the error redirect.
var invalidAuthorizeRequests = []struct {
	name   string
	modify func(url.Values)
	code   string
}{
	{"response_type=x", func(v url.Values) { v.Set("response_type", "x") }, "unsupported_response_type"},
	{"no response_type", func(v url.Values) { v.Del("response_type") }, "invalid_request"},
	{"no code_challenge", func(v url.Values) { v.Del("code_challenge") }, "invalid_request"},
	{"PKCE plain", func(v url.Values) { v.Set("code_challenge_method", "plain") }, "invalid_request"},
	{"unknown scope", func(v url.Values) { v.Set("scope", "no-such-scope") }, "invalid_scope"},
	{"unknown resource", func(v url.Values) { v.Set("resource", "https://evil.example/mcp") }, "invalid_target"},
	{"malformed prompt", func(v url.Values) { v.Set("prompt", "log\"in") }, "invalid_request"},
	{"response_mode fragment", func(v url.Values) { v.Set("response_mode", "fragment") }, "invalid_request"},
	{"repeated state", func(v url.Values) { v.Add("state", "x") }, "invalid_request"},
	{"request object", func(v url.Values) { v.Set("request", "eyJhbGciOiJub25lIn0.e30.") }, "request_not_supported"},
	{"request_uri", func(v url.Values) { v.Set("request_uri", "https://phish.example.net/r") }, "request_uri_not_supported"},
}

// wantErrorPage asserts that the answer is Gatehouse's own error page and
// not a redirect anywhere.
func wantErrorPage(t *testing.T, resp *http.Response, body, code string) {
	t.Helper()
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
		t.Fatalf("status %d, Location %q: an invalid request from a signed-out browser must not be redirected", resp.StatusCode, resp.Header.Get("Location"))
	}
	if !strings.Contains(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(body, code) || strings.Contains(body, "phish.example.net") {
		t.Fatalf("error page does not name %s (or names the redirect host):\n%s", code, body)
	}
}

// wantErrorRedirect asserts an error redirect to redirect with code.
func wantErrorRedirect(t *testing.T, resp *http.Response, redirect, code string) {
	t.Helper()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || !strings.HasPrefix(loc.String(), redirect+"?") || loc.Query().Get("error") != code {
		t.Fatalf("status %d, Location %q; want an error redirect with %s to %s", resp.StatusCode, resp.Header.Get("Location"), code, redirect)
	}
}

// TestNoOpenRedirectThroughErrorsForDCRClients (RFC 9700 §4.11.2): a
// self-registered client with a phishing redirect URI cannot use Gatehouse
// to bounce a signed-out visitor there with an invalid request, by GET or
// POST; prompt=none, a signed-in user and operator-configured clients keep
// their error redirects.
func TestNoOpenRedirectThroughErrorsForDCRClients(t *testing.T) {
	env := newDCREnv(t, dcr.ModeOpen)
	resp, reg := env.register(`{"redirect_uris":["` + phishRedirect + `"],"token_endpoint_auth_method":"none","client_name":"Totally Legit"}`)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("register = %d %v", resp.StatusCode, reg)
	}
	clientID := reg["client_id"].(string)
	_, challenge := pkce()
	for _, tt := range invalidAuthorizeRequests {
		t.Run(tt.name, func(t *testing.T) {
			v := authzParams(clientID, phishRedirect, challenge)
			tt.modify(v)
			resp, body := env.get(authorizePath + "?" + v.Encode())
			wantErrorPage(t, resp, body, tt.code)
			resp, body = env.postForm(authorizePath, v)
			wantErrorPage(t, resp, body, tt.code)
		})
	}

	// prompt=none in the link reopens nothing: not for an invalid
	// request, and not for the silent answer itself while nobody has
	// approved the client (it is the same open redirect, one parameter
	// away).
	for name, modify := range map[string]func(url.Values){
		"prompt=none":                func(v url.Values) { v.Set("prompt", "none") },
		"prompt=none, response_type": func(v url.Values) { v.Set("prompt", "none"); v.Set("response_type", "x") },
		"prompt=none, unknown scope": func(v url.Values) { v.Set("prompt", "none"); v.Set("scope", "bogus") },
		"prompt=none login":          func(v url.Values) { v.Set("prompt", "none login") },
		"prompt=none twice":          func(v url.Values) { v["prompt"] = []string{"none", "login"} },
		"prompt= none ":              func(v url.Values) { v.Set("prompt", " none ") },
	} {
		v := authzParams(clientID, phishRedirect, challenge)
		modify(v)
		resp, body := env.get(authorizePath + "?" + v.Encode())
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" || strings.Contains(body, "phish.example.net") {
			t.Fatalf("%s for a client nobody approved: %d %q", name, resp.StatusCode, resp.Header.Get("Location"))
		}
	}

	static := authzParams("public-app", publicRedirect, challenge)
	static.Set("response_type", "x")
	resp, _ = env.get(authorizePath + "?" + static.Encode())
	wantErrorRedirect(t, resp, publicRedirect, "unsupported_response_type")

	env.login(testUser, testPassword)
	v := authzParams(clientID, phishRedirect, challenge)
	v.Set("response_type", "x")
	resp, _ = env.get(authorizePath + "?" + v.Encode())
	wantErrorRedirect(t, resp, phishRedirect, "unsupported_response_type")

	// Once a user has approved the client, silent sign-in is what it is
	// for: a signed-out browser's prompt=none gets login_required by
	// redirect (an invalid request still gets the page).
	if loc := env.authorize(authzParams(clientID, phishRedirect, challenge), "allow"); loc.Query().Get("code") == "" {
		t.Fatalf("approval = %s", loc)
	}
	env.client.Jar = newJar()
	v = authzParams(clientID, phishRedirect, challenge)
	v.Set("prompt", "none")
	resp, _ = env.get(authorizePath + "?" + v.Encode())
	wantErrorRedirect(t, resp, phishRedirect, "login_required")
	v.Set("response_type", "x")
	resp, body := env.get(authorizePath + "?" + v.Encode())
	wantErrorPage(t, resp, body, "unsupported_response_type")
}

// TestNoOpenRedirectThroughErrorsForCIMDClients: the same for a client
// that is only a published document.
func TestNoOpenRedirectThroughErrorsForCIMDClients(t *testing.T) {
	host := newDocHost(t)
	clientID := host.publish("/oauth/client.json", publicDoc())
	env := newCIMDEnv(t, host)
	redirect := "http://127.0.0.1/callback"
	_, challenge := pkce()
	for _, tt := range invalidAuthorizeRequests {
		t.Run(tt.name, func(t *testing.T) {
			v := authzParams(clientID, redirect, challenge)
			tt.modify(v)
			resp, body := env.get(authorizePath + "?" + v.Encode())
			wantErrorPage(t, resp, body, tt.code)
		})
	}
	silent := authzParams(clientID, redirect, challenge)
	silent.Set("prompt", "none")
	resp, body := env.get(authorizePath + "?" + silent.Encode())
	wantErrorPage(t, resp, body, "login_required")
	env.login(testUser, testPassword)
	v := authzParams(clientID, redirect, challenge)
	v.Del("code_challenge")
	resp, _ = env.get(authorizePath + "?" + v.Encode())
	wantErrorRedirect(t, resp, redirect, "invalid_request")
}
