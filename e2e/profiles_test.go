//go:build e2e

package e2e

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

const (
	// adminScope is a second scope Gatehouse accepts for the demo
	// resource, so that a scope ceiling has something to drop.
	adminScope = "mcp:admin"
	// crossSiteRedirect is on another site than any client_id host here.
	crossSiteRedirect = "https://app.example.net/oauth/callback"
	robotSecret       = "robot-secret-0123456789-abcdef"
)

// profilesConfig is the client_profiles block of TestProfiles. robots
// parametrizes the robot's ceiling, which the reload test flips.
func profilesConfig(adminAddr, tokenFile, robotScope, robotTTL string) string {
	return fmt.Sprintf(`admin:
  listen: %s
  token_file: %s
clients:
  - client_id: first-party-cli
    client_name: First-party CLI
    redirect_uris: [%s]
    token_endpoint_auth_method: none
  - client_id: robot
    grant_types: [client_credentials]
    client_secret: %s
client_profiles:
  - name: first-party
    match: {client_ids: [first-party-cli]}
    consent: skip
  - name: trusted-agents
    match: {hosts: [localhost]}
    redirect_policy: any
  - name: robots
    match: {client_ids: [robot]}
    scopes: [%s]
    access_token_ttl: %s
  - name: registered
    match: {registered: true}
    scopes: [%s]
    access_token_ttl: 5m
    refresh_tokens: false
    allow_client_credentials: false
  - name: unknown-cimd
    match: {cimd: true}
    approval: admin
`, adminAddr, tokenFile, driverRedirect, robotSecret, robotScope, robotTTL, mcpScope)
}

// TestProfiles runs a Gatehouse whose client profiles put unknown CIMD
// hosts in the approval queue, trust one host's cross-site redirect,
// skip consent for a named first-party client and cap registered
// clients, and drives each rule from the outside: pages, tokens, the CLI.
func TestProfiles(t *testing.T) {
	requireCIMD(t)
	docs := startDocHost(t)
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "admin.token")
	if err := os.WriteFile(tokenFile, []byte(rand.Text()+rand.Text()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	adminAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	sink := startWebhookSink(t)
	st := startStackWith(t, "profiles", docs, stackOptions{extra: strictRefresh + profilesConfig(adminAddr, tokenFile, mcpScope, "2m") + sink.config(),
		extraScopes: []string{adminScope}})
	t.Run("approval-queue", func(t *testing.T) { testApprovalQueue(t, st, sink) })
	t.Run("consent-skip", func(t *testing.T) { t.Parallel(); testConsentSkip(t, st) })
	t.Run("redirect-policy-per-host", func(t *testing.T) { t.Parallel(); testRedirectPolicyPerHost(t, st) })
	t.Run("ceilings", func(t *testing.T) { t.Parallel(); testCeilings(t, st) })
	t.Run("reload-under-load", func(t *testing.T) { testReloadUnderLoad(t, st, adminAddr, tokenFile) })
}

// authURL is an authorization request of a public client for the demo
// MCP server.
func authURL(st *stack, clientID, redirect, scope string, verifier string) (string, string) {
	state := rand.Text()
	cfg := &oauth2.Config{ClientID: clientID, RedirectURL: redirect, Scopes: strings.Fields(scope),
		Endpoint: oauth2.Endpoint{AuthURL: st.issuer + "/authorize"}}
	return cfg.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("resource", st.mcpURL)), state
}

// redeem exchanges a code for a public client and returns the response.
func redeem(t *testing.T, st *stack, clientID, redirect, code, verifier string) map[string]any {
	t.Helper()
	status, out := tokenRequest(t, st, "", "", url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier},
		"redirect_uri": {redirect}, "client_id": {clientID}, "resource": {st.mcpURL}})
	if status != http.StatusOK {
		t.Fatalf("token: %d %v", status, out)
	}
	return out
}

