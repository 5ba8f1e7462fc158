package cimd

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/oauth"
)

// Decision §6.5: a redirect URI added to the document works at once: one
// conditional refetch, rate-limited per client_id.
func TestResolveForRedirectRefetchesOnce(t *testing.T) {
	e := newEnv(t)
	m := serveMutable(e, doc(testClientID, "https://client.example/cb"))
	m.set(func(m *mutableDoc) { m.cc = "max-age=3600" })
	if _, err := e.r.ResolveForRedirect(bg, testClientID, "https://client.example/cb"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.r.ResolveForRedirect(bg, testClientID, "http://localhost:53682/callback"); err == nil {
		t.Fatal("an unregistered redirect was accepted")
	}
	m.set(func(m *mutableDoc) {
		m.body = doc(testClientID, "https://client.example/cb", "https://client.example/new")
	})
	// Rate limit: the mismatch above spent this interval's refetch.
	_, err := e.r.ResolveForRedirect(bg, testClientID, "https://client.example/new")
	if oauth.Code(err) != oauth.ErrCodeInvalidRequest || !strings.Contains(err.Error(), "not registered") {
		t.Fatalf("err = %v; want invalid_request (rate-limited refetch)", err)
	}
	if n := e.host.hits(testClientID); n != 2 {
		t.Fatalf("%d requests; want 2 (initial + one refetch)", n)
	}
	e.clock.Advance(15 * time.Second)
	c, err := e.r.ResolveForRedirect(bg, testClientID, "https://client.example/new")
	if err != nil || len(c.Metadata.RedirectURIs) != 2 {
		t.Fatalf("after the interval: %v, %v; want the new redirect accepted", c, err)
	}
	// The refreshed copy serves plain Resolve too.
	if c2 := mustResolve(t, e); c2 != c {
		t.Fatal("the refetched document did not replace the cached one")
	}
}

func TestResolveForRedirectExplainsPolicyDrops(t *testing.T) {
	e := newEnv(t)
	serveMutable(e, doc(testClientID, "https://client.example/cb", "https://evil.example/cb"))
	_, err := e.r.ResolveForRedirect(bg, testClientID, "https://evil.example/cb")
	if oauth.Code(err) != oauth.ErrCodeInvalidRequest || !strings.Contains(err.Error(), "refused by Gatehouse's redirect policy") ||
		!strings.Contains(err.Error(), "same-site") {
		t.Fatalf("err = %v", err)
	}
	c, err := e.r.ResolveForRedirect(bg, testClientID, "https://client.example/cb")
	if err != nil || len(c.Metadata.RedirectURIs) != 1 {
		t.Fatalf("%v %v", c, err)
	}
}

func TestLoopbackRedirectAnyPort(t *testing.T) {
	e := newEnv(t)
	serveMutable(e, doc(testClientID, "http://localhost/callback"))
	if _, err := e.r.ResolveForRedirect(bg, testClientID, "http://localhost:3118/callback"); err != nil {
		t.Fatal(err)
	}
	if n := e.host.hits(testClientID); n != 1 {
		t.Fatal("a loopback port variation caused a refetch")
	}
}
