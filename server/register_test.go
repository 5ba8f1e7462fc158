package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/dcr"
)

// newDCREnv is an OAuth env with dynamic registration in the given mode.
func newDCREnv(t *testing.T, mode dcr.Mode, mutate ...func(*Config)) *oauthEnv {
	t.Helper()
	cfg := dcr.DefaultConfig()
	cfg.Mode = mode
	env := newOAuthEnvWith(t, &cfg, mutate...)
	return env
}

func (e *oauthEnv) register(body string, header ...string) (*http.Response, map[string]any) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.http.URL+registerPath, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return e.doJSON(req)
}

func (e *oauthEnv) manage(method, clientID, rat, body string) (*http.Response, map[string]any) {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.http.URL+registerPath+"/"+clientID, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if rat != "" {
		req.Header.Set("Authorization", "Bearer "+rat)
	}
	return e.doJSON(req)
}

const legacyBody = `{"redirect_uris":["http://127.0.0.1/callback"],"token_endpoint_auth_method":"none",
"grant_types":["authorization_code","refresh_token"],"response_types":["code"],"client_name":"Legacy CLI","application_type":"native"}`

// TestLegacyClientLifecycle is the DCR "done when": a legacy client
// registers, authorizes with PKCE, reads, updates and deletes its
// registration, and its tokens die with it.
func TestLegacyClientLifecycle(t *testing.T) {
	env := newDCREnv(t, dcr.ModeOpen)
	_, md := env.get(wellKnownOAuth)
	if !strings.Contains(md, `"registration_endpoint":"http://localhost:8080/register"`) {
		t.Fatalf("metadata lacks registration_endpoint: %s", md)
	}
	resp, reg := env.register(legacyBody)
	if resp.StatusCode != http.StatusCreated || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("register = %d %v", resp.StatusCode, reg)
	}
	id, rat := reg["client_id"].(string), reg["registration_access_token"].(string)
	if reg["registration_client_uri"] != "http://localhost:8080/register/"+id || reg["client_name"] != "Legacy CLI" {
		t.Fatalf("registration response = %v", reg)
	}

	verifier, challenge := pkce()
	code := env.code(authzParams(id, "http://127.0.0.1:49152/callback", challenge))
	resp, tokens := env.token(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier},
		"redirect_uri": {"http://127.0.0.1:49152/callback"}, "client_id": {id}}, "", "")
	if resp.StatusCode != 200 {
		t.Fatalf("exchange = %d %v", resp.StatusCode, tokens)
	}
	if rec, _ := env.store.Client(t.Context(), id); !rec.Used() {
		t.Fatal("the first token did not mark the client used")
	}

	resp, read := env.manage(http.MethodGet, id, rat, "")
	if resp.StatusCode != 200 || read["client_id"] != id || read["registration_access_token"] != rat {
		t.Fatalf("read = %d %v", resp.StatusCode, read)
	}
	resp, body := env.manage(http.MethodGet, id, "ghm_wrong", "")
	if resp.StatusCode != 401 || body["error"] != "invalid_token" || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
		t.Fatalf("read with a wrong token = %d %v", resp.StatusCode, body)
	}
	read["client_name"] = "Legacy CLI v2"
	update, _ := json.Marshal(read)
	resp, body = env.manage(http.MethodPut, id, rat, string(update))
	if resp.StatusCode != 200 || body["client_name"] != "Legacy CLI v2" {
		t.Fatalf("update = %d %v", resp.StatusCode, body)
	}
	resp, body = env.manage(http.MethodPut, id, rat, `{"client_id":"dcr_other","redirect_uris":["https://a/cb"]}`)
	if resp.StatusCode != 400 || body["error"] != "invalid_client_metadata" {
		t.Fatalf("update with a foreign client_id = %d %v", resp.StatusCode, body)
	}

	resp, _ = env.manage(http.MethodDelete, id, rat, "")
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete = %d", resp.StatusCode)
	}
	if env.introspect(t, tokens["access_token"].(string)) {
		t.Fatal("the deleted client's access token is still active")
	}
	resp, body = env.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tokens["refresh_token"].(string)}, "client_id": {id}}, "", "")
	wantOAuthError(t, resp, body, 401, "invalid_client")
	if resp, _ := env.manage(http.MethodGet, id, rat, ""); resp.StatusCode != 401 {
		t.Fatalf("read after delete = %d", resp.StatusCode)
	}
}

func TestRegistrationTransportRules(t *testing.T) {
	env := newDCREnv(t, dcr.ModeOpen, func(c *Config) {
		c.Register = RegisterLimits{PerIPPerMinute: 1000, GlobalPerSecond: 1000, MaxBody: 8 << 10}
	})
	for _, size := range []int{1 << 20, 10 << 10} { // over the server's limit; over the registration cap
		big := `{"redirect_uris":["https://a.example/cb"],"client_name":"` + strings.Repeat("x", size) + `"}`
		resp, body := env.register(big)
		if resp.StatusCode != http.StatusRequestEntityTooLarge || body["error"] != "invalid_request" {
			t.Fatalf("%d-byte body = %d %v", size, resp.StatusCode, body)
		}
	}
	var resp *http.Response
	var body map[string]any
	req, _ := http.NewRequest(http.MethodPost, env.http.URL+registerPath, strings.NewReader(legacyBody))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if resp, _ := env.doJSON(req); resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Fatalf("form body = %d", resp.StatusCode)
	}
	// The endpoint is readable by browser-based clients (Inspector).
	req, _ = http.NewRequest(http.MethodOptions, env.http.URL+registerPath, nil)
	req.Header.Set("Origin", "http://localhost:6274")
	req.Header.Set("Access-Control-Request-Method", "POST")
	resp, _ = env.do(req)
	if resp.StatusCode != http.StatusNoContent || !strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "Content-Type") {
		t.Fatalf("preflight = %d %v", resp.StatusCode, resp.Header)
	}
	resp, body = env.register(`{"redirect_uris":["javascript:alert(1)"],"token_endpoint_auth_method":"none"}`)
	if resp.StatusCode != 400 || body["error"] != "invalid_redirect_uri" {
		t.Fatalf("javascript: redirect = %d %v", resp.StatusCode, body)
	}
	assertNoLeak(t, mustMarshal(body))
}