// testApprovalQueue: an unknown CIMD client is pending (the user sees why,
// host first, and nothing is issued), the operator approves it with the
// CLI against the running server, the flow completes and the token works
// at the MCP server; when the client adds a redirect URI to its document,
// it is back in the queue. Each time the operator's receiver gets a
// signed notice.
func testApprovalQueue(t *testing.T, st *stack, sink *webhookSink) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	clientID := st.docs.addClient(t, "unknown-agent", driverRedirect)
	driver := newFormDriver()
	defer driver.savePages(t)
	verifier := oauth2.GenerateVerifier()
	u, _ := authURL(st, clientID, driverRedirect, mcpScope, verifier)
	if cb, err := driver.Run(ctx, u, driverRedirect); err == nil {
		t.Fatalf("a pending client was sent back with %s", cb.Redacted())
	}
	if driver.StoppedStatus != http.StatusForbidden || !strings.Contains(driver.Stopped, "waits for approval") ||
		!strings.HasPrefix(driver.Stopped, "This application waits for approval The application at "+st.docs.host) {
		t.Fatalf("pending page (%d): %s", driver.StoppedStatus, driver.Stopped)
	}
	if n := sink.next(t); n["event"] != "client_pending" || n["client_id"] != clientID || n["reason"] != "new" || n["profile"] != "unknown-cimd" {
		t.Fatalf("approval notice: %v", n)
	}
	out := runCmd(t, "", gatehouseBin, "admin", "clients", "pending", "--config", st.cfgPath)
	if !strings.Contains(out, clientID) || !strings.Contains(out, "unknown-cimd") || !strings.Contains(out, " new ") {
		t.Fatalf("admin clients pending:\n%s", out)
	}
	out = runCmd(t, "", gatehouseBin, "admin", "clients", "approve", clientID, "--config", st.cfgPath)
	if !strings.Contains(out, "approved "+clientID) {
		t.Fatalf("admin clients approve: %s", out)
	}
	cb, err := driver.Run(ctx, u, driverRedirect)
	if err != nil {
		t.Fatalf("after approval: %v (stopped at %s)", err, driver.Stopped)
	}
	tok := redeem(t, st, clientID, driverRedirect, cb.Query().Get("code"), verifier)
	if status := mcpInitialize(t, st, tok["access_token"].(string)); status != http.StatusOK {
		t.Fatalf("MCP initialize with the approved client's token: %d", status)
	}
	listed := runCmd(t, "", gatehouseBin, "admin", "clients", "list", "--config", st.cfgPath)
	if !lineHas(listed, clientID, "unknown-cimd", "approved") {
		t.Errorf("admin clients list does not show the profile and approval:\n%s", listed)
	}

	// The operator rotates the webhook secret: after a reload, notices are
	// signed with the new one (approvals.webhook_secret_file is re-read).
	sink.rotate(t, []byte("e2e-webhook-secret-rotated-9876543210"))
	if out := runCmd(t, "", gatehouseBin, "admin", "reload", "--config", st.cfgPath); !strings.Contains(out, "reload applied") {
		t.Fatalf("admin reload after the secret rotation: %s", out)
	}

	// The client adds a redirect URI and uses it: Gatehouse refetches the
	// document (decision §6.5), sees the change, and queues it again.
	other := "http://127.0.0.1:53682/other"
	st.docs.addClient(t, "unknown-agent", driverRedirect, other)
	u2, _ := authURL(st, clientID, other, mcpScope, verifier)
	if _, err := driver.Run(ctx, u2, other); err == nil || !strings.Contains(driver.Stopped, "waits for approval again") {
		t.Fatalf("changed document: %v; page: %s", err, driver.Stopped)
	}
	out = runCmd(t, "", gatehouseBin, "admin", "clients", "pending", "--config", st.cfgPath)
	if !lineHas(out, clientID, "changed") {
		t.Fatalf("the changed client is not pending again:\n%s", out)
	}
	if n := sink.next(t); n["client_id"] != clientID || n["reason"] != "changed" || n[signedWithKey] != float64(1) {
		t.Fatalf("approval notice after the change (and the secret's rotation): %v", n)
	}
}

