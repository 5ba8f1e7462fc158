package resource_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/resource"
)

// introspecting is a verifier option: introspection mode with the
// resource server's Gatehouse client and the given cache TTL.
func introspecting(ttl time.Duration) func(*resource.Config) {
	return func(c *resource.Config) {
		c.Introspection = &resource.Introspection{ClientID: rsClient, ClientSecret: rsSecret, CacheTTL: ttl}
	}
}

// Offline verification cannot see revocation: a revoked token works until
// it expires. That is the trade-off introspection mode removes.
func TestOfflineModeAcceptsRevokedToken(t *testing.T) {
	g := startGatehouse(t)
	v := newVerifier(t, g, newClock())
	tok := g.token(t, testResource, "tools:call")
	g.revoke(t, tok)
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatalf("offline Verify of a revoked token: %v (offline mode cannot know)", err)
	}
	if g.introspectionRequests.Load() != 0 {
		t.Fatal("offline mode called the introspection endpoint")
	}
}

// Issue 10 item 9: with introspection and no cache, a revoked token is
// refused on the next request (endpoint discovered from the metadata).
func TestIntrospectionSeesRevocationAtOnce(t *testing.T) {
	g := startGatehouse(t)
	v := newVerifier(t, g, newClock(), introspecting(-1))
	tok := g.token(t, testResource, "tools:call")
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatalf("active token: %v", err)
	}
	g.revoke(t, tok)
	_, err := v.Verify(context.Background(), tok)
	if !errors.Is(err, resource.ErrInactive) {
		t.Fatalf("revoked token: err = %v, want ErrInactive", err)
	}
	var e *resource.Error
	if !errors.As(err, &e) || e.Status() != http.StatusUnauthorized || e.Code() != resource.CodeInvalidToken {
		t.Fatalf("revoked token answers %d %q, want 401 invalid_token", e.Status(), e.Code())
	}
	if got := v.Stats(); got.Introspections != 2 || got.IntrospectionFailures != 0 || got.IntrospectionCacheHits != 0 {
		t.Fatalf("stats %+v", got)
	}
}

// With a cache, answers are reused for CacheTTL on the verifier's clock:
// one request per token per interval, and a revocation is seen once the
// cached answer expires.
func TestIntrospectionCache(t *testing.T) {
	g := startGatehouse(t)
	clk := newClock()
	v := newVerifier(t, g, clk, introspecting(5*time.Second))
	tok := g.token(t, testResource, "tools:call")
	for range 3 {
		if _, err := v.Verify(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
	}
	if n := g.introspectionRequests.Load(); n != 1 {
		t.Fatalf("%d introspection requests for one token within the TTL, want 1", n)
	}
	g.revoke(t, tok)
	clk.Advance(4 * time.Second)
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatalf("within the cache TTL the cached answer stands: %v", err)
	}
	clk.Advance(2 * time.Second)
	if _, err := v.Verify(context.Background(), tok); !errors.Is(err, resource.ErrInactive) {
		t.Fatalf("after the cache TTL: err = %v, want ErrInactive", err)
	}
	// The inactive answer is cached too.
	clk.Advance(time.Second)
	if _, err := v.Verify(context.Background(), tok); !errors.Is(err, resource.ErrInactive) {
		t.Fatal(err)
	}
	if got := v.Stats(); got.Introspections != 2 || got.IntrospectionCacheHits != 4 {
		t.Fatalf("stats %+v, want 2 requests and 4 cache hits", got)
	}
}

// Concurrent requests with one token share one introspection.
func TestIntrospectionConcurrentRequestsShareOneLookup(t *testing.T) {
	g := startGatehouse(t)
	v := newVerifier(t, g, newClock(), introspecting(time.Minute))
	tok := g.token(t, testResource, "tools:call")
	if err := v.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := v.Verify(context.Background(), tok)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := g.introspectionRequests.Load(); n != 1 {
		t.Fatalf("%d introspection requests for 20 concurrent requests, want 1", n)
	}
}

// When the authorization server cannot answer, the verifier fails closed:
// 503 with Retry-After, never a pass and never a challenge.
func TestIntrospectionUnavailableFailsClosed(t *testing.T) {
	g := startGatehouse(t)
	v := newVerifier(t, g, newClock(), introspecting(-1))
	tok := g.token(t, testResource, "tools:call")
	g.failIntrospection.Store(true)
	_, err := v.Verify(context.Background(), tok)
	if !errors.Is(err, resource.ErrIntrospectionUnavailable) {
		t.Fatalf("err = %v, want ErrIntrospectionUnavailable", err)
	}
	h := v.Middleware("tools:call")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { t.Error("handler reached") }))
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/mcp", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" || rec.Header().Get("WWW-Authenticate") != "" {
		t.Fatalf("middleware: %d, Retry-After %q, WWW-Authenticate %q", rec.Code, rec.Header().Get("Retry-After"), rec.Header().Get("WWW-Authenticate"))
	}
	// Failures are not cached: the next request asks again and passes.
	g.failIntrospection.Store(false)
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatalf("after recovery: %v", err)
	}
	if got := v.Stats(); got.IntrospectionFailures != 2 || got.Introspections != 3 {
		t.Fatalf("stats %+v", got)
	}
}

