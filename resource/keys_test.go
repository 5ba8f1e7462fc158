package resource_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-dev/gatehouse/resource"
)

func newP384(t testing.TB, kid string) jose.JSONWebKey {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return jose.JSONWebKey{Key: priv, KeyID: kid, Algorithm: string(jose.ES384)}
}

// jwksServer serves a JWK Set written by hand, counting requests.
type jwksServer struct {
	*httptest.Server
	requests atomic.Int64
}

// serveJWKS publishes keys, plus two a verifier must skip without failing
// the set: an X25519 key and a key of an unknown type.
func serveJWKS(t testing.TB, keys ...jose.JSONWebKey) *jwksServer {
	t.Helper()
	var raw []json.RawMessage
	for _, k := range keys {
		b, err := k.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		raw = append(raw, b)
	}
	raw = append(raw,
		json.RawMessage(`{"kty":"OKP","crv":"X25519","x":"hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo","kid":"x25519"}`),
		json.RawMessage(`{"kty":"quantum","kid":"future"}`))
	body, _ := json.Marshal(map[string]any{"keys": raw})
	s := &jwksServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}))
	t.Cleanup(s.Close)
	return s
}

// Unsupported keys are skipped, not fatal to the set; private keys and
// symmetric keys in a JWKS are never used.
func TestJWKSSkipsUnusableKeys(t *testing.T) {
	g := startGatehouse(t)
	clk := newClock()
	good := newP256(t, "good")
	private := newP256(t, "private") // published with its private part
	symmetric := jose.JSONWebKey{Key: []byte("0123456789abcdef0123456789abcdef"), KeyID: "hmac", Algorithm: "HS256"}
	jwks := serveJWKS(t, good.Public(), private, symmetric)
	v := newVerifier(t, g, clk, func(c *resource.Config) { c.JWKSURL = jwks.URL })
	claims := g.validClaims(clk.Now())
	if _, err := v.Verify(context.Background(), sign(t, good, jose.ES256, claims, nil)); err != nil {
		t.Fatalf("good key: %v", err)
	}
	clk.Advance(time.Minute) // let the unknown kid below refetch
	if _, err := v.Verify(context.Background(), sign(t, private, jose.ES256, claims, nil)); !errors.Is(err, resource.ErrUnknownKey) {
		t.Errorf("private JWK: err = %v, want ErrUnknownKey", err)
	}
	if g.metadataRequests.Load() != 0 {
		t.Errorf("an explicit JWKSURL still caused %d discovery requests", g.metadataRequests.Load())
	}
}

// After Gatehouse rotates its key, a token signed with the new key
// verifies after one JWKS refetch, once the refresh interval allows one;
// forged kids never cause more fetches than that interval permits.
func TestKeyRotationAndUnknownKidRateLimit(t *testing.T) {
	g := startGatehouse(t)
	clk := newClock()
	v := newVerifier(t, g, clk) // KeyRefreshInterval: the 5 s default
	ctx := context.Background()

	oldTok := g.token(t, testResource, "tools:call")
	if _, err := v.Verify(ctx, oldTok); err != nil {
		t.Fatal(err)
	}
	if n := g.jwksRequests.Load(); n != 1 {
		t.Fatalf("jwks fetches after the first token = %d, want 1", n)
	}

	g.rotate(t)
	newTok := g.token(t, testResource, "tools:call")
	if kidOf(t, newTok) == kidOf(t, oldTok) {
		t.Fatal("rotation did not change the kid")
	}
	// The last fetch was just now: the new kid is unknown, with no fetch.
	if _, err := v.Verify(ctx, newTok); !errors.Is(err, resource.ErrUnknownKey) {
		t.Fatalf("new key inside the refresh interval: err = %v, want ErrUnknownKey", err)
	}
	if n := g.jwksRequests.Load(); n != 1 {
		t.Fatalf("jwks fetches = %d, want still 1", n)
	}
	clk.Advance(resource.DefaultKeyRefreshInterval)
	if _, err := v.Verify(ctx, newTok); err != nil {
		t.Fatalf("new key after the interval: %v", err)
	}
	if n := g.jwksRequests.Load(); n != 2 {
		t.Fatalf("jwks fetches = %d, want 2", n)
	}
	if _, err := v.Verify(ctx, oldTok); err != nil {
		t.Fatalf("a token signed before the rotation: %v", err)
	}

	// A flood of tokens with forged kids (and otherwise valid claims, so
	// that they reach the key lookup) costs at most one fetch per interval.
	flood := func() {
		var wg sync.WaitGroup
		for i := range 200 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				tok := sign(t, newP256(t, fmt.Sprintf("forged-%d", i)), jose.ES256, g.validClaims(clk.Now()), nil)
				if _, err := v.Verify(ctx, tok); !errors.Is(err, resource.ErrUnknownKey) {
					t.Errorf("forged kid: err = %v, want ErrUnknownKey", err)
				}
			}()
		}
		wg.Wait()
	}
	flood()
	if n := g.jwksRequests.Load(); n != 2 {
		t.Fatalf("forged kids inside the interval caused fetches: %d, want 2", n)
	}
	clk.Advance(resource.DefaultKeyRefreshInterval)
	flood()
	if n := g.jwksRequests.Load(); n != 3 {
		t.Fatalf("forged kids after the interval: %d fetches, want exactly 3", n)
	}
	if got := v.Stats(); got.KeyFetches != 3 || got.KeyFetchFailures != 0 {
		t.Errorf("stats %+v", got)
	}
}

