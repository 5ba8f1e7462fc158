package cimd

import (
	"maps"
	"net/http"
	"testing"
	"time"
)

// Every fetch is reported to the Observer exactly once, under its final
// outcome, and a refusal by the operator's policy is reported as
// policy_denied although nothing is fetched. The hostile-host, key-set and
// logo tables check the other outcomes row by row.
func TestFetchOutcomesAreReportedOnce(t *testing.T) {
	const other = "https://client.example/other.json"
	tests := []struct {
		name   string
		config func(*Config)
		run    func(t *testing.T, e *env)
		want   map[string]int
	}{
		{"ok, then cache hits", nil, func(t *testing.T, e *env) {
			e.host.serveJSON(testClientID, doc(testClientID), "Cache-Control", "max-age=300")
			for range 3 {
				mustResolve(t, e)
			}
		}, map[string]int{"document/ok": 1}},
		{"not modified", nil, func(t *testing.T, e *env) {
			m := serveMutable(e, doc(testClientID))
			m.set(func(m *mutableDoc) { m.etag = `"v1"` })
			mustResolve(t, e)
			e.clock.Advance(301 * time.Second)
			mustResolve(t, e)
		}, map[string]int{"document/ok": 1, "document/not_modified": 1}},
		{"invalid refresh of a cached document", nil, func(t *testing.T, e *env) {
			m := serveMutable(e, doc(testClientID))
			mustResolve(t, e)
			m.set(func(m *mutableDoc) { m.body = docWith(map[string]any{"client_id": testClientID, "client_secret": "s"}) })
			e.clock.Advance(301 * time.Second)
			resolveOutcome(t, e, testClientID, OutcomeInvalidDocument)
		}, map[string]int{"document/ok": 1, "document/invalid_document": 1}},
		{"failure backoff fetches nothing", nil, func(t *testing.T, e *env) {
			e.host.handle(testClientID, statusHandler(http.StatusNotFound))
			for range 3 {
				resolveOutcome(t, e, testClientID, OutcomeBadStatus)
			}
		}, map[string]int{"document/bad_status": 1}},
		{"host on the deny list", func(c *Config) { c.Hosts.Deny = []string{"client.example"} }, func(t *testing.T, e *env) {
			e.host.serveJSON(testClientID, doc(testClientID))
			resolveOutcome(t, e, testClientID, OutcomePolicyDenied)
			resolveOutcome(t, e, other, OutcomePolicyDenied)
		}, map[string]int{"document/policy_denied": 2}},
		{"host not on the allow list", func(c *Config) { c.Hosts.Allow = []string{"claude.ai"} }, func(t *testing.T, e *env) {
			resolveOutcome(t, e, testClientID, OutcomePolicyDenied)
		}, map[string]int{"document/policy_denied": 1}},
		{"deny list on the redirect path", func(c *Config) { c.Hosts.Deny = []string{"*.example"} }, func(t *testing.T, e *env) {
			if _, err := e.r.ResolveForRedirect(bg, testClientID, "http://localhost/callback"); OutcomeOf(err) != OutcomePolicyDenied {
				t.Fatalf("err = %v", err)
			}
		}, map[string]int{"document/policy_denied": 1}},
		{"client_id URL rule", nil, func(t *testing.T, e *env) {
			resolveOutcome(t, e, "https://client.example/a/../client.json", OutcomePolicyDenied)
			resolveOutcome(t, e, "https://0x7f.1/client.json", OutcomeBlockedAddress)
		}, map[string]int{"document/policy_denied": 1, "document/blocked_address": 1}},
		{"CIMD disabled", func(c *Config) { c.Enabled = false }, func(t *testing.T, e *env) {
			resolveOutcome(t, e, testClientID, OutcomePolicyDenied)
		}, map[string]int{"document/policy_denied": 1}},
		{"private address without allow_private_addresses", nil, func(t *testing.T, e *env) {
			e.net.resolveTo("internal.example", addrs("10.1.2.3"))
			resolveOutcome(t, e, "https://internal.example/client.json", OutcomeBlockedAddress)
			resolveOutcome(t, e, "https://10.1.2.3/client.json", OutcomeBlockedAddress)
		}, map[string]int{"document/blocked_address": 2}},
		{"admin refresh of a denied host", func(c *Config) { c.Hosts.Deny = []string{"client.example"} }, func(t *testing.T, e *env) {
			if _, err := e.r.Refresh(bg, testClientID); OutcomeOf(err) != OutcomePolicyDenied {
				t.Fatalf("err = %v", err)
			}
		}, map[string]int{"document/policy_denied": 1}},
		{"check: invalid document", nil, func(t *testing.T, e *env) {
			e.host.serveJSON(testClientID, doc(other))
			if rep := e.r.Check(bg, testClientID, ""); OutcomeOf(rep.Err) != OutcomeInvalidDocument {
				t.Fatalf("err = %v", rep.Err)
			}
		}, map[string]int{"document/invalid_document": 1}},
		{"check: denied host", func(c *Config) { c.Hosts.Deny = []string{"client.example"} }, func(t *testing.T, e *env) {
			if rep := e.r.Check(bg, testClientID, ""); OutcomeOf(rep.Err) != OutcomePolicyDenied {
				t.Fatalf("err = %v", rep.Err)
			}
		}, map[string]int{"document/policy_denied": 1}},
		{"check: key set and logo", nil, func(t *testing.T, e *env) {
			e.host.serveJSON(testClientID, pkjwtDoc(map[string]any{"jwks_uri": jwksURL, "logo_uri": "https://cdn.example/logo"}))
			e.host.serveJSON(jwksURL, `{"keys":[]}`)
			e.host.handle("https://cdn.example/logo", withType("image/png", "<svg/>"))
			if rep := e.r.Check(bg, testClientID, ""); rep.Accepted() {
				t.Fatal("a client without usable keys was accepted")
			}
		}, map[string]int{"document/ok": 1, "jwks/invalid_document": 1, "logo/invalid_document": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mutate []func(*Config)
			if tt.config != nil {
				mutate = append(mutate, tt.config)
			}
			e := newEnv(t, mutate...)
			tt.run(t, e)
			if got := e.obs.fetchCounts(); !maps.Equal(got, tt.want) {
				t.Fatalf("fetches counted %v; want %v", got, tt.want)
			}
		})
	}
}

func resolveOutcome(t *testing.T, e *env, clientID, want string) {
	t.Helper()
	if _, err := e.r.Resolve(bg, clientID); OutcomeOf(err) != want {
		t.Fatalf("Resolve(%s) = %v; want %s", clientID, err, want)
	}
}
