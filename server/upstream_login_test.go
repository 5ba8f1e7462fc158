package server

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/identity"
	"github.com/gatehouse-dev/gatehouse/identity/identitytest"
	"github.com/gatehouse-dev/gatehouse/store"
)

// withOIDC configures an upstream OIDC provider "corp" on the test server.
func withOIDC(t *testing.T, up *identitytest.OIDC, adm identity.Admission, passwordOff bool) func(*Config) {
	p, err := identity.New(identity.Config{ID: "corp", Name: "Corp SSO", Type: identity.TypeOIDC, Issuer: up.Issuer(),
		ClientID: up.ClientID, ClientSecret: up.ClientSecret, Admission: adm}, identity.Deps{HTTPClient: up.Server.Client()})
	if err != nil {
		t.Fatal(err)
	}
	return func(c *Config) { c.Providers, c.PasswordLoginDisabled = []identity.Provider{p}, passwordOff }
}

// followToUpstream follows redirects from path until the browser leaves
// for the upstream, and returns that URL.
func (e *testEnv) followToUpstream(path string) string {
	e.t.Helper()
	resp, body := e.get(path)
	for range 5 {
		if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther {
			e.t.Fatalf("expected a redirect to the provider, got %d:\n%s", resp.StatusCode, body)
		}
		loc := resp.Header.Get("Location")
		if strings.HasPrefix(loc, "https://") {
			return loc
		}
		resp, body = e.get(loc)
	}
	e.t.Fatal("no redirect to the provider")
	return ""
}

// upstreamCallback brings the browser back from the upstream.
func (e *testEnv) upstreamCallback(q url.Values) (*http.Response, string) {
	return e.get(loginPath + "/corp/callback?" + q.Encode())
}

