package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// graceEnv is an OAuth env with the given grace period, metrics and logs,
// and a grant for public-app: its first access and refresh tokens.
func graceEnv(t *testing.T, grace time.Duration) (env *oauthEnv, access, refresh string, logs *syncBuffer) {
	t.Helper()
	logs = &syncBuffer{}
	env = newOAuthEnvFull(t, envOptions{Logs: logs, Metrics: NewMetrics()}, func(c *Config) { c.RefreshGrace = grace })
	verifier, challenge := pkce()
	_, tokens := env.exchange(env.code(authzParams("public-app", publicRedirect, challenge)), verifier)
	return env, tokens["access_token"].(string), tokens["refresh_token"].(string), logs
}

// postRefresh exchanges a refresh token from any goroutine (no t.Fatal).
func postRefresh(base, rt, client string) (int, map[string]any, error) {
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {client}}
	resp, err := http.Post(base+tokenPath, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body := map[string]any{}
	err = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body, err
}

// TestConcurrentRefreshWithinGrace is the acceptance case: four
// concurrent refreshes with one token all succeed with the grace period on,
// and nothing is revoked.
func TestConcurrentRefreshWithinGrace(t *testing.T) {
	env, access, rt, logs := graceEnv(t, 10*time.Second)
	const n = 4
	type result struct {
		status int
		body   map[string]any
		err    error
	}
	results := make([]result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, body, err := postRefresh(env.http.URL, rt, "public-app")
			results[i] = result{status, body, err}
		}()
	}
	wg.Wait()
	fresh := map[string]bool{}
	for i, r := range results {
		if r.err != nil || r.status != http.StatusOK {
			t.Fatalf("refresh %d = %d %v %v; want 200", i, r.status, r.body, r.err)
		}
		if r.body["scope"] != "files:read" {
			t.Fatalf("refresh %d has scope %v; every token response states the scope", i, r.body["scope"])
		}
		fresh[r.body["refresh_token"].(string)] = true
		if !env.introspect(t, r.body["access_token"].(string)) {
			t.Fatalf("access token of refresh %d is not active", i)
		}
	}
	if len(fresh) != n {
		t.Fatalf("%d distinct refresh tokens for %d refreshes; each must get its own pair", len(fresh), n)
	}
	if !env.introspect(t, access) {
		t.Fatal("the grant's first access token was revoked")
	}
	// Each process keeps working with the token it got.
	for next := range fresh {
		if status, body, err := postRefresh(env.http.URL, next, "public-app"); err != nil || status != http.StatusOK {
			t.Fatalf("refreshing with a token issued in the race = %d %v %v", status, body, err)
		}
	}
	if got := counterValue(t, env.metrics, "gatehouse_refresh_token_grace_total"); got != n-1 {
		t.Fatalf("gatehouse_refresh_token_grace_total = %v; want %d (one plain rotation, the rest grace uses)", got, n-1)
	}
	if got := counterValue(t, env.metrics, "gatehouse_refresh_token_reuse_total"); got != 0 {
		t.Fatalf("gatehouse_refresh_token_reuse_total = %v; want 0", got)
	}
	if got := strings.Count(logs.String(), `"event":"refresh_grace"`); got != n-1 {
		t.Fatalf("%d refresh_grace audit lines, want %d:\n%s", got, n-1, logs)
	}
}

// TestRefreshGraceRules: who gets the grace and when it ends.
func TestRefreshGraceRules(t *testing.T) {
	tests := []struct {
		name   string
		grace  time.Duration
		wait   time.Duration // between the rotation and the reuse
		client string        // presenting the rotated-out token
		// want is the reuse's outcome; revoked whether the grant died.
		wantStatus int
		wantError  string
		revoked    bool
	}{
		{"strict: immediate reuse revokes", 0, 0, "public-app", 400, "invalid_grant", true},
		{"within grace", 10 * time.Second, 3 * time.Second, "public-app", 200, "", false},
		{"at the end of the grace", 10 * time.Second, 10 * time.Second, "public-app", 200, "", false},
		{"after the grace revokes", 10 * time.Second, 11 * time.Second, "public-app", 400, "invalid_grant", true},
		{"another client gets nothing and revokes nothing", 10 * time.Second, 0, "scoped-app", 400, "invalid_grant", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, access, rt, logs := graceEnv(t, tt.grace)
			status, body, err := postRefresh(env.http.URL, rt, "public-app")
			if err != nil || status != 200 {
				t.Fatalf("first refresh = %d %v %v", status, body, err)
			}
			current := body["refresh_token"].(string)
			env.clock.Advance(tt.wait)
			status, body, err = postRefresh(env.http.URL, rt, tt.client)
			if err != nil || status != tt.wantStatus || (tt.wantError != "" && body["error"] != tt.wantError) {
				t.Fatalf("reuse = %d %v %v; want %d %s", status, body, err, tt.wantStatus, tt.wantError)
			}
			if got := env.introspect(t, access); got == tt.revoked {
				t.Fatalf("first access token active = %v; want revoked = %v", got, tt.revoked)
			}
			status, _, _ = postRefresh(env.http.URL, current, "public-app")
			if (status == 200) == tt.revoked {
				t.Fatalf("the current refresh token answers %d; want revoked = %v", status, tt.revoked)
			}
			graceLogged := strings.Contains(logs.String(), `"event":"refresh_grace"`)
			if graceLogged != (tt.wantStatus == 200) {
				t.Fatalf("refresh_grace logged = %v, want %v", graceLogged, tt.wantStatus == 200)
			}
		})
	}
}

// counterValue reads an unlabelled counter from the registry.
func counterValue(t *testing.T, m *Metrics, name string) float64 {
	t.Helper()
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == name {
			return f.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatal(fmt.Sprintf("metric %s not registered", name))
	return 0
}
