package cimd

import (
	"context"
	"errors"
	"net/http"
	"runtime"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/oauth"
)

const testClientID = "https://client.example/oauth/client.json"

func TestResolveFetchesValidatesAndCaches(t *testing.T) {
	e := newEnv(t)
	e.host.serveJSON(testClientID, doc(testClientID), "Cache-Control", "max-age=300")
	ctx := context.Background()
	c, err := e.r.Resolve(ctx, testClientID)
	if err != nil {
		t.Fatal(err)
	}
	if c.ID != testClientID || c.Kind != oauth.ClientCIMD || c.Metadata.ClientName != "Test Client" || c.Fingerprint == "" {
		t.Fatalf("client = %+v", c)
	}
	for range 10 {
		c2, err := e.r.Resolve(ctx, testClientID)
		if err != nil || c2 != c {
			t.Fatalf("cached resolve = %p, %v; want the same client %p", c2, err, c)
		}
	}
	if n := e.host.hits(testClientID); n != 1 {
		t.Fatalf("document fetched %d times; want 1 (then cache hits)", n)
	}
	if got := e.obs.event("document/hit"); got != 10 {
		t.Fatalf("observer saw %d hits; want 10", got)
	}
	if got := e.obs.fetch("document/ok"); got != 1 {
		t.Fatalf("observer saw %d ok fetches; want 1", got)
	}
}

func TestResolveErrorsAreInvalidClientNamingTheRule(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Hosts.Deny = []string{"*.evil.example"} })
	e.host.serveJSON("https://client.example/mismatch.json", doc("https://client.example/other.json"))
	tests := []struct {
		clientID string
		outcome  string
		desc     string
	}{
		{"https://client.example/a/../b", OutcomePolicyDenied,
			`client_id URL: must not contain dot segments (found "..") (CIMD -02 §3)`},
		{"https://x.evil.example/c.json", OutcomePolicyDenied,
			`client_id host: host "x.evil.example" is denied by the operator (cimd.hosts.deny pattern "*.evil.example") (CIMD -02 §8.9)`},
		// Address refusals never say what the address is (CWE-209).
		{"https://10.0.0.5/c.json", OutcomeBlockedAddress, `metadata document: ` + UnreachableDescription},
		{"https://0x7f.1/c.json", OutcomeBlockedAddress,
			`client_id URL: host "0x7f.1" is an ambiguous IPv4 spelling`},
		{"https://client.example/mismatch.json", OutcomeInvalidDocument,
			`metadata document: client_id "https://client.example/other.json" does not match the URL fetched, "https://client.example/mismatch.json"`},
		{"https://client.example/missing.json", OutcomeBadStatus,
			`metadata document: server answered 404 Not Found (only 200 OK is accepted) (CIMD -02 §5.1)`},
	}
	for _, tt := range tests {
		t.Run(tt.clientID, func(t *testing.T) {
			_, err := e.r.Resolve(context.Background(), tt.clientID)
			var oe *oauth.Error
			if !errors.As(err, &oe) || oe.Code != oauth.ErrCodeInvalidClient {
				t.Fatalf("error %v is not an invalid_client *oauth.Error", err)
			}
			if !strings.HasPrefix(oe.Description, tt.desc) {
				t.Fatalf("description\n  %q\nwant prefix\n  %q", oe.Description, tt.desc)
			}
			if got := OutcomeOf(err); got != tt.outcome {
				t.Fatalf("OutcomeOf = %q; want %q", got, tt.outcome)
			}
		})
	}
	// Only client.example was ever dialled (once: the connection is kept
	// alive for the second document); 10.0.0.5 and 0x7f.1 never were.
	if got := e.net.dials; len(got) != 1 || got[0] != "93.184.215.14:443" {
		t.Fatalf("dials = %v; want exactly one, to client.example's vetted address", got)
	}
}

func TestDisabled(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Enabled = false })
	_, err := e.r.Resolve(context.Background(), testClientID)
	if oauth.Code(err) != oauth.ErrCodeInvalidClient || !strings.Contains(err.Error(), "not enabled") {
		t.Fatalf("err = %v", err)
	}
	if e.net.dialCount() != 0 {
		t.Fatal("a disabled resolver made a connection")
	}
}

func TestAllowListOnlyBeforeAnyIO(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Hosts.Allow = []string{"claude.ai", "*.vscode.dev"} })
	_, err := e.r.Resolve(context.Background(), testClientID)
	if OutcomeOf(err) != OutcomePolicyDenied || !strings.Contains(err.Error(), "cimd.hosts.allow") {
		t.Fatalf("err = %v", err)
	}
	if e.net.lookupCount("client.example") != 0 || e.net.dialCount() != 0 {
		t.Fatal("a host outside the allow list was looked up or dialled")
	}
}

// A resolver without observer, logger or clock works (nil-safe defaults),
// including the paths that report events and log.
func TestNilObserverAndDefaultDeps(t *testing.T) {
	e := newEnv(t)
	e.host.serveJSON(testClientID, doc(testClientID), "Cache-Control", "max-age=30")
	r, err := NewResolver(e.cfg, Deps{Resolver: e.net, Dial: e.net.Dial})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	if _, err := r.Resolve(context.Background(), testClientID); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Resolve(context.Background(), "https://client.example/missing.json"); OutcomeOf(err) != OutcomeBadStatus {
		t.Fatalf("err = %v", err)
	}
	if st := r.CacheStats(); st.Hits != 0 || st.CostUsed == 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestCallerContextEndsTheWaitNotTheFetch(t *testing.T) {
	e := newEnv(t)
	release := make(chan struct{})
	e.host.handle(testClientID, func(w http.ResponseWriter, r *http.Request) {
		<-release
		jsonHandler(doc(testClientID))(w, r)
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		_, err := e.r.Resolve(ctx, testClientID)
		done <- err
	}()
	for e.host.hits(testClientID) == 0 {
		runtime.Gosched()
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v; want the caller's cancellation", err)
	}
	close(release)
	// The shared fetch completed for everyone else: the next call hits.
	if _, err := e.r.Resolve(context.Background(), testClientID); err != nil {
		t.Fatal(err)
	}
	if n := e.host.hits(testClientID); n != 1 {
		t.Fatalf("%d requests; the cancelled caller's fetch should have been reused", n)
	}
}
