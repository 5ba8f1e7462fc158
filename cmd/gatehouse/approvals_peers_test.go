package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/server"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/store/pgstore/pgtest"
)

// TestApprovalDecisionsReachARunningServer: on PostgreSQL a running
// instance keeps client approvals in memory for up to a second. A decision
// made elsewhere - another instance's announcement, or `gatehouse clients
// approve|block` run against the database while the server runs - reaches
// that memory through the announcement and listenForPeers. The server's
// clock stands still, so its copy never expires: only the announcement can
// change its answer.
func TestApprovalDecisionsReachARunningServer(t *testing.T) {
	pgURL := pgtest.NewDatabase(t)
	pgEnv := []string{"GATEHOUSE_STORE_BACKEND=postgres", "GATEHOUSE_STORE_POSTGRES_URL=" + pgURL}
	const secret = "a secret of more than sixteen characters"
	cfg := Defaults()
	cfg.Store.Backend, cfg.Store.Postgres.URL = "postgres", pgURL
	cfg.Resources = []ResourceConfig{{URI: "https://mcp.example.com/mcp", Default: true}}
	cfg.Clients = []ClientConfig{{ClientID: "svc", ClientSecret: secret, GrantTypes: []string{"client_credentials"}}}
	st, err := openStore(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	clients, err := clientResolver(cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	frozen := time.Now()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, err := server.New(ctx, serverConfig(cfg), server.Deps{Store: st, Clients: clients, Now: func() time.Time { return frozen }})
	if err != nil {
		t.Fatal(err)
	}
	listenForPeers(ctx, st, srv, nil, nil, slog.New(slog.DiscardHandler))
	// token answers "ok" when a token is issued, else the OAuth error.
	token := func() string {
		req := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(url.Values{"grant_type": {"client_credentials"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("svc", secret)
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, req)
		if rec.Code == http.StatusOK {
			return "ok"
		}
		var body struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(rec.Body.Bytes(), &body)
		return body.Error
	}
	// until polls the token endpoint until it answers want; announce, when
	// not nil, is repeated meanwhile (the listener may not be up yet).
	until := func(what, want string, announce func()) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			if announce != nil {
				announce()
			}
			got := token()
			if got == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: the running server answers %q, want %q", what, got, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if got := token(); got != "ok" {
		t.Fatalf("token before any decision: %s", got)
	}
	// A block written without an announcement: the server answers from
	// memory ("no record"), so the cache is in use.
	if _, _, err := st.DecideClientApproval(ctx, store.ClientDecision{ClientID: "svc", State: store.ApprovalBlocked, At: frozen}); err != nil {
		t.Fatal(err)
	}
	if got := token(); got != "ok" {
		t.Fatalf("token after an unannounced block: %s: the approval cache is not in use, this test proves nothing", got)
	}
	// Another instance's announcement drops the copy.
	b := st.(store.Broadcaster)
	until("another instance's announcement", "unauthorized_client", func() {
		_ = b.Announce(ctx, store.Event{Kind: store.EventApproval, Key: "svc", Origin: "another-instance"})
	})
	// The CLI's decisions, while the server runs, reach it the same way.
	if code, out, errOut := ghEnv(t, pgEnv, "", "clients", "approve", "svc"); code != 0 {
		t.Fatalf("clients approve = %d %s %s", code, out, errOut)
	}
	until("clients approve", "ok", nil)
	if code, out, errOut := ghEnv(t, pgEnv, "", "clients", "block", "svc"); code != 0 {
		t.Fatalf("clients block = %d %s %s", code, out, errOut)
	}
	until("clients block", "unauthorized_client", nil)
}
