package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/store/boltstore"
)

// TestOfflineApprovalCommands: with the server stopped, `gatehouse
// clients pending|approve|block` work on the store, and `clients list`
// shows each client's profile and approval state.
func TestOfflineApprovalCommands(t *testing.T) {
	dir := t.TempDir()
	seedClients(t, dir)
	const agent = "https://agent.example/client.json"
	st, err := boltstore.Open(dir, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, _, err := st.RequestClientApproval(ctx, store.ClientApproval{ClientID: agent, Kind: "cimd", ClientName: "Agent",
		Profile: "unknown-cimd", Fingerprint: "0123456789abcdef0123", RequestedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	cfg := writeFile(t, "c.yaml", `
client_profiles:
  - name: registered
    match: {registered: true}
    access_token_ttl: 5m
  - name: unknown-cimd
    match: {cimd: true}
    approval: admin
`)
	run := func(args ...string) (int, string, string) {
		return gh(t, "", append(args, "--data-dir", dir, "--config", cfg)...)
	}
	code, out, errOut := run("clients", "pending")
	if code != 0 || !strings.Contains(out, agent) || !strings.Contains(out, "agent.example") || !strings.Contains(out, "pending") ||
		!strings.Contains(out, "0123456789abcdef") {
		t.Fatalf("pending = %d\n%s%s", code, out, errOut)
	}
	code, out, _ = run("clients", "list")
	if code != 0 || !strings.Contains(out, "PROFILE") || !lineHas(out, agent, "unknown-cimd", "pending") || !lineHas(out, "dcr_used", "registered") ||
		!lineHas(out, "https://app.example.com/client.json", "unknown-cimd") {
		t.Fatalf("list = %d\n%s", code, out)
	}
	if code, _, errOut = run("clients", "approve", agent, "--fingerprint", "ffff"); code == 0 || !strings.Contains(errOut, "changed since") {
		t.Fatalf("approve with a stale fingerprint = %d %s", code, errOut)
	}
	if code, out, errOut = run("clients", "approve", agent, "--fingerprint", "0123456789ab"); code != 0 || !strings.Contains(out, "approved "+agent) {
		t.Fatalf("approve = %d %s %s", code, out, errOut)
	}
	if code, _, errOut = run("clients", "approve", "https://never-seen.example/c.json"); code == 0 || !strings.Contains(errOut, "no approval request") {
		t.Fatalf("approve of an unseen client = %d %s", code, errOut)
	}
	code, out, errOut = run("clients", "block", "https://app.example.com/client.json")
	if code != 0 || !strings.Contains(out, "1 grant(s)") {
		t.Fatalf("block = %d %s %s", code, out, errOut)
	}
	if !strings.Contains(errOut, `event=client_blocked`) {
		t.Errorf("no audit event for the block: %s", errOut)
	}
	code, out, _ = run("clients", "pending", "--all")
	if code != 0 || !lineHas(out, agent, "approved") || !lineHas(out, "https://app.example.com/client.json", "blocked") {
		t.Fatalf("pending --all = %d\n%s", code, out)
	}
	if code, out, _ = run("clients", "show", agent); code != 0 || !strings.Contains(out, `"profile": "unknown-cimd"`) || !strings.Contains(out, `"state": "approved"`) {
		t.Errorf("show does not give the profile and approval:\n%s", out)
	}
	if _, out, _ = run("clients", "pending"); strings.Contains(out, agent) {
		t.Errorf("an approved client is still listed as pending:\n%s", out)
	}
	st, err = boltstore.Open(dir, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Grant(ctx, "g1"); err == nil {
		t.Error("the blocked client's grant survives")
	}
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
