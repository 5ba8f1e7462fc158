package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/store/boltstore"
)

// seedClients puts one used and one unused registered client, and a CIMD
// client's grant, into a data dir.
func seedClients(t *testing.T, dir string) {
	t.Helper()
	st, err := boltstore.Open(dir, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	now := time.Now()
	for _, c := range []store.RegisteredClient{
		{ID: "dcr_used", Metadata: oauth.ClientMetadata{ClientName: "Used CLI"}, IssuedAt: now.Add(-48 * time.Hour),
			FirstTokenAt: now.Add(-47 * time.Hour), LastActiveAt: now.Add(-40 * 24 * time.Hour), ExpiresAt: now.Add(50 * 24 * time.Hour)},
		{ID: "dcr_fresh", Metadata: oauth.ClientMetadata{ClientName: "Fresh"}, IssuedAt: now, ExpiresAt: now.Add(time.Hour)},
		{ID: "dcr_stale", Metadata: oauth.ClientMetadata{ClientName: "Stale"}, IssuedAt: now.Add(-30 * time.Hour), ExpiresAt: now.Add(-6 * time.Hour)},
	} {
		if _, _, err := st.CreateClient(ctx, c, ""); err != nil {
			t.Fatal(err)
		}
	}
	for _, g := range []store.Grant{
		{ID: "g1", ClientID: "https://app.example.com/client.json", UserID: "u1", Resources: []string{"r"}, LastUsedAt: now, ExpiresAt: now.Add(time.Hour),
			AccessTokens: []store.IssuedToken{{JTI: "jti-1", ExpiresAt: now.Add(10 * time.Minute)}}},
		{ID: "g2", ClientID: "dcr_used", UserID: "u1", Resources: []string{"r"}, LastUsedAt: now, ExpiresAt: now.Add(time.Hour)},
	} {
		if err := st.CreateGrant(ctx, g); err != nil {
			t.Fatal(err)
		}
	}
}

func TestClientsCommands(t *testing.T) {
	dir := t.TempDir()
	seedClients(t, dir)
	cfg := writeFile(t, "c.yaml", "clients:\n  - client_id: dashboard\n    client_name: Dashboard\n    redirect_uris: [https://d.example/cb]\n")
	code, out, errOut := gh(t, "", "clients", "list", "--data-dir", dir, "--config", cfg)
	if code != 0 {
		t.Fatal(errOut)
	}
	for _, want := range []string{"https://app.example.com/client.json  cimd", "dcr_used", "dcr_fresh", "dashboard", "static"} {
		if !strings.Contains(out, want) {
			t.Errorf("list lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "dcr_stale") {
		t.Error("an expired client is listed as live")
	}
	_, out, _ = gh(t, "", "clients", "list", "--kind", "dcr", "--unused-since", "30d", "--data-dir", dir, "--config", cfg)
	if !strings.Contains(out, "dcr_used") || strings.Contains(out, "dcr_fresh") || strings.Contains(out, "cimd") {
		t.Errorf("--kind dcr --unused-since 30d:\n%s", out)
	}
	if code, _, errOut = gh(t, "", "clients", "list", "--kind", "bogus", "--data-dir", dir); code != 2 {
		t.Errorf("bad --kind = %d %s", code, errOut)
	}

	code, out, _ = gh(t, "", "clients", "show", "dcr_used", "--data-dir", dir)
	var shown map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &shown) != nil || shown["kind"] != "dcr" || len(shown["grants"].([]any)) != 1 {
		t.Fatalf("show = %d\n%s", code, out)
	}

	// Dry run names the expired client and removes nothing.
	code, out, _ = gh(t, "", "clients", "prune", "--dry-run", "--data-dir", dir)
	if code != 0 || !strings.Contains(out, "would remove dcr_stale") || strings.Contains(out, "dcr_used") {
		t.Fatalf("prune --dry-run:\n%s", out)
	}
	_, out, _ = gh(t, "", "clients", "prune", "--dry-run", "--unused-since", "30d", "--data-dir", dir)
	if !strings.Contains(out, "would remove dcr_used") || strings.Contains(out, "dcr_fresh") {
		t.Fatalf("prune --dry-run --unused-since 30d:\n%s", out)
	}
	if code, out, _ = gh(t, "", "clients", "prune", "--data-dir", dir); code != 0 || !strings.Contains(out, "removed dcr_stale") {
		t.Fatalf("prune:\n%s", out)
	}

	// Delete revokes: a registered client goes with its grants; a CIMD
	// client loses its grants; a static one is refused with advice.
	if code, out, _ = gh(t, "", "clients", "delete", "dcr_used", "--data-dir", dir); code != 0 || !strings.Contains(out, "revoked") {
		t.Fatalf("delete dcr = %d %s", code, out)
	}
	if code, out, _ = gh(t, "", "clients", "delete", "https://app.example.com/client.json", "--data-dir", dir); code != 0 || !strings.Contains(out, "revoked 1 grant") {
		t.Fatalf("delete cimd = %d %s", code, out)
	}
	if code, _, errOut = gh(t, "", "clients", "delete", "dashboard", "--data-dir", dir, "--config", cfg); code != 2 || !strings.Contains(errOut, "configured") {
		t.Fatalf("delete static = %d %s", code, errOut)
	}
	st, _ := boltstore.Open(dir, boltstore.Options{})
	defer st.Close()
	if revoked, _ := st.AccessTokenRevoked(context.Background(), "jti-1"); !revoked {
		t.Fatal("the CIMD client's access token survives clients delete")
	}
	if list, _ := st.ListClients(context.Background(), true); len(list) != 1 || list[0].ID != "dcr_fresh" {
		t.Fatalf("clients left: %+v", list)
	}
}

func TestDCRTokenCommands(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := gh(t, "", "dcr", "token", "create", "--uses", "3", "--expires", "2d", "--note", "ci", "--data-dir", dir)
	if code != 0 || !strings.HasPrefix(out, "ghi_") || !strings.Contains(errOut, "3 registration(s)") {
		t.Fatalf("create = %d %q %q", code, out, errOut)
	}
	_, list, _ := gh(t, "", "dcr", "token", "list", "--data-dir", dir)
	if !strings.Contains(list, "ci") || strings.Contains(list, strings.TrimSpace(out)) {
		t.Fatalf("list shows %q (the token itself must never be listed)", list)
	}
	if code, _, errOut = gh(t, "", "dcr", "token", "create", "--uses", "0", "--data-dir", dir); code != 2 {
		t.Fatalf("--uses 0 = %d %s", code, errOut)
	}
}

// TestRegistrationSurvivesKill9: a 201 means the registration is on disk.
func TestRegistrationSurvivesKill9(t *testing.T) {
	dir := t.TempDir()
	addr, cmd, _ := startBinary(t, buildBinary(t), "--data-dir", dir)
	resp, err := http.Post("http://"+addr+"/register", "application/json",
		strings.NewReader(`{"redirect_uris":["http://127.0.0.1/cb"],"token_endpoint_auth_method":"none","client_name":"crash test"}`))
	if err != nil {
		t.Fatal(err)
	}
	var info map[string]any
	json.NewDecoder(resp.Body).Decode(&info)
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("register = %d %v", resp.StatusCode, info)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	st, err := boltstore.Open(dir, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if c, err := st.Client(context.Background(), info["client_id"].(string)); err != nil || c.Metadata.ClientName != "crash test" {
		t.Fatalf("registration lost after kill -9: %+v %v", c, err)
	}
	if err := st.Check(); err != nil {
		t.Fatalf("database inconsistent after kill -9: %v", err)
	}
}
