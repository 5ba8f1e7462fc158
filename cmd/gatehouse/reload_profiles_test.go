package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestReloadProfiles: client profiles reload with SIGHUP; a list with
// conflicts is refused whole, every conflict named, and the running
// profiles keep deciding (a ceiling visible in the issued token).
func TestReloadProfiles(t *testing.T) {
	bin := buildBinary(t)
	addr := freeAddr(t)
	file := filepath.Join(t.TempDir(), "gatehouse.yaml")
	base := "listen: " + addr + "\nissuer: http://" + addr + "\ndata_dir: " + t.TempDir() + "\n" +
		"resources:\n  - uri: https://mcp.example.com/mcp\n    scopes: [read]\n    default: true\n" +
		"clients:\n  - client_id: robot\n    grant_types: [client_credentials]\n    client_secret: robot-secret-0123456789\n"
	write := func(profiles string) {
		if err := os.WriteFile(file, []byte(base+"client_profiles:\n"+profiles), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	robots := func(ttl string) string {
		return "  - name: robots\n    match: {client_ids: [robot]}\n    access_token_ttl: " + ttl + "\n"
	}
	write(robots("1m"))
	logs := &syncBuffer{}
	cmd := exec.Command(bin, "serve", "--config", file)
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	waitFor(t, "readiness", func() bool { s, _ := httpGet("http://" + addr + "/readyz"); return s == 200 })
	lifetime := func() float64 {
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/token", strings.NewReader(url.Values{"grant_type": {"client_credentials"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("robot", "robot-secret-0123456789")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		json.NewDecoder(resp.Body).Decode(&body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("token: %d %v", resp.StatusCode, body)
		}
		return body["expires_in"].(float64)
	}
	if got := lifetime(); got != 60 {
		t.Fatalf("expires_in %v under the first profiles, want 60", got)
	}

	write(robots("1m") + "  - name: all\n    match: {cimd: true}\n    consent: skip\n  - name: robots\n    match: {client_ids: [robot]}\n")
	cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "the refusal", func() bool { return strings.Contains(logs.String(), "event=config_reload_refused") })
	for _, key := range []string{"client_profiles[1].consent", "client_profiles[2].name", "client_profiles[2].match.client_ids[0]"} {
		if !strings.Contains(logs.String(), key) {
			t.Errorf("the refusal does not name %s:\n%s", key, logs.String())
		}
	}
	if got := lifetime(); got != 60 {
		t.Fatalf("a refused reload changed the profiles: expires_in %v", got)
	}

	write(robots("2m") + "  - name: first-party\n    match: {client_ids: [\"https://agent.corp.example/client.json\"]}\n    consent: skip\n")
	cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "the reload", func() bool { return strings.Contains(logs.String(), "event=config_reloaded") })
	if got := lifetime(); got != 120 {
		t.Fatalf("expires_in %v after the reload, want 120", got)
	}
	// Who gets codes without the user being asked is logged, loudly.
	if l := logs.String(); !strings.Contains(l, "level=WARN msg=\"client profile skips the consent page") || !strings.Contains(l, "agent.corp.example") {
		t.Errorf("the consent: skip profile was not logged at WARN:\n%s", l)
	}
}