// Known keys are refreshed after KeyCacheTTL in the background, with a
// conditional request Gatehouse answers 304; verification never waits.
func TestKeyCacheTTLRefresh(t *testing.T) {
	g := startGatehouse(t)
	clk := newClock()
	v := newVerifier(t, g, clk, func(c *resource.Config) { c.KeyCacheTTL = time.Minute })
	tok := g.token(t, testResource, "tools:call")
	ctx := context.Background()
	if _, err := v.Verify(ctx, tok); err != nil {
		t.Fatal(err)
	}
	clk.Advance(30 * time.Second)
	if _, err := v.Verify(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if n := g.jwksRequests.Load(); n != 1 {
		t.Fatalf("fresh cache refetched: %d fetches", n)
	}
	clk.Advance(31 * time.Second)
	if _, err := v.Verify(ctx, tok); err != nil {
		t.Fatalf("stale cache: %v", err)
	}
	waitFor(t, func() bool {
		return v.Stats().KeyFetches == 2 && g.jwksNotModified.Load() == 1 && v.Stats().LastKeyFetch.Equal(clk.Now())
	})
	if n := g.jwksRequests.Load(); n != 2 {
		t.Errorf("jwks fetches = %d, want 2", n)
	}
}

// waitFor polls cond for a background fetch (which is real I/O, so there
// is nothing to advance instead).
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute) // only stops a broken test from hanging
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in a minute")
		}
		time.Sleep(time.Millisecond)
	}
}

// With the authorization server down, known keys keep working; a cold
// verifier reports ErrKeysUnavailable and retries at most once per
// interval.
func TestKeysUnavailable(t *testing.T) {
	g := startGatehouse(t)
	clk := newClock()
	ctx := context.Background()
	tok := g.token(t, testResource, "tools:call")

	warm := newVerifier(t, g, clk, func(c *resource.Config) { c.KeyCacheTTL = time.Minute })
	if _, err := warm.Verify(ctx, tok); err != nil {
		t.Fatal(err)
	}
	g.failJWKS.Store(true)
	clk.Advance(2 * time.Minute) // stale: a refresh is attempted and fails
	if _, err := warm.Verify(ctx, tok); err != nil {
		t.Fatalf("known key while the AS is down: %v", err)
	}
	waitFor(t, func() bool { return warm.Stats().KeyFetchFailures == 1 })

	cold := newVerifier(t, g, clk)
	before := g.jwksRequests.Load()
	for range 3 {
		_, err := cold.Verify(ctx, tok)
		var e *resource.Error
		if !errors.Is(err, resource.ErrKeysUnavailable) || !errors.As(err, &e) || e.Status() != http.StatusServiceUnavailable {
			t.Fatalf("cold verifier, AS down: err = %v, want ErrKeysUnavailable (503)", err)
		}
		if strings.Contains(e.Description, "503") || strings.Contains(e.Description, g.issuer) {
			t.Errorf("the client-facing description leaks the cause: %q", e.Description)
		}
	}
	if n := g.jwksRequests.Load() - before; n != 1 {
		t.Fatalf("cold verifier made %d fetches in one interval, want 1", n)
	}
	g.failJWKS.Store(false)
	clk.Advance(resource.DefaultKeyRefreshInterval)
	if _, err := cold.Verify(ctx, tok); err != nil {
		t.Fatalf("after the AS is back: %v", err)
	}
}