func mustMarshal(v any) string { b, _ := json.Marshal(v); return string(b) }

func TestRegistrationRateLimits(t *testing.T) {
	env := newDCREnv(t, dcr.ModeOpen, func(c *Config) {
		c.Register = RegisterLimits{PerIPPerMinute: 3, GlobalPerSecond: 5, MaxBody: 16 << 10}
		c.TrustedProxies = mustPrefixes("127.0.0.0/8")
	})
	from := func(ip string, i int) (*http.Response, map[string]any) {
		body := strings.Replace(legacyBody, "Legacy CLI", "cli-"+strconv.Itoa(i), 1)
		return env.register(body, "X-Forwarded-For", ip)
	}
	for i := range 3 {
		if resp, body := from("198.51.100.1", i); resp.StatusCode != 201 {
			t.Fatalf("registration %d = %d %v", i, resp.StatusCode, body)
		}
	}
	resp, body := from("198.51.100.1", 9)
	if resp.StatusCode != http.StatusTooManyRequests || body["error"] != "temporarily_unavailable" {
		t.Fatalf("4th from one IP = %d %v", resp.StatusCode, body)
	}
	if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || ra < 1 || ra > 20 {
		t.Fatalf("Retry-After = %q", resp.Header.Get("Retry-After"))
	}
	// Other addresses are not affected by one IP's limit, but the global
	// limit (burst 10) holds for everyone.
	ok := 0
	for i := range 12 {
		if resp, _ := from("203.0.113."+strconv.Itoa(i), i); resp.StatusCode == 201 {
			ok++
		}
	}
	if ok != 7 {
		t.Fatalf("%d of 12 registrations from distinct IPs passed the global limit; want 7 (burst 10 minus 3)", ok)
	}
	env.clock.Advance(time.Minute)
	if resp, _ := from("198.51.100.1", 20); resp.StatusCode != 201 {
		t.Fatalf("after a minute = %d", resp.StatusCode)
	}
}

// TestRegistrationFloodLeavesBoundedResidue: a burst of identical public
// registrations (a CLI plugin re-registering on every start) is one record,
// and a flood of distinct unused ones is gone a day later.
func TestRegistrationFloodLeavesBoundedResidue(t *testing.T) {
	env := newDCREnv(t, dcr.ModeOpen)
	ids := map[string]bool{}
	for range 200 {
		resp, body := env.register(legacyBody)
		if resp.StatusCode != 201 {
			t.Fatalf("= %d %v", resp.StatusCode, body)
		}
		ids[body["client_id"].(string)] = true
	}
	for i := range 50 {
		env.register(strings.Replace(legacyBody, "Legacy CLI", "flood-"+strconv.Itoa(i), 1))
	}
	list, _ := env.store.ListClients(t.Context(), false)
	if len(ids) != 1 || len(list) != 51 {
		t.Fatalf("%d distinct IDs for identical registrations and %d records; want 1 and 51", len(ids), len(list))
	}
	env.clock.Advance(24 * time.Hour)
	n, err := env.store.Sweep(t.Context(), env.clock.Now())
	if err != nil || n.Removed != 51 {
		t.Fatalf("sweep removed %d (%v); want all 51 unused clients", n.Removed, err)
	}
}

func TestRegistrationModes(t *testing.T) {
	closed := newDCREnv(t, dcr.ModeClosed)
	_, md := closed.get(wellKnownOAuth)
	if strings.Contains(md, "registration_endpoint") {
		t.Fatal("closed mode advertises registration_endpoint")
	}
	if resp, body := closed.register(legacyBody); resp.StatusCode != 403 || body["error"] != "access_denied" {
		t.Fatalf("closed register = %d %v", resp.StatusCode, body)
	}

	tok := newDCREnv(t, dcr.ModeToken)
	resp, body := tok.register(legacyBody)
	if resp.StatusCode != 401 || body["error"] != "invalid_token" || resp.Header.Get("WWW-Authenticate") == "" {
		t.Fatalf("token mode without a token = %d %v", resp.StatusCode, body)
	}
	iat, _, err := tok.reg.CreateInitialAccessToken(t.Context(), 2, time.Hour, "")
	if err != nil {
		t.Fatal(err)
	}
	if resp, body := tok.register(legacyBody, "Authorization", "Bearer "+iat); resp.StatusCode != 201 {
		t.Fatalf("with a token = %d %v", resp.StatusCode, body)
	}
}

func TestNoRegistrationWithoutDCR(t *testing.T) {
	env := newOAuthEnv(t)
	req, _ := http.NewRequest(http.MethodPost, env.http.URL+registerPath, bytes.NewReader([]byte(legacyBody)))
	req.Header.Set("Content-Type", "application/json")
	if resp, _ := env.do(req); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("register without DCR = %d", resp.StatusCode)
	}
}
