package server

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/cimd"
	"github.com/gatehouse-dev/gatehouse/dcr"
	"github.com/gatehouse-dev/gatehouse/store/storetest"
)

const adminToken = "admin-token-0123456789-abcdefghijklmnop"

// observedEnv is a server with DCR, CIMD, metrics, a JSON log and the
// admin API, as an operator runs it.
type observedEnv struct {
	*oauthEnv
	host  *docHost
	admin *httptest.Server
}

func newObservedEnv(t *testing.T, mutate ...func(*cimd.Config)) *observedEnv {
	t.Helper()
	host := newDocHost(t)
	logs, metrics := &syncBuffer{}, NewMetrics()
	dc := dcr.DefaultConfig()
	env := newOAuthEnvFull(t, envOptions{DCR: &dc, Logs: logs, Metrics: metrics,
		CIMD: func(clock *storetest.Clock) *cimd.Resolver {
			cfg := cimd.DefaultConfig()
			cfg.AllowPrivateAddresses = true
			cfg.ExtraRootCAs = []*x509.Certificate{host.srv.Certificate()}
			for _, m := range mutate {
				m(&cfg)
			}
			log := slog.New(slog.NewJSONHandler(logs, nil))
			r, err := cimd.NewResolver(cfg, cimd.Deps{Now: clock.Now, Observer: metrics,
				OnDocumentChanged: func(id, old, new string) {
					Audit(context.Background(), log, AuditDocumentChanged, "client_id", id, "old_fingerprint", old, "new_fingerprint", new)
				}})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(r.Close)
			return r
		}})
	metrics.WatchCIMD(env.metadata)
	metrics.WatchDCR(env.reg)
	admin, err := env.srv.NewAdmin(AdminOptions{Token: adminToken, CIMD: env.metadata, Version: "test", Started: env.clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(admin.Handler())
	t.Cleanup(ts.Close)
	return &observedEnv{oauthEnv: env, host: host, admin: ts}
}

func (e *observedEnv) adminCall(method, path, token string) (*http.Response, string) {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.admin.URL+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestAdminAuthAndIsolation(t *testing.T) {
	e := newObservedEnv(t)
	for _, path := range []string{"/status", "/metrics", "/cache", "/clients", "/users", "/keys"} {
		for _, token := range []string{"", "wrong-token-wrong-token-wrong-token-!!", strings.ToUpper(adminToken)} {
			resp, body := e.adminCall(http.MethodGet, path, token)
			if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Fatalf("%s with token %q = %d, want 401", path, token, resp.StatusCode)
			}
			assertNoLeak(t, body)
		}
		if resp, _ := e.adminCall(http.MethodGet, path, adminToken); resp.StatusCode != http.StatusOK {
			t.Fatalf("%s with the token = %d", path, resp.StatusCode)
		}
		// The public listener has none of the admin paths.
		if resp, _ := e.get(path); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("public listener answers %s with %d", path, resp.StatusCode)
		}
	}
	if _, err := e.srv.NewAdmin(AdminOptions{Token: "short"}); err == nil {
		t.Fatal("a short admin token was accepted")
	}
}

// TestMetricsAfterAScriptedFlow drives registrations, CIMD fetches, a
// token exchange, a code replay, a refresh reuse and a failed login, then
// reads /metrics as Prometheus would.
func TestMetricsAfterAScriptedFlow(t *testing.T) {
	e := newObservedEnv(t)
	clientID := e.host.publish("/oauth/client.json", publicDoc())
	e.login(testUser, "wrong password!")
	e.register(legacyBody)
	verifier, challenge := pkce()
	p := authzParams(clientID, "http://127.0.0.1/callback", challenge)
	code := e.code(p)
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier},
		"redirect_uri": {"http://127.0.0.1/callback"}, "client_id": {clientID}}
	_, tokens := e.token(form, "", "")
	e.token(form, "", "") // replay
	code = e.code(p)
	form.Set("code", code)
	_, tokens = e.token(form, "", "")
	rt := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tokens["refresh_token"].(string)}, "client_id": {clientID}}
	e.token(rt, "", "")
	e.token(rt, "", "") // reuse

	_, body := e.adminCall(http.MethodGet, "/metrics", adminToken)
	for _, want := range []string{
		`gatehouse_http_requests_total{method="POST",route="/token",status="200"} 3`,
		`gatehouse_http_requests_total{method="POST",route="/token",status="400"} 2`,
		`gatehouse_http_request_duration_seconds_bucket{method="GET",route="/authorize",le="+Inf"}`,
		`gatehouse_tokens_issued_total{grant_type="authorization_code"} 2`,
		`gatehouse_tokens_issued_total{grant_type="refresh_token"} 1`,
		`gatehouse_authorization_code_replay_total 1`,
		`gatehouse_refresh_token_reuse_total 1`,
		`gatehouse_login_failures_total{reason="bad_credentials"} 1`,
		`gatehouse_cimd_fetches_total{kind="document",outcome="ok"} 1`,
		`gatehouse_cimd_fetch_duration_seconds_count{kind="document"} 1`,
		`gatehouse_cimd_cache_events_total{cache="document",event="hit"}`,
		`gatehouse_cimd_cache_events_total{cache="document",event="miss"} 1`,
		`gatehouse_cimd_cache_entries{cache="document"} 1`,
		`gatehouse_cimd_cache_bytes{cache="document"}`,
		`gatehouse_cimd_cache_max_bytes{cache="document"} 2.68435456e+08`,
		`gatehouse_dcr_registrations_total 1`,
		`gatehouse_dcr_first_tokens_total 0`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// auditEvents parses the JSON log for audit lines.
func auditEvents(t *testing.T, logs string) []map[string]any {
	var out []map[string]any
	for _, line := range strings.Split(logs, "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == "audit" {
			out = append(out, m)
		}
	}
	return out
}