func TestUpstreamSignInProvisionsAndKeepsConsentOwn(t *testing.T) {
	up := identitytest.NewOIDC(t)
	e := newOAuthEnv(t, withOIDC(t, up, identity.Admission{RequireVerifiedEmail: true}, true))
	verifier, challenge := pkce()
	params := authzParams("public-app", publicRedirect, challenge)
	params.Set("login_hint", "alice@example.com")
	// One provider and no password form: /authorize -> /login -> provider.
	authURL := e.followToUpstream(authorizePath + "?" + params.Encode())
	if !strings.Contains(authURL, "login_hint=alice%40example.com") {
		t.Fatalf("login_hint not passed upstream: %s", authURL)
	}
	code, state := up.Authorize(t, authURL)
	resp, body := e.upstreamCallback(url.Values{"code": {code}, "state": {state}})
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), authorizePath+"?") {
		t.Fatalf("callback = %d %s:\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	// Signing in upstream approved nothing: Gatehouse asks its own consent.
	resp, body = e.get(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "<h1>Authorize access</h1>") {
		t.Fatalf("after upstream sign-in, want Gatehouse's consent page; got %d:\n%s", resp.StatusCode, body)
	}
	loc := e.authorize(params, "allow")
	tr, tok := e.exchange(loc.Query().Get("code"), verifier)
	if tr.StatusCode != http.StatusOK {
		t.Fatalf("token: %d %v", tr.StatusCode, tok)
	}
	claims := e.accessClaims(tok["access_token"].(string))
	sub, _ := claims["sub"].(string)
	if !strings.HasPrefix(sub, "usr_") {
		t.Fatalf("sub = %q, want a provisioned usr_ subject", sub)
	}
	linked, err := e.store.Identity(context.Background(), "corp", "u-123")
	if err != nil || linked.UserID != sub || linked.Email != "alice@example.com" {
		t.Fatalf("identity = %+v, %v", linked, err)
	}
	u, _ := e.store.UserByID(context.Background(), sub)
	if u.Name != "corp-alice" || u.PasswordHash != "" {
		t.Fatalf("provisioned user = %+v", u)
	}
	// A second sign-in (another browser) maps to the same user.
	e2 := e.newBrowser()
	code, state = up.Authorize(t, e2.followToUpstream(loginPath+"/corp"))
	if resp, _ := e2.upstreamCallback(url.Values{"code": {code}, "state": {state}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("second sign-in: %d", resp.StatusCode)
	}
	if users, _ := e.store.ListUsers(context.Background()); len(users) != 2 { // alice (password) + corp-alice
		t.Fatalf("users after two sign-ins: %+v", users)
	}
	// The password form is off.
	if resp, _ := e.postForm(loginPath, url.Values{"username": {testUser}, "password": {testPassword}}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("password sign-in with login.password.enabled false: %d", resp.StatusCode)
	}
}

func TestUpstreamCallbackRefusals(t *testing.T) {
	up := identitytest.NewOIDC(t)
	up.Claims["email"] = "mallory@evil.example"
	e := newOAuthEnv(t, withOIDC(t, up, identity.Admission{AllowedEmailDomains: []string{"example.com"}}, false))
	page := func(resp *http.Response, body string, status int, want ...string) {
		t.Helper()
		if resp.StatusCode != status || resp.Header.Get("Location") != "" {
			t.Fatalf("got %d (Location %q), want the %d page", resp.StatusCode, resp.Header.Get("Location"), status)
		}
		for _, w := range append(want, "Corp SSO") {
			if !strings.Contains(body, w) {
				t.Fatalf("page lacks %q:\n%s", w, body)
			}
		}
	}
	// No sign-in started in this browser.
	resp, body := e.upstreamCallback(url.Values{"code": {"c"}, "state": {"s"}})
	page(resp, body, http.StatusBadRequest, "no sign-in in progress")
	// A state that is not this browser's.
	authURL := e.followToUpstream(loginPath + "/corp")
	code, _ := up.Authorize(t, authURL)
	resp, body = e.upstreamCallback(url.Values{"code": {code}, "state": {"forged"}})
	page(resp, body, http.StatusBadRequest, "does not belong")
	// The upstream answered with an error.
	_, state := up.Authorize(t, e.followToUpstream(loginPath+"/corp"))
	resp, body = e.upstreamCallback(url.Values{"error": {"access_denied"}, "error_description": {"user cancelled"}, "state": {state}})
	page(resp, body, http.StatusBadRequest, "access_denied", "user cancelled")
	// Authenticated upstream, refused by the admission rules.
	code, state = up.Authorize(t, e.followToUpstream(loginPath+"/corp"))
	resp, body = e.upstreamCallback(url.Values{"code": {code}, "state": {state}})
	page(resp, body, http.StatusForbidden, "Sign-in refused", "evil.example")
	if users, _ := e.store.ListUsers(context.Background()); len(users) != 1 {
		t.Fatalf("a refused sign-in provisioned a user: %+v", users)
	}
	// The page offers both the provider and the password form.
	_, body = e.get(loginPath)
	if !strings.Contains(body, "Sign in with Corp SSO") || !strings.Contains(body, `name="password"`) {
		t.Fatalf("login page:\n%s", body)
	}
	// Unknown provider.
	resp, _ = e.get(loginPath + "/nope")
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown provider: %d", resp.StatusCode)
	}
}

func TestRefreshRechecksAdmission(t *testing.T) {
	up := identitytest.NewOIDC(t)
	e := newOAuthEnv(t, withOIDC(t, up, identity.Admission{AllowedGroups: []string{"staff"}}, true))
	verifier, challenge := pkce()
	params := authzParams("public-app", publicRedirect, challenge)
	code, state := up.Authorize(t, e.followToUpstream(authorizePath+"?"+params.Encode()))
	e.upstreamCallback(url.Values{"code": {code}, "state": {state}})
	_, tok := e.exchange(e.code(params), verifier)
	refresh := tok["refresh_token"].(string)
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}, "client_id": {"public-app"}}
	resp, tok := e.token(form, "", "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("refresh while admitted: %d %v", resp.StatusCode, tok)
	}
	// The user's last sign-in says they left the group.
	id, _ := e.store.Identity(context.Background(), "corp", "u-123")
	id.Groups = []string{"alumni"}
	if err := e.store.UpdateIdentity(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	form.Set("refresh_token", tok["refresh_token"].(string))
	resp, body := e.token(form, "", "")
	wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_grant")
	if grants, _ := e.store.GrantsByUser(context.Background(), id.UserID); len(grants) != 0 {
		t.Fatalf("grant of a user no longer admitted survives: %+v", grants)
	}
	_ = store.ErrNotFound
}

