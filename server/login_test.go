package server

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestLoginFlow(t *testing.T) {
	env := newTestEnv(t)
	env.addUser("alice", "correct horse")

	resp, page := env.get(loginPath)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login page = %d", resp.StatusCode)
	}
	for _, want := range []string{`<label for="username">`, `<label for="password">`, `autocomplete="current-password"`, `lang="en"`} {
		if !strings.Contains(page, want) {
			t.Errorf("login page lacks %s", want)
		}
	}
	if strings.Contains(page, "<script") || strings.Contains(page, "style=") {
		t.Error("login page has inline script or style")
	}
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP = %q", csp)
	}

	resp, _ = env.login("Alice", "correct horse") // names are case-insensitive
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
		t.Fatalf("login = %d to %q, want 303 to /login", resp.StatusCode, resp.Header.Get("Location"))
	}
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "gatehouse_session" {
			session = c
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.Secure {
		t.Fatalf("session cookie = %+v; want HttpOnly, SameSite=Lax, not Secure on an http issuer", session)
	}
	if session.MaxAge != int(time.Hour.Seconds()) {
		t.Errorf("session Max-Age = %d, want the session TTL", session.MaxAge)
	}
	_, page = env.get(loginPath)
	if !strings.Contains(page, "signed in as <strong>alice</strong>") {
		t.Fatalf("after login the page says:\n%s", page)
	}

	// Sign out (CSRF-protected) ends the session server-side.
	resp, _ = env.postForm(logoutPath, url.Values{"csrf_token": {csrfFrom(t, page)}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout = %d", resp.StatusCode)
	}
	if _, page = env.get(loginPath); !strings.Contains(page, "<h1>Sign in</h1>") {
		t.Fatal("still signed in after logout")
	}
	if _, err := env.store.Session(t.Context(), hashToken(session.Value)); err == nil {
		t.Fatal("session record survives logout")
	}

	// The session expires with its TTL.
	env.login("alice", "correct horse")
	env.clock.Advance(time.Hour)
	if _, page = env.get(loginPath); !strings.Contains(page, "<h1>Sign in</h1>") {
		t.Fatal("session outlived its TTL")
	}
}

func TestSessionCookieOverHTTPSIssuer(t *testing.T) {
	env := newTestEnv(t, func(c *Config) { c.Issuer = "https://auth.example.com" })
	env.addUser("alice", "correct horse")
	resp, _ := env.get(loginPath)
	var names []string
	for _, c := range resp.Cookies() {
		names = append(names, c.Name)
		if !c.Secure || c.Path != "/" || c.Domain != "" {
			t.Errorf("cookie %s = %+v; __Host- cookies must be Secure, Path=/, host-only", c.Name, c)
		}
	}
	if len(names) != 1 || names[0] != "__Host-gatehouse_csrf" {
		t.Fatalf("cookies = %v, want __Host-gatehouse_csrf", names)
	}
	// The jar will not send a Secure cookie over http, so pass it by hand.
	csrf := resp.Cookies()[0]
	_, body := env.get(loginPath, "Cookie", csrf.Name+"="+csrf.Value)
	resp, _ = env.postForm(loginPath, url.Values{
		"csrf_token": {csrfFrom(t, body)}, "username": {"alice"}, "password": {"correct horse"},
	}, "Cookie", csrf.Name+"="+csrf.Value)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login = %d", resp.StatusCode)
	}
	var got *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "__Host-gatehouse_session" {
			got = c
		}
	}
	if got == nil || !got.Secure || !got.HttpOnly || got.SameSite != http.SameSiteLaxMode {
		t.Fatalf("session cookie = %+v", got)
	}
}

func TestLoginCSRF(t *testing.T) {
	env := newTestEnv(t)
	env.addUser("alice", "correct horse")
	_, page := env.get(loginPath)
	good := csrfFrom(t, page)
	creds := func(token string) url.Values {
		v := url.Values{"username": {"alice"}, "password": {"correct horse"}}
		if token != "" {
			v.Set("csrf_token", token)
		}
		return v
	}
	tests := []struct {
		name   string
		form   url.Values
		header []string
		want   int
	}{
		{"no token", creds(""), nil, http.StatusForbidden},
		{"wrong token", creds("AAAA" + good[4:]), nil, http.StatusForbidden},
		{"cross-site post", creds(good), []string{"Sec-Fetch-Site", "cross-site"}, http.StatusForbidden},
		{"foreign origin", creds(good), []string{"Origin", "https://evil.example"}, http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := env.postForm(loginPath, tt.form, tt.header...)
			if resp.StatusCode != tt.want {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.want)
			}
			if strings.Contains(body, "signed in as") || hasCookie(resp, "gatehouse_session") {
				t.Fatal("a forged form signed the user in")
			}
		})
	}
	// A token minted for another browser (another CSRF cookie) is refused.
	other := newTestEnv(t)
	_, otherPage := other.get(loginPath)
	if resp, _ := env.postForm(loginPath, creds(csrfFrom(t, otherPage))); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("token of another browser: %d, want 403", resp.StatusCode)
	}
	// The genuine form still works.
	if resp, _ := env.postForm(loginPath, creds(good)); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("genuine form: %d", resp.StatusCode)
	}
}