// Wrong credentials are the operator's mistake: 503, not the token's fault.
// A client without allow_introspection learns nothing about other
// clients' tokens, so every token looks inactive to it.
func TestIntrospectionCredentials(t *testing.T) {
	g := startGatehouse(t)
	tok := g.token(t, testResource, "tools:call")
	v := newVerifier(t, g, newClock(), func(c *resource.Config) {
		c.Introspection = &resource.Introspection{ClientID: rsClient, ClientSecret: "wrong-secret-0123456789", CacheTTL: -1}
	})
	if _, err := v.Verify(context.Background(), tok); !errors.Is(err, resource.ErrIntrospectionUnavailable) {
		t.Fatalf("wrong secret: err = %v, want ErrIntrospectionUnavailable", err)
	}
	other := g.token(t, testResource, "tools:call")
	v = newVerifier(t, g, newClock(), func(c *resource.Config) {
		c.Introspection = &resource.Introspection{ClientID: svcClient, ClientSecret: svcSecret, CacheTTL: -1}
	})
	if _, err := v.Verify(context.Background(), other); err != nil {
		t.Fatalf("svc introspecting its own token: %v", err)
	}
}

// A token that fails the offline checks never reaches the endpoint.
func TestIntrospectionOnlyAfterOfflineChecks(t *testing.T) {
	g := startGatehouse(t)
	v := newVerifier(t, g, newClock(), introspecting(-1))
	tok := g.token(t, testResource, "tools:call")
	for _, bad := range []string{tok[:len(tok)-4] + "AAAA", "not-a-jwt", strings.Replace(tok, ".", "x.", 1)} {
		if _, err := v.Verify(context.Background(), bad); err == nil {
			t.Fatalf("accepted %q", bad)
		}
	}
	if n := g.introspectionRequests.Load(); n != 0 {
		t.Fatalf("%d introspection requests for tokens that failed offline", n)
	}
}

// Hostile or broken introspection endpoints (an explicit Endpoint): only a
// JSON object with "active": true passes; an object saying anything else
// is inactive; anything that is not one is the endpoint's failure.
func TestIntrospectionResponses(t *testing.T) {
	g := startGatehouse(t)
	tok := g.token(t, testResource, "tools:call")
	for _, tc := range []struct {
		name   string
		status int
		body   string
		want   error // nil: accepted
	}{
		{"active", 200, `{"active":true,"scope":"tools:call"}`, nil},
		{"active with spaces", 200, ` { "active" : true } `, nil},
		{"inactive", 200, `{"active":false}`, resource.ErrInactive},
		{"active as a string", 200, `{"active":"true"}`, resource.ErrInactive},
		{"active as 1", 200, `{"active":1}`, resource.ErrInactive},
		{"no active member", 200, `{"scope":"tools:call"}`, resource.ErrInactive},
		{"active null", 200, `{"active":null}`, resource.ErrInactive},
		{"array", 200, `[{"active":true}]`, resource.ErrIntrospectionUnavailable},
		{"null", 200, `null`, resource.ErrIntrospectionUnavailable},
		{"not JSON", 200, `<html>login</html>`, resource.ErrIntrospectionUnavailable},
		{"trailing data", 200, `{"active":true} {"active":true}`, resource.ErrIntrospectionUnavailable},
		{"too large", 200, `{"active":true,"x":"` + strings.Repeat("a", 70<<10) + `"}`, resource.ErrIntrospectionUnavailable},
		{"401", 401, `{"error":"invalid_client"}`, resource.ErrIntrospectionUnavailable},
		{"500 saying active", 500, `{"active":true}`, resource.ErrIntrospectionUnavailable},
		{"redirect", 302, ``, resource.ErrIntrospectionUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var gotAuth, gotForm string
			as := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				user, pass, _ := r.BasicAuth()
				gotAuth = user + ":" + pass
				r.ParseForm()
				gotForm = r.PostForm.Get("token_type_hint") + " " + r.PostForm.Get("token")
				if tc.status == 302 {
					http.Redirect(w, r, "/elsewhere", http.StatusFound)
					return
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tc.status)
				w.Write([]byte(tc.body))
			}))
			defer as.Close()
			v := newVerifier(t, g, newClock(), func(c *resource.Config) {
				c.Introspection = &resource.Introspection{Endpoint: as.URL + "/introspect", ClientID: "rs:1", ClientSecret: "p@ss", CacheTTL: -1}
			})
			_, err := v.Verify(context.Background(), tok)
			switch {
			case tc.want == nil && err != nil:
				t.Fatalf("err = %v, want accepted", err)
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			// RFC 6749 §2.3.1: the id and secret are form-encoded in Basic.
			if gotAuth != "rs%3A1:p%40ss" || gotForm != "access_token "+tok {
				t.Fatalf("request: Basic %q, form %q", gotAuth, gotForm)
			}
		})
	}
}

func TestIntrospectionConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		ic   resource.Introspection
		want string // "" = valid
	}{
		{"discovered endpoint", resource.Introspection{ClientID: "rs", ClientSecret: "s"}, ""},
		{"no cache", resource.Introspection{ClientID: "rs", ClientSecret: "s", CacheTTL: -1}, ""},
		{"no credentials", resource.Introspection{}, "ClientID and ClientSecret"},
		{"no secret", resource.Introspection{ClientID: "rs"}, "ClientID and ClientSecret"},
		{"http endpoint", resource.Introspection{ClientID: "rs", ClientSecret: "s", Endpoint: "http://as.example.com/introspect"}, "http is allowed only on a loopback"},
		{"relative endpoint", resource.Introspection{ClientID: "rs", ClientSecret: "s", Endpoint: "/introspect"}, "absolute"},
		{"cache too long", resource.Introspection{ClientID: "rs", ClientSecret: "s", CacheTTL: time.Hour}, "at most 5m0s"},
		{"negative entries", resource.Introspection{ClientID: "rs", ClientSecret: "s", MaxCacheEntries: -1}, "negative"},
	} {
		cfg := resource.Config{Resource: testResource, Issuer: "https://as.example.com", Introspection: &tc.ic}
		_, err := resource.New(cfg)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: err = %v, want it to mention %q", tc.name, err, tc.want)
		}
	}
}
