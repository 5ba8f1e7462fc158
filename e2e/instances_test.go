//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/gatehouse-dev/gatehouse/store/pgstore/pgtest"
)

// The resource the cluster issues tokens for (nothing needs to serve it).
const clusterResource = "https://mcp.example.com/mcp"

// Static client for client_credentials tokens (kid sampling).
const (
	svcClient = "svc"
	svcSecret = "svc-secret-for-the-e2e-cluster"
)

// cluster is two `gatehouse serve` processes on one PostgreSQL database
// behind one balancer whose URL is the shared issuer.
type cluster struct {
	lb         *balancer
	issuer     string
	direct     []string // each instance's own base URL
	admin      []string // each instance's admin API
	adminToken string
	procs      []*proc
	cfgPath    string
	cfg        string // the configuration file's text
	docs       *docHost
}

func startCluster(t *testing.T) *cluster {
	t.Helper()
	dir := t.TempDir()
	dbURL := pgtest.NewDatabase(t)
	c := &cluster{adminToken: "e2e-admin-token-0123456789abcdefghijkl", docs: startDocHost(t)}
	tokenFile := filepath.Join(dir, "admin.token")
	if err := os.WriteFile(tokenFile, []byte(c.adminToken), 0o600); err != nil {
		t.Fatal(err)
	}
	ports := []int{freePort(t), freePort(t)}
	for _, p := range ports {
		c.direct = append(c.direct, fmt.Sprintf("http://127.0.0.1:%d", p))
		c.admin = append(c.admin, fmt.Sprintf("http://127.0.0.1:%d", freePort(t)))
	}
	c.lb = startBalancer(t, c.direct...)
	c.issuer = c.lb.url
	// The balancer forwards requests as they are: every instance has the
	// balancer's URL as its issuer, and nothing per instance but ports.
	c.cfg = fmt.Sprintf(`issuer: %s
log:
  level: debug
store:
  backend: postgres
  postgres:
    url: %q
tokens:
  refresh_token_grace_period: 0s
  key_publish_ahead: 4s
admin:
  token_file: %s
resources:
  - uri: %s
    scopes: [%s]
    default: true
login:
  max_failures_per_account: 4
  max_failures_per_account_ip: 4
  max_failures_per_ip: 1000
  account_slowdown: 100ms
dcr:
  mode: open
  rate_limit_per_ip: 100000
  rate_limit_global: 100000
  allow_client_credentials: true
cimd:
  enabled: true
  allow_private_addresses: true
  extra_ca_file: %s
`+generousFetch+`clients:
  - client_id: %s
    client_secret: %s
    grant_types: [client_credentials]
`, c.issuer, dbURL, tokenFile, clusterResource, mcpScope, c.docs.caFile, svcClient, svcSecret)
	c.cfgPath = filepath.Join(dir, "gatehouse.yaml")
	c.writeConfig(t, c.cfg)
	runCmd(t, testPassword+"\n", gatehouseBin, "user", "add", testUser, "--password-stdin", "--config", c.cfgPath)
	for i := range ports {
		p := startProc(t, fmt.Sprintf("instance-%c", 'a'+i), nil, nil, gatehouseBin, "serve", "--config", c.cfgPath,
			"--listen", strings.TrimPrefix(c.direct[i], "http://"), "--admin-listen", strings.TrimPrefix(c.admin[i], "http://"))
		c.procs = append(c.procs, p)
	}
	for i, p := range c.procs {
		waitHTTP(t, p, c.direct[i]+"/readyz")
	}
	return c
}

func (c *cluster) writeConfig(t *testing.T, text string) {
	t.Helper()
	if err := os.WriteFile(c.cfgPath, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

// call sends a request and decodes a JSON answer (if any) into out.
func call(t testing.TB, method, u string, header http.Header, body io.Reader, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %d %s: %v", method, u, resp.StatusCode, data, err)
		}
	}
	return resp.StatusCode
}

// adminCall calls instance i's admin API.
func (c *cluster) adminCall(t testing.TB, i int, method, path string, out any) int {
	t.Helper()
	return call(t, method, c.admin[i]+path, http.Header{"Authorization": {"Bearer " + c.adminToken}}, nil, out)
}

// tokenAt posts a token request to base with HTTP Basic client
// authentication (when secret is set) and returns the status and body.
func tokenAt(t testing.TB, base string, form url.Values, clientID, secret string) (int, map[string]any) {
	t.Helper()
	h := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	if secret != "" {
		h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(clientID)+":"+url.QueryEscape(secret))))
	} else {
		form.Set("client_id", clientID)
	}
	var out map[string]any
	status := call(t, http.MethodPost, base+"/token", h, strings.NewReader(form.Encode()), &out)
	return status, out
}