func hasCookie(resp *http.Response, name string) bool {
	for _, c := range resp.Cookies() {
		if c.Name == name && c.Value != "" {
			return true
		}
	}
	return false
}

func TestLoginThrottledPerAccount(t *testing.T) {
	env := newTestEnv(t, func(c *Config) {
		c.Login = LoginLimits{MaxFailuresAccountIP: 3, MaxFailuresIP: 100, Window: 3 * time.Minute}
	})
	env.addUser("alice", "correct horse")
	env.addUser("bob", "battery staple")
	for i := range 3 {
		if resp, _ := env.login("alice", "wrong password"); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failure %d = %d, want 401", i+1, resp.StatusCode)
		}
	}
	// The account is throttled even with the right password...
	resp, body := env.login("alice", "correct horse")
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("4th attempt = %d, want 429", resp.StatusCode)
	}
	retry, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	if err != nil || retry < 1 || retry > 60 {
		t.Fatalf("Retry-After = %q; one failure refills in 60s", resp.Header.Get("Retry-After"))
	}
	if !strings.Contains(body, "Too many failed sign-in attempts") {
		t.Error("throttled page does not say why")
	}
	// ...but another account is not.
	if resp, _ := env.login("bob", "battery staple"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("other account = %d, want 303", resp.StatusCode)
	}
	env.clock.Advance(time.Duration(retry) * time.Second)
	if resp, _ := env.login("alice", "correct horse"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("after Retry-After = %d, want 303", resp.StatusCode)
	}
}

func TestLoginThrottledPerIP(t *testing.T) {
	env := newTestEnv(t, func(c *Config) {
		c.Login = LoginLimits{MaxFailuresAccountIP: 100, MaxFailuresIP: 4, Window: time.Minute}
	})
	env.addUser("alice", "correct horse")
	for i := range 4 { // spraying four different accounts from one address
		if resp, _ := env.login("user"+strconv.Itoa(i), "guess"); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failure %d = %d", i, resp.StatusCode)
		}
	}
	if resp, _ := env.login("alice", "correct horse"); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("after 4 failures from one IP = %d, want 429", resp.StatusCode)
	}
	// X-Forwarded-For is not believed from an untrusted peer, so it cannot
	// be used to dodge the throttle.
	if resp, _ := env.login("alice", "correct horse", "X-Forwarded-For", "203.0.113.9"); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("spoofed X-Forwarded-For = %d, want 429", resp.StatusCode)
	}
}

func TestTrustedProxyForwardedFor(t *testing.T) {
	env := newTestEnv(t, func(c *Config) {
		c.TrustedProxies = mustPrefixes("127.0.0.0/8")
		c.Login = LoginLimits{MaxFailuresAccountIP: 100, MaxFailuresIP: 2, Window: time.Minute}
	})
	env.addUser("alice", "correct horse")
	for range 2 {
		env.login("nobody", "guess", "X-Forwarded-For", "203.0.113.9")
	}
	if resp, _ := env.login("alice", "correct horse", "X-Forwarded-For", "203.0.113.9"); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("same forwarded client = %d, want 429", resp.StatusCode)
	}
	if resp, _ := env.login("alice", "correct horse", "X-Forwarded-For", "198.51.100.4"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("another forwarded client = %d, want 303", resp.StatusCode)
	}
}

func TestUnknownUserCostsOnePasswordVerification(t *testing.T) {
	env := newTestEnv(t)
	env.addUser("alice", "correct horse")
	cases := []struct{ name, user, password string }{
		{"wrong password", "alice", "wrong password"},
		{"unknown user", "mallory", "whatever1"},
		{"malformed name", "<script>", "whatever1"},
		{"oversized password", "alice", strings.Repeat("x", MaxPasswordLen+1)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := env.srv.passwords.verifications.Load()
			resp, body := env.login(c.user, c.password)
			if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "Incorrect username or password.") {
				t.Fatalf("status %d; every failure must look the same", resp.StatusCode)
			}
			if n := env.srv.passwords.verifications.Load() - before; n != 1 {
				t.Fatalf("%d argon2 verifications, want exactly 1 for every failure", n)
			}
		})
	}
}

func TestReturnToStaysOnThisServer(t *testing.T) {
	env := newTestEnv(t)
	env.addUser("alice", "correct horse")
	hostile := []string{
		"https://evil.example/", "//evil.example/x", "/\\evil.example", "\\\\evil.example",
		"javascript:alert(1)", "http:/evil.example", "/login\r\nLocation: https://evil.example",
		"evil.example", "",
	}
	for _, rt := range hostile {
		_, page := env.get(loginPath)
		resp, _ := env.postForm(loginPath, url.Values{
			"csrf_token": {csrfFrom(t, page)}, "username": {"alice"}, "password": {"correct horse"}, "return_to": {rt},
		})
		if loc := resp.Header.Get("Location"); loc != "/login" {
			t.Errorf("return_to %q redirected to %q, want /login", rt, loc)
		}
	}
	_, page := env.get(loginPath)
	resp, _ := env.postForm(loginPath, url.Values{
		"csrf_token": {csrfFrom(t, page)}, "username": {"alice"}, "password": {"correct horse"},
		"return_to": {"/authorize?client_id=x&state=y"},
	})
	if loc := resp.Header.Get("Location"); loc != "/authorize?client_id=x&state=y" {
		t.Errorf("local return_to redirected to %q", loc)
	}
}