// accessClaims reads an access token's claims (signature checked by
// verifyAccessToken elsewhere; here only the contents matter).
func (e *testEnv) accessClaims(token string) map[string]any {
	e.t.Helper()
	claims, err := e.srv.parseAccessToken(token)
	if err != nil {
		e.t.Fatalf("access token: %v", err)
	}
	out := map[string]any{"sub": claims.Subject, "client_id": claims.ClientID, "scope": claims.Scope}
	for k, v := range claims.Extra {
		out[k] = v
	}
	return out
}

// newBrowser is another browser (its own cookies) on the same server.
func (e *testEnv) newBrowser() *testEnv {
	jar, _ := cookiejar.New(nil)
	cp := *e
	cp.client = &http.Client{Jar: jar, CheckRedirect: e.client.CheckRedirect}
	return &cp
}

// TestProvisionedUserHasNoPassword: a user created by an upstream
// sign-in cannot be signed in with any password.
func TestProvisionedUserHasNoPassword(t *testing.T) {
	up := identitytest.NewOIDC(t)
	e := newOAuthEnv(t, withOIDC(t, up, identity.Admission{}, false))
	code, state := up.Authorize(t, e.followToUpstream(loginPath+"/corp"))
	e.upstreamCallback(url.Values{"code": {code}, "state": {state}})
	b := e.newBrowser()
	if resp, _ := b.login("corp-alice", ""); resp.StatusCode == http.StatusSeeOther {
		t.Fatal("a provisioned user signed in with an empty password")
	}
	if resp, _ := b.login("corp-alice", "anything at all"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("password sign-in of a provisioned user: %d, want 401", resp.StatusCode)
	}
}

// TestUpstreamAuditNamesTheProviderOnce: the audit events of an upstream
// sign-in carry provider once. A repeated key makes a JSON log line an
// object with duplicate names (RFC 8259 §4), which tools read differently.
func TestUpstreamAuditNamesTheProviderOnce(t *testing.T) {
	up := identitytest.NewOIDC(t)
	logs := &syncBuffer{}
	e := newOAuthEnvFull(t, envOptions{Logs: logs}, withOIDC(t, up, identity.Admission{AllowedEmailDomains: []string{"example.com"}}, false))
	code, state := up.Authorize(t, e.followToUpstream(loginPath+"/corp"))
	e.upstreamCallback(url.Values{"code": {code}, "state": {state}})
	up.Claims["email"] = "alice@evil.example"
	b2 := e.newBrowser()
	code, state = up.Authorize(t, b2.followToUpstream(loginPath+"/corp"))
	if resp, _ := b2.upstreamCallback(url.Values{"code": {code}, "state": {state}}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("refused sign-in = %d", resp.StatusCode)
	}
	seen := map[string]bool{}
	for _, line := range strings.Split(logs.String(), "\n") {
		for _, ev := range []string{"user_provisioned", "login_succeeded", "login_failed"} {
			if strings.Contains(line, `"event":"`+ev+`"`) {
				seen[ev] = true
				if n := strings.Count(line, `"provider":`); n != 1 {
					t.Errorf("%s names the provider %d times: %s", ev, n, line)
				}
			}
		}
	}
	if len(seen) != 3 {
		t.Fatalf("audit events seen: %v, want user_provisioned, login_succeeded and login_failed", seen)
	}
}
