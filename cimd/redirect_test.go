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

// Issue 10 item 4: a redirect URI whose query already holds a response
// parameter is dropped from the document (the response would carry it
// twice, RFC 6749 §3.1), the rest of the document stays usable, and a
// request naming the dropped URI is told why; `gatehouse cimd check`
// reports the drop with advice.
func TestRedirectWithResponseParamIsDropped(t *testing.T) {
	e := newEnv(t)
	serveMutable(e, doc(testClientID, "https://client.example/cb?state=fixed", "https://client.example/cb?tenant=1",
		"http://localhost/callback?c%6Fde=1"))
	c := mustResolve(t, e)
	if got := c.Metadata.RedirectURIs; len(got) != 1 || got[0] != "https://client.example/cb?tenant=1" {
		t.Fatalf("redirect URIs = %q; want only the one without a response parameter", got)
	}
	_, err := e.r.ResolveForRedirect(bg, testClientID, "https://client.example/cb?state=fixed")
	if oauth.Code(err) != oauth.ErrCodeInvalidRequest || !strings.Contains(err.Error(), `"state"`) {
		t.Fatalf("err = %v; want invalid_request naming state", err)
	}
	rep := e.r.Check(bg, testClientID, "https://client.example/cb?state=fixed")
	if rep.Accepted() {
		t.Fatal("check accepted a redirect URI with a response parameter")
	}
	golden(t, "redirect-response-param.txt", rep)
}

// A document whose every redirect URI plants a response parameter has no
// usable redirect URI and is refused.
func TestDocumentWithOnlyResponseParamRedirectsIsRefused(t *testing.T) {
	e := newEnv(t)
	serveMutable(e, doc(testClientID, "https://client.example/cb?code=1", "http://127.0.0.1/cb?iss=x"))
	if _, err := e.r.Resolve(bg, testClientID); err == nil || !strings.Contains(err.Error(), "no redirect URI is usable") {
		t.Fatalf("err = %v; want the document refused", err)
	}
}