// Discovery finds jwks_uri in the RFC 8414 metadata and insists that the
// metadata's issuer is the configured one, byte for byte.
func TestDiscovery(t *testing.T) {
	g := startGatehouse(t)
	ctx := context.Background()
	v := newVerifier(t, g, newClock())
	if err := v.Refresh(ctx); err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	if g.metadataRequests.Load() != 1 || g.jwksRequests.Load() != 1 {
		t.Errorf("metadata %d, jwks %d requests; want 1 and 1", g.metadataRequests.Load(), g.jwksRequests.Load())
	}
	// Refresh ignores the rate limit; the discovered jwks_uri is kept.
	if err := v.Refresh(ctx); err != nil || g.metadataRequests.Load() != 1 || g.jwksRequests.Load() != 2 {
		t.Errorf("second Refresh: %v; metadata %d, jwks %d", err, g.metadataRequests.Load(), g.jwksRequests.Load())
	}

	// The same server under a different spelling of its issuer.
	mismatch := newVerifier(t, g, newClock(), func(c *resource.Config) { c.Issuer = g.issuer + "/" })
	err := mismatch.Refresh(ctx)
	if err == nil || !strings.Contains(err.Error(), "RFC 8414 §3.3") {
		t.Fatalf("issuer mismatch: err = %v", err)
	}
	if g.jwksRequests.Load() != 2 {
		t.Errorf("keys were fetched despite the issuer mismatch")
	}

	// An issuer with no metadata at all.
	nothing := httptest.NewServer(http.NotFoundHandler())
	defer nothing.Close()
	v3, err := resource.New(resource.Config{Resource: testResource, Issuer: nothing.URL})
	if err != nil {
		t.Fatal(err)
	}
	if err := v3.Refresh(ctx); err == nil || !strings.Contains(err.Error(), "status 404") {
		t.Errorf("no metadata: err = %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	ok := resource.Config{Resource: "https://mcp.example.com/mcp", Issuer: "https://auth.example.com"}
	if _, err := resource.New(ok); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	tests := []struct {
		name   string
		mutate func(*resource.Config)
		want   string
	}{
		{"no resource", func(c *resource.Config) { c.Resource = "" }, "Resource: required"},
		{"relative resource", func(c *resource.Config) { c.Resource = "/mcp" }, "not an absolute URL"},
		{"resource with a fragment", func(c *resource.Config) { c.Resource += "#x" }, "fragment"},
		{"resource with a query", func(c *resource.Config) { c.Resource += "?x=1" }, "query"},
		{"resource over http", func(c *resource.Config) { c.Resource = "http://mcp.example.com/mcp" }, "loopback"},
		{"resource with dot segments", func(c *resource.Config) { c.Resource = "https://mcp.example.com/a/../mcp" }, "dot segments"},
		{"resource with an empty segment", func(c *resource.Config) { c.Resource = "https://mcp.example.com//mcp" }, "empty segments"},
		{"resource with a wildcard", func(c *resource.Config) { c.Resource = "https://mcp.example.com/{x}" }, "{}:*"},
		{"no issuer", func(c *resource.Config) { c.Issuer = "" }, "Issuer: required"},
		{"ftp issuer", func(c *resource.Config) { c.Issuer = "ftp://auth.example.com" }, "https"},
		{"HS256", func(c *resource.Config) { c.Algorithms = []string{"HS256"} }, `"HS256" is not an accepted`},
		{"none", func(c *resource.Config) { c.Algorithms = []string{"none"} }, `"none" is not an accepted`},
		{"huge leeway", func(c *resource.Config) { c.Leeway = time.Hour }, "Leeway"},
		{"bad scope", func(c *resource.Config) { c.ScopesSupported = []string{"a b"} }, "scope token"},
		{"bad docs URL", func(c *resource.Config) { c.ResourceDocumentation = "javascript:alert(1)" }, "ResourceDocumentation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ok
			tt.mutate(&cfg)
			_, err := resource.New(cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
	// Every problem is reported at once.
	err := resource.Config{Algorithms: []string{"HS256"}, Leeway: time.Hour}.Validate()
	if err == nil || strings.Count(err.Error(), "\n") != 3 {
		t.Errorf("want 4 problems, got %v", err)
	}
}

// Many requests meeting a cold cache at once share one fetch and all
// succeed, including those that look at the cache just before the fetch
// lands and ask for another just after (which the rate limit refuses).
func TestColdCacheConcurrentRequests(t *testing.T) {
	g := startGatehouse(t)
	tok := g.token(t, testResource, "tools:call")
	for round := range 20 {
		v := newVerifier(t, g, newClock())
		before := g.jwksRequests.Load()
		start := make(chan struct{})
		var wg sync.WaitGroup
		for range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				if _, err := v.Verify(context.Background(), tok); err != nil {
					t.Errorf("round %d: %v", round, err)
				}
			}()
		}
		close(start)
		wg.Wait()
		if n := g.jwksRequests.Load() - before; n != 1 {
			t.Fatalf("round %d: %d JWKS fetches, want 1", round, n)
		}
	}
}