// testConsentSkip: the first-party client, named exactly by a consent:
// skip profile, gets a code after sign-in with no consent page.
func testConsentSkip(t *testing.T, st *stack) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	driver := newFormDriver()
	defer driver.savePages(t)
	verifier := oauth2.GenerateVerifier()
	u, state := authURL(st, "first-party-cli", driverRedirect, mcpScope, verifier)
	cb, err := driver.Run(ctx, u, driverRedirect)
	if err != nil {
		t.Fatal(err)
	}
	if len(driver.Pages) != 1 || driver.Pages[0].Kind != "login" || cb.Query().Get("state") != state {
		t.Fatalf("pages %v, callback %s; want only the sign-in page, then the code", driver.Steps, cb.Redacted())
	}
	tok := redeem(t, st, "first-party-cli", driverRedirect, cb.Query().Get("code"), verifier)
	if status := mcpInitialize(t, st, tok["access_token"].(string)); status != http.StatusOK {
		t.Fatalf("MCP initialize: %d", status)
	}
}

// testRedirectPolicyPerHost: the same cross-site redirect URI is accepted
// for the client on localhost (its profile's redirect_policy: any) and
// refused, with a page and no redirect, for one on 127.0.0.1 (the default
// same-site policy).
func testRedirectPolicyPerHost(t *testing.T, st *stack) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	localhost := strings.Replace(st.docs.origin, "127.0.0.1", "localhost", 1)
	trusted := st.docs.addClientAt(t, localhost, "trusted-web-agent", crossSiteRedirect)
	stranger := st.docs.addClient(t, "stranger-web-agent", crossSiteRedirect, driverRedirect)
	driver := newFormDriver()
	defer driver.savePages(t)
	verifier := oauth2.GenerateVerifier()
	u, state := authURL(st, trusted, crossSiteRedirect, mcpScope, verifier)
	cb, err := driver.Run(ctx, u, crossSiteRedirect)
	if err != nil || cb.Query().Get("code") == "" || cb.Query().Get("state") != state {
		t.Fatalf("the trusted host's cross-site redirect: %v %v", cb, err)
	}
	if p := driver.Pages[len(driver.Pages)-1]; p.Kind != "consent" || !strings.Contains(p.Text, "localhost") || !strings.Contains(p.Text, "app.example.net") {
		t.Errorf("the consent page does not name the host and the destination: %s", p.Text)
	}
	u, _ = authURL(st, stranger, crossSiteRedirect, mcpScope, verifier)
	status, loc, body := getNoRedirect(t, u)
	if status != http.StatusBadRequest || loc != "" || !strings.Contains(body, "redirect policy") {
		t.Fatalf("another host's cross-site redirect: %d, Location %q; want a 400 page naming the redirect policy", status, loc)
	}
}

// testCeilings: a registered client asking for two scopes and
// offline_access gets a 5-minute token with only mcp:tools and no refresh
// token, and the token works at the MCP server.
func testCeilings(t *testing.T, st *stack) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// Registered without a scope of its own: only the profile limits it.
	resp, err := http.Post(st.issuer+"/register", "application/json", strings.NewReader(
		`{"client_name":"capped","redirect_uris":["`+driverRedirect+`"],"token_endpoint_auth_method":"none","grant_types":["authorization_code","refresh_token"]}`))
	if err != nil {
		t.Fatal(err)
	}
	var reg map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&reg)
	resp.Body.Close()
	clientID, _ := reg["client_id"].(string)
	if resp.StatusCode != http.StatusCreated || clientID == "" {
		t.Fatalf("register: %s %v", resp.Status, reg)
	}
	driver := newFormDriver()
	defer driver.savePages(t)
	verifier := oauth2.GenerateVerifier()
	u, _ := authURL(st, clientID, driverRedirect, mcpScope+" "+adminScope+" offline_access", verifier)
	cb, err := driver.Run(ctx, u, driverRedirect)
	if err != nil {
		t.Fatal(err)
	}
	tok := redeem(t, st, clientID, driverRedirect, cb.Query().Get("code"), verifier)
	claims := jwtPayload(t, tok["access_token"].(string))
	if tok["scope"] != mcpScope || tok["expires_in"] != float64(300) || tok["refresh_token"] != nil ||
		claims["scope"] != mcpScope || claims["exp"].(float64)-claims["iat"].(float64) != 300 {
		t.Fatalf("token response %v, claims %v; want scope %s, 300 s, no refresh token", tok, claims, mcpScope)
	}
	if status := mcpInitialize(t, st, tok["access_token"].(string)); status != http.StatusOK {
		t.Fatalf("MCP initialize with the capped token: %d", status)
	}
}