func TestAuditEvents(t *testing.T) {
	e := newObservedEnv(t)
	ctx := context.Background()
	doc := publicDoc()
	clientID := e.host.publish("/oauth/client.json", doc)

	// client_registered, then client_deleted (RFC 7592) and client_expired.
	_, reg := e.register(legacyBody)
	e.manage(http.MethodDelete, reg["client_id"].(string), reg["registration_access_token"].(string), "")
	_, reg2 := e.register(strings.Replace(legacyBody, "Legacy CLI", "Never used", 1))
	// consent_granted, code_replay, refresh_reuse.
	verifier, challenge := pkce()
	p := authzParams(clientID, "http://127.0.0.1/callback", challenge)
	code := e.code(p)
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier},
		"redirect_uri": {"http://127.0.0.1/callback"}, "client_id": {clientID}}
	e.token(form, "", "")
	e.token(form, "", "")
	form.Set("code", e.code(p))
	_, tokens := e.token(form, "", "")
	rt := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tokens["refresh_token"].(string)}, "client_id": {clientID}}
	e.token(rt, "", "")
	e.token(rt, "", "")
	// consent_revoked.
	_, page := e.get(accountPath)
	_, f := formFields(t, page)
	e.postForm(accountRevokePath, url.Values{"csrf_token": {f.Get("csrf_token")}, "client_id": {clientID}})
	// cimd_document_changed: the document changes and is refetched.
	doc["client_name"] = "Agent CLI 2"
	e.host.publish("/oauth/client.json", doc)
	e.clock.Advance(10 * time.Minute)
	e.get(authorizePath + "?" + p.Encode())
	// policy_denial: a redirect the document lists but the policy refuses.
	doc["redirect_uris"] = []string{"http://127.0.0.1/callback", "https://evil.example/cb"}
	e.host.publish("/oauth/client.json", doc)
	e.clock.Advance(10 * time.Minute)
	e.get(authorizePath + "?" + authzParams(clientID, "https://evil.example/cb", challenge).Encode())
	// admin_action.
	e.adminCall(http.MethodDelete, "/cache/entry?url="+url.QueryEscape(clientID), adminToken)
	// client_expired: the unused registration is swept a day later.
	e.clock.Advance(25 * time.Hour)
	e.srv.sweep(ctx)

	seen := map[string][]map[string]any{}
	for _, ev := range auditEvents(t, e.logs.String()) {
		seen[ev["event"].(string)] = append(seen[ev["event"].(string)], ev)
	}
	for _, name := range []string{AuditClientRegistered, AuditClientDeleted, AuditClientExpired, AuditConsentGranted,
		AuditConsentRevoked, AuditDocumentChanged, AuditRefreshReuse, AuditCodeReplay, AuditPolicyDenial, AuditAdminAction} {
		if len(seen[name]) == 0 {
			t.Errorf("no %s audit event", name)
		}
	}
	if ev := seen[AuditClientExpired]; len(ev) == 0 || ev[0]["client_id"] != reg2["client_id"] {
		t.Errorf("client_expired = %v, want %v", ev, reg2["client_id"])
	}
	if ev := seen[AuditDocumentChanged]; len(ev) == 0 || ev[0]["old_fingerprint"] == ev[0]["new_fingerprint"] {
		t.Errorf("cimd_document_changed = %v", ev)
	}
	if ev := seen[AuditRefreshReuse]; len(ev) == 0 || ev[0]["level"] != "WARN" {
		t.Errorf("refresh_reuse = %v, want WARN", ev)
	}
	if ev := seen[AuditAdminAction]; len(ev) == 0 || ev[0]["action"] != "cache_purge" {
		t.Errorf("admin_action = %v", ev)
	}
}

// Runtime profiles are off unless the operator turns them on, and then
// sit behind the admin token like everything else on the admin listener.
func TestAdminProfiling(t *testing.T) {
	e := newObservedEnv(t)
	if resp, _ := e.adminCall(http.MethodGet, "/debug/pprof/goroutine?debug=1", adminToken); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("profiles served without admin.pprof: %d", resp.StatusCode)
	}
	admin, err := e.srv.NewAdmin(AdminOptions{Token: adminToken, CIMD: e.metadata, Version: "test", Started: e.clock.Now(), Profiling: true})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(admin.Handler())
	defer ts.Close()
	e.admin = ts
	if resp, _ := e.adminCall(http.MethodGet, "/debug/pprof/goroutine?debug=1", ""); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("profiles without the token: %d", resp.StatusCode)
	}
	resp, body := e.adminCall(http.MethodGet, "/debug/pprof/goroutine?debug=1", adminToken)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "goroutine profile:") {
		t.Fatalf("goroutine profile: %d %.200s", resp.StatusCode, body)
	}
	resp, body = e.adminCall(http.MethodGet, "/debug/pprof/", adminToken)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "heap") {
		t.Fatalf("profile index: %d %.200s", resp.StatusCode, body)
	}
}
