package main

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

const testAdminToken = "operator-token-0123456789-abcdefghij"

// TestOperatorScenario is the operators' "done when": while the server
// runs, without a restart, an operator denies a host and sees its client
// refused, purges a cached document and sees it refetched, closes DCR,
// reads the cache and fetch metrics, and manages users and keys.
func TestOperatorScenario(t *testing.T) {
	var docFetches atomic.Int64
	var docURL string
	docs := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		docFetches.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "max-age=3600")
		json.NewEncoder(w).Encode(map[string]any{"client_id": docURL, "client_name": "Agent",
			"redirect_uris": []string{"http://127.0.0.1/callback"}, "token_endpoint_auth_method": "none"})
	}))
	defer docs.Close()
	docURL = docs.URL + "/client.json"
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: docs.Certificate().Raw}), 0o600)
	tokenFile := filepath.Join(dir, "admin.token")
	os.WriteFile(tokenFile, []byte(testAdminToken+"\n"), 0o600)
	addr, adminAddr := freeAddr(t), freeAddr(t)
	cfgFile := filepath.Join(dir, "gatehouse.yaml")
	writeCfg := func(extra string) {
		body := "issuer: http://" + addr + "\nlisten: " + addr + "\ndata_dir: " + filepath.Join(dir, "data") + "\n" +
			"admin:\n  listen: " + adminAddr + "\n  token_file: " + tokenFile + "\n" +
			"resources:\n  - uri: https://mcp.example.com/mcp\n    default: true\n" + extra
		os.WriteFile(cfgFile, []byte(body), 0o600)
	}
	cimdDev := "cimd:\n  allow_private_addresses: true\n  extra_ca_file: " + caFile + "\n"
	writeCfg(cimdDev)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	env := &cliEnv{stdout: io.Discard, stderr: io.Discard, configFile: cfgFile}
	cfg, _, problems := LoadConfig(cfgFile, nil, nil)
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	load := func() (Config, []Problem) { c, _, p := LoadConfig(cfgFile, nil, nil); return c, p }
	go func() { done <- serve(ctx, env, cfg, load) }()
	defer func() { cancel(); <-done }()
	base := "http://" + addr
	waitFor(t, "readiness", func() bool { s, _ := httpGet(base + "/readyz"); return s == 200 })
	waitFor(t, "the admin API", func() bool { c, err := net.Dial("tcp", adminAddr); return err == nil && c.Close() == nil })

	admin := func(args ...string) (int, string) {
		code, out, errOut := gh(t, "", append(args, "--config", cfgFile)...)
		return code, out + errOut
	}
	authorize := func() int {
		q := url.Values{"response_type": {"code"}, "client_id": {docURL}, "redirect_uri": {"http://127.0.0.1/callback"},
			"code_challenge": {strings.Repeat("a", 43)}, "code_challenge_method": {"S256"}}
		c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := c.Get(base + "/authorize?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	if code, out := admin("admin", "status"); code != 0 || !strings.Contains(out, `"cimd"`) {
		t.Fatalf("admin status = %d\n%s", code, out)
	}
	if s := authorize(); s != http.StatusFound || docFetches.Load() != 1 {
		t.Fatalf("CIMD client before the deny list = %d (%d fetches)", s, docFetches.Load())
	}
	// 1. Deny the host: refused at once, no restart.
	writeCfg(cimdDev + "  hosts:\n    deny: [\"127.0.0.1\"]\n")
	if code, out := admin("admin", "reload"); code != 0 || !strings.Contains(out, "applied") {
		t.Fatalf("reload = %d %s", code, out)
	}
	if s := authorize(); s != http.StatusBadRequest {
		t.Fatalf("denied host = %d, want the 400 page", s)
	}
	// 2. Allow it again, purge its cached document: the next use refetches.
	writeCfg(cimdDev)
	admin("admin", "reload")
	if code, out := admin("admin", "cache", "list"); code != 0 || !strings.Contains(out, docURL) {
		t.Fatalf("cache list = %d\n%s", code, out)
	}
	if code, out := admin("admin", "cache", "purge", docURL); code != 0 {
		t.Fatalf("purge = %d %s", code, out)
	}
	before := docFetches.Load()
	if s := authorize(); s != http.StatusFound || docFetches.Load() != before+1 {
		t.Fatalf("after purge = %d, fetches %d -> %d", s, before, docFetches.Load())
	}
	// 3. Close DCR.
	writeCfg(cimdDev + "dcr:\n  mode: closed\n")
	admin("admin", "reload")
	resp, err := http.Post(base+"/register", "application/json", strings.NewReader(`{"redirect_uris":["http://127.0.0.1/cb"]}`))
	if err != nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("register after closing = %v %v", resp.StatusCode, err)
	}
	// 4. Metrics: the cache hit ratio's inputs and the fetch outcomes.
	req, _ := http.NewRequest(http.MethodGet, "http://"+adminAddr+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+testAdminToken)
	mresp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(mresp.Body)
	mresp.Body.Close()
	for _, want := range []string{`gatehouse_cimd_cache_events_total{cache="document",event="miss"}`,
		`gatehouse_cimd_fetches_total{kind="document",outcome="ok"} 2`, `gatehouse_cimd_cache_entries{cache="document"} 1`} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	// 5. A broken configuration is refused whole, with every problem.
	writeCfg(cimdDev + "dcr:\n  mode: sometimes\n  unused_client_ttl: -1h\n")
	code, out := admin("admin", "reload")
	if code != 1 || !strings.Contains(out, "dcr.mode") || !strings.Contains(out, "dcr.unused_client_ttl") {
		t.Fatalf("bad reload = %d\n%s", code, out)
	}
	if r, _ := http.Post(base+"/register", "application/json", strings.NewReader(`{}`)); r.StatusCode != http.StatusForbidden {
		t.Fatal("a refused reload changed the DCR mode")
	}
	// 6. Users and keys while the server runs: through the admin API.
	writeCfg(cimdDev + "dcr:\n  mode: closed\n")
	code, out, _ = gh(t, "a long password\n", "user", "add", "alice", "--password-stdin", "--config", cfgFile)
	if code != 0 || !strings.Contains(out, "created user alice") {
		t.Fatalf("user add while running = %d %s", code, out)
	}
	if code, out := admin("admin", "users", "list"); code != 0 || !strings.Contains(out, "alice") {
		t.Fatalf("admin users list = %d %s", code, out)
	}
	if code, out := admin("admin", "keys", "rotate"); code != 0 || !strings.Contains(out, "is active") {
		t.Fatalf("keys rotate = %d %s", code, out)
	}
	_, jwks := httpGet(base + "/jwks.json")
	if strings.Count(jwks, `"kid"`) != 2 {
		t.Fatalf("after a live rotation the JWKS is %s", jwks)
	}
	if code, out := admin("admin", "clients", "list", "--kind", "cimd"); code != 0 {
		t.Fatalf("admin clients list = %d %s", code, out)
	}
	// Without the token: refused.
	bad := filepath.Join(dir, "bad.token")
	os.WriteFile(bad, []byte("wrong-token-wrong-token-wrong-token-x"), 0o600)
	if code, out, errOut := gh(t, "", "admin", "status", "--config", cfgFile, "--admin-token-file", bad); code != 1 || !strings.Contains(out+errOut, "401") {
		t.Fatalf("wrong token = %d %s%s", code, out, errOut)
	}
}