// testReloadUnderLoad: while four workers take client_credentials tokens,
// the operator flips the robot's ceiling between two shapes with
// `gatehouse admin reload`. Each token must be entirely one shape: scope
// and lifetime from the same profile.
func testReloadUnderLoad(t *testing.T, st *stack, adminAddr, tokenFile string) {
	shapes := map[string]float64{mcpScope: 120, adminScope: 60}
	write := func(scope, ttl string) {
		cfg := st.base + strictRefresh + profilesConfig(adminAddr, tokenFile, scope, ttl)
		if err := os.WriteFile(st.cfgPath, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	stop := make(chan struct{})
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				status, tok := tokenRequest(t, st, "robot", robotSecret, url.Values{"grant_type": {"client_credentials"},
					"resource": {st.mcpURL}, "scope": {mcpScope + " " + adminScope}})
				if status != http.StatusOK {
					t.Errorf("client_credentials: %d %v", status, tok)
					return
				}
				scope, _ := tok["scope"].(string)
				claims := jwtPayload(t, tok["access_token"].(string))
				want, ok := shapes[scope]
				if !ok || tok["expires_in"] != want || claims["exp"].(float64)-claims["iat"].(float64) != want || claims["scope"] != scope {
					t.Errorf("a token of no single profile: scope %q, expires_in %v, claims %v", scope, tok["expires_in"], claims)
				}
				mu.Lock()
				seen[scope]++
				mu.Unlock()
			}
		}()
	}
	for i := range 6 {
		scope, ttl := adminScope, "1m"
		if i%2 == 1 {
			scope, ttl = mcpScope, "2m"
		}
		write(scope, ttl)
		if out := runCmd(t, "", gatehouseBin, "admin", "reload", "--config", st.cfgPath); !strings.Contains(out, "reload applied") {
			t.Fatalf("admin reload: %s", out)
		}
		// The workers take tokens under this shape before the next reload
		// (a count, not a pause: a loaded machine may take a while).
		count := func() int { mu.Lock(); defer mu.Unlock(); return seen[scope] }
		before := count()
		eventually(t, time.Minute, "a token under the shape "+scope, func() bool { return count() > before })
	}
	close(stop)
	wg.Wait()
	if seen[mcpScope] == 0 || seen[adminScope] == 0 {
		t.Fatalf("tokens per shape %v: both shapes must have been issued", seen)
	}
	t.Logf("tokens per shape across 6 reloads: %v", seen)
}

// tokenRequest posts to /token, with HTTP Basic client credentials when
// id is set, and decodes the JSON answer. Safe from any goroutine.
func tokenRequest(t *testing.T, st *stack, id, secret string, form url.Values) (int, map[string]any) {
	req, _ := http.NewRequest(http.MethodPost, st.issuer+"/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if id != "" {
		req.SetBasicAuth(id, secret)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return 0, nil
	}
	defer resp.Body.Close()
	out := map[string]any{}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Errorf("token response: %v", err)
	}
	return resp.StatusCode, out
}

// jwtPayload decodes a JWT's claims (the MCP server verifies signatures).
func jwtPayload(t *testing.T, token string) map[string]any {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %.40s", token)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	var claims map[string]any
	if err != nil || json.Unmarshal(raw, &claims) != nil {
		t.Fatalf("JWT payload: %v", err)
	}
	return claims
}

// lineHas reports whether one line of out contains every part.
func lineHas(out string, parts ...string) bool {
	for _, line := range strings.Split(out, "\n") {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(line, p)
		}
		if ok {
			return true
		}
	}
	return false
}
