package server

import (
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// longState is a state of several KB with characters that grow when
// encoded, as some clients and conformance suites send.
var longState = strings.Repeat("é&=+/ x", 450) // 3600 bytes, 9000 encoded: more than the 8 KB a sign-in URL carried

// followToClient drives a browser from an /authorize answer through
// sign-in and consent to the redirect to the client, on whichever test
// server each Location points to (relative Locations stay on base).
func followToClient(t *testing.T, e *oauthEnv, client *http.Client, base string, resp *http.Response, body string) (*url.URL, []string) {
	t.Helper()
	var visited []string
	do := func(req *http.Request) (*http.Response, string) {
		visited = append(visited, req.Method+" "+req.URL.RequestURI())
		r, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		b := new(strings.Builder)
		_, _ = bufioReader(r.Body).WriteTo(b)
		return r, b.String()
	}
	for range 8 {
		switch {
		case resp.StatusCode == http.StatusFound || resp.StatusCode == http.StatusSeeOther:
			loc, _ := url.Parse(resp.Header.Get("Location"))
			if loc.Host != "" {
				return loc, visited
			}
			req, _ := http.NewRequest(http.MethodGet, base+loc.RequestURI(), nil)
			resp, body = do(req)
		case resp.StatusCode == http.StatusOK && (strings.Contains(body, "<h1>Sign in</h1>") || strings.Contains(body, "<h1>Authorize access</h1>")):
			action, form := formFields(t, body)
			if strings.Contains(body, "<h1>Sign in</h1>") {
				form.Set("username", testUser)
				form.Set("password", testPassword)
			} else {
				form.Set("decision", "allow")
			}
			req, _ := http.NewRequest(http.MethodPost, base+action, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, body = do(req)
		default:
			t.Fatalf("the flow stopped at %d after %v:\n%s", resp.StatusCode, visited, body)
		}
	}
	t.Fatalf("too many steps: %v", visited)
	return nil, nil
}

// TestLongRequestSurvivesSignIn: a fresh browser with a request too long
// for the sign-in URL is sent to sign in with a short handle, and lands at
// the client with a code and its state byte for byte; the code redeems.
func TestLongRequestSurvivesSignIn(t *testing.T) {
	env := newOAuthEnvFull(t, envOptions{Metrics: NewMetrics()})
	verifier, challenge := pkce()
	p := authzParams("public-app", publicRedirect, challenge)
	p.Set("state", longState)
	resp, _ := env.get(authorizePath + "?" + p.Encode())
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || len(loc) > 200 || !strings.Contains(loc, url.QueryEscape(authorizePath+"?pending=")) {
		t.Fatalf("signed-out long request = %d, Location %d bytes %q; want a short sign-in URL with a pending handle", resp.StatusCode, len(loc), truncate(loc, 300))
	}
	back, visited := followToClient(t, env, env.client, env.http.URL, resp, "")
	if back.Query().Get("state") != longState || back.Query().Get("code") == "" || back.Query().Get("iss") == "" {
		t.Fatalf("back at the client without the state intact or a code (after %v)", visited)
	}
	if r, body := env.exchange(back.Query().Get("code"), verifier); r.StatusCode != 200 {
		t.Fatalf("exchange = %d %v", r.StatusCode, body)
	}
	if got := counterVec(t, env.metrics, "gatehouse_authorize_pending_requests_total", "stored"); got != 1 {
		t.Errorf("stored %v pending requests, want 1 (reused through sign-in and consent)", got)
	}
	if got := counterVec(t, env.metrics, "gatehouse_authorize_pending_requests_total", "resumed"); got < 2 {
		t.Errorf("resumed %v times, want at least 2 (after sign-in, at consent)", got)
	}
}

// TestShortRequestTravelsInTheURL: an ordinary request costs no store
// write; it comes back from the sign-in page in the URL, as before.
func TestShortRequestTravelsInTheURL(t *testing.T) {
	env := newOAuthEnvFull(t, envOptions{Metrics: NewMetrics()})
	_, challenge := pkce()
	p := authzParams("public-app", publicRedirect, challenge)
	resp, _ := env.get(authorizePath + "?" + p.Encode())
	loc, _ := url.Parse(resp.Header.Get("Location"))
	rt, _ := url.Parse(loc.Query().Get("return_to"))
	if rt == nil || rt.Query().Get("state") != "st-123" || rt.Query().Has(pendingParam) {
		t.Fatalf("return_to = %v; want the request itself", rt)
	}
	if got := counterVec(t, env.metrics, "gatehouse_authorize_pending_requests_total", "stored"); got != 0 {
		t.Fatalf("%v pending requests stored for a short request", got)
	}
}

// TestPendingRequestOnAnotherInstance: two servers on one store (as two
// instances on one database): the request stored by one is finished by
// the other.
func TestPendingRequestOnAnotherInstance(t *testing.T) {
	env := newOAuthEnv(t)
	static, _ := NewStaticClients(env.clients)
	other, err := New(t.Context(), env.srv.cfg, Deps{Store: env.store, Now: env.clock.Now, Passwords: NewPasswordHasher(cheapPasswords),
		Clients: &ClientChain{Static: static}})
	if err != nil {
		t.Fatal(err)
	}
	second := httptest.NewServer(other.Handler())
	t.Cleanup(second.Close)
	verifier, challenge := pkce()
	p := authzParams("public-app", publicRedirect, challenge)
	p.Set("state", longState)
	resp, _ := env.get(authorizePath + "?" + p.Encode()) // instance one stores it
	// The browser continues on instance two (a load balancer's choice).
	back, visited := followToClient(t, env, env.client, second.URL, resp, "")
	if back.Query().Get("state") != longState || back.Query().Get("code") == "" {
		t.Fatalf("instance two did not finish the request (after %v)", visited)
	}
	if r, body := env.exchange(back.Query().Get("code"), verifier); r.StatusCode != 200 {
		t.Fatalf("exchange at instance one = %d %v", r.StatusCode, body)
	}
}

// TestPendingRequestRefusals: too large is refused up front (page or
// JSON); an expired or unknown handle says so; a client's own parameter
// named pending is not a handle; prompt=login with a long request does
// not loop.
func TestPendingRequestRefusals(t *testing.T) {
	env := newOAuthEnvFull(t, envOptions{Metrics: NewMetrics()})
	_, challenge := pkce()

	huge := authzParams("no-such-client", publicRedirect, challenge)
	huge.Set("state", strings.Repeat("x", maxAuthorizeRequest))
	resp, page := env.get(authorizePath+"?"+huge.Encode(), "Accept", browserAccept)
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(page, "Sign-in request too large") || resp.Header.Get("Location") != "" {
		t.Fatalf("oversized request = %d:\n%s", resp.StatusCode, page)
	}
	resp, body := env.get(authorizePath+"?"+huge.Encode(), "Accept", "application/json")
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(body, `"error":"invalid_request"`) {
		t.Fatalf("oversized request, JSON = %d %s", resp.StatusCode, body)
	}
	huge.Set("client_id", "public-app")
	resp, _ = env.postForm(authorizePath, huge, "Accept", browserAccept)
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized POST = %d", resp.StatusCode)
	}

	p := authzParams("public-app", publicRedirect, challenge)
	p.Set("state", longState)
	resp, _ = env.get(authorizePath + "?" + p.Encode())
	loc, _ := url.Parse(resp.Header.Get("Location"))
	rt := loc.Query().Get("return_to")
	env.clock.Advance(pendingTTL + time.Second)
	for _, target := range []string{rt, authorizePath + "?pending=never-issued"} {
		resp, page = env.get(target, "Accept", browserAccept)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "Sign-in request expired") || !strings.Contains(page, "start signing in again") {
			t.Fatalf("%s = %d:\n%s", target, resp.StatusCode, page)
		}
	}
	if got := counterVec(t, env.metrics, "gatehouse_authorize_pending_requests_total", "expired"); got != 2 {
		t.Errorf("expired = %v, want 2", got)
	}

	// A client's own "pending" parameter among others is just a parameter.
	p = authzParams("public-app", publicRedirect, challenge)
	p.Set(pendingParam, "whatever")
	if resp, _ := env.get(authorizePath + "?" + p.Encode()); resp.StatusCode != http.StatusFound || !strings.Contains(resp.Header.Get("Location"), loginPath) {
		t.Fatalf("a request with a pending parameter of its own = %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}

	// prompt=login with a long request: signed in, asked to sign in
	// again, and sent on to the client (the stored request must not keep
	// prompt=login, or the sign-in would loop).
	env.login(testUser, testPassword)
	p = authzParams("public-app", publicRedirect, challenge)
	p.Set("state", longState)
	p.Set("prompt", "login")
	resp, _ = env.get(authorizePath + "?" + p.Encode())
	back, visited := followToClient(t, env, env.client, env.http.URL, resp, "")
	if back.Query().Get("code") == "" || back.Query().Get("state") != longState {
		t.Fatalf("prompt=login with a long request did not reach the client: %v", visited)
	}
	if n := strings.Count(strings.Join(visited, " "), "POST "+loginPath); n != 1 {
		t.Fatalf("signed in %d times: %v", n, visited)
	}
}

// TestPendingRequestThrottle: one address cannot make the server store
// pending requests without bound; past the limit, a request that fits the
// sign-in page's own limit still goes in the URL, a longer one is 429.
func TestPendingRequestThrottle(t *testing.T) {
	env := newOAuthEnvFull(t, envOptions{Metrics: NewMetrics()})
	_, challenge := pkce()
	start := func(state string) *http.Response {
		p := authzParams("public-app", publicRedirect, challenge)
		p.Set("state", state)
		jar, _ := cookiejar.New(nil) // a fresh browser each time
		c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := c.Get(env.http.URL + authorizePath + "?" + p.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for i := range pendingLimits.PerIPPerMinute {
		if resp := start(longState); resp.StatusCode != http.StatusFound || !strings.Contains(resp.Header.Get("Location"), "pending%3D") {
			t.Fatalf("request %d = %d %s", i, resp.StatusCode, truncate(resp.Header.Get("Location"), 200))
		}
	}
	resp := start(strings.Repeat("a", 3000)) // over maxURLReturn, under the page's limit
	rt, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || strings.Contains(rt.Query().Get("return_to"), "pending=") {
		t.Fatalf("throttled, fits in the URL = %d %s; want the request in the URL", resp.StatusCode, truncate(resp.Header.Get("Location"), 200))
	}
	resp = start(strings.Repeat("a", 10000))
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("throttled, too long for the URL = %d", resp.StatusCode)
	}
	if got := counterVec(t, env.metrics, "gatehouse_authorize_pending_requests_total", "throttled"); got != 2 {
		t.Errorf("throttled = %v, want 2", got)
	}
	// The allowance comes back with time.
	env.clock.Advance(time.Minute)
	if resp := start(longState); resp.StatusCode != http.StatusFound || !strings.Contains(resp.Header.Get("Location"), "pending%3D") {
		t.Fatalf("after a minute = %d", resp.StatusCode)
	}
}

// counterVec reads one labelled sample of a counter.
func counterVec(t *testing.T, m *Metrics, name, label string) float64 {
	t.Helper()
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, s := range f.GetMetric() {
			for _, l := range s.GetLabel() {
				if l.GetValue() == label {
					return s.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}