// confidentialClient registers a client_secret_basic client (through the
// balancer) and returns its registration response.
func (c *cluster) confidentialClient(t testing.TB, base, name string) map[string]any {
	t.Helper()
	body, _ := json.Marshal(map[string]any{
		"client_name": name, "redirect_uris": []string{driverRedirect},
		"grant_types": []string{"authorization_code", "refresh_token"}, "response_types": []string{"code"},
		"token_endpoint_auth_method": "client_secret_basic", "scope": mcpScope,
	})
	var reg map[string]any
	if status := call(t, http.MethodPost, base+"/register", http.Header{"Content-Type": {"application/json"}}, bytes.NewReader(body), &reg); status != http.StatusCreated {
		t.Fatalf("register on %s: %d %v", base, status, reg)
	}
	return reg
}

// authorizeOn signs in and consents with the balancer pinned to instance
// i, and returns the authorization code and its PKCE verifier.
func (c *cluster) authorizeOn(t testing.TB, i int, clientID string) (code, verifier string) {
	t.Helper()
	c.lb.pinTo(i)
	defer c.lb.pinTo(-1)
	verifier = oauth2.GenerateVerifier()
	sum := oauth2.S256ChallengeFromVerifier(verifier)
	q := url.Values{"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {driverRedirect},
		"code_challenge": {sum}, "code_challenge_method": {"S256"}, "state": {"st"}, "scope": {mcpScope}, "resource": {clusterResource}}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cb, err := newFormDriver().Run(ctx, c.issuer+"/authorize?"+q.Encode(), driverRedirect)
	if err != nil {
		t.Fatal(err)
	}
	if cb.Query().Get("code") == "" {
		t.Fatalf("no code: %s", cb.Redacted())
	}
	return cb.Query().Get("code"), verifier
}

// kidOf is the kid in a JWT's header.
func kidOf(t testing.TB, jwt string) string {
	t.Helper()
	head, _, _ := strings.Cut(jwt, ".")
	raw, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		t.Fatalf("JWT header: %v", err)
	}
	var h struct {
		Kid string `json:"kid"`
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	return h.Kid
}

// jwksKids lists the key IDs base publishes.
func jwksKids(t testing.TB, base string) map[string]bool {
	t.Helper()
	var set struct{ Keys []struct{ Kid string } }
	if status := call(t, http.MethodGet, base+"/jwks.json", nil, nil, &set); status != http.StatusOK {
		t.Fatalf("jwks on %s: %d", base, status)
	}
	out := map[string]bool{}
	for _, k := range set.Keys {
		out[k.Kid] = true
	}
	return out
}

// announced bounds the wait for an instance to apply what the other
// announced. The announcement (LISTEN/NOTIFY) arrives in tens of
// milliseconds; the bound is far above that so that a loaded machine
// cannot fail the test, and wantAnnounced proves the change came by the
// announcement, not by a periodic re-read.
const announced = 30 * time.Second

// wantAnnounced checks that instance B logged at least n announcements of
// kind from another instance (with key, when key is not empty).
func wantAnnounced(t *testing.T, c *cluster, kind, key string, n int) {
	t.Helper()
	parts := []string{`msg="event from another instance"`, "event=" + kind + " "}
	if key != "" {
		parts = append(parts, "key="+key+" ")
	}
	if got := countLogLines(t, c.procs[1].logPath, parts...); got < n {
		t.Fatalf("instance B logged %d %s announcements (key %q), want %d: the change did not come by LISTEN/NOTIFY", got, kind, key, n)
	}
}

// issuedAt is the iat claim of a JWT, in Unix seconds.
func issuedAt(t testing.TB, jwt string) int64 {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWT: %d parts", len(parts))
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("JWT payload: %v", err)
	}
	var claims struct {
		IAT int64 `json:"iat"`
	}
	if err := json.Unmarshal(raw, &claims); err != nil || claims.IAT == 0 {
		t.Fatalf("JWT payload without iat: %v", err)
	}
	return claims.IAT
}

// eventually polls cond every 50ms until it holds or limit passes.
func eventually(t testing.TB, limit time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > limit {
			t.Fatalf("%s: not within %v", what, limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Since(start)
}

// callNoFatal is call for load loops: it returns 0 for a transport error
// instead of failing the test.
func callNoFatal(method, u string, header http.Header, body string, out any) int {
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		return 0
	}
	req.Header = header
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil {
		_ = json.Unmarshal(data, out)
	}
	return resp.StatusCode
}

func base64Std(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
