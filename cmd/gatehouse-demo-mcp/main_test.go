package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/resource"
	"github.com/gatehouse-dev/gatehouse/server"
	"github.com/gatehouse-dev/gatehouse/store/boltstore"
)

const clientSecret = "correct-horse-battery-staple"

// startGatehouse runs a real Gatehouse issuing tokens for resources to two
// client_credentials clients, svc and svc2, and knowing demo-rs, the demo's
// own client for introspection (allow_introspection).
func startGatehouse(t *testing.T, resources ...server.Resource) string {
	t.Helper()
	st, err := boltstore.Open(t.TempDir(), boltstore.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sum := sha256.Sum256([]byte(clientSecret))
	var clients []*oauth.Client
	for _, id := range []string{"svc", "svc2", "demo-rs"} {
		clients = append(clients, &oauth.Client{ID: id, SecretHash: sum[:], MayIntrospect: id == "demo-rs", Metadata: oauth.ClientMetadata{
			TokenEndpointAuthMethod: oauth.AuthMethodClientSecretBasic, GrantTypes: []string{oauth.GrantClientCredentials}}})
	}
	static, err := server.NewStaticClients(clients)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewUnstartedServer(nil)
	issuer := "http://" + hs.Listener.Addr().String()
	srv, err := server.New(context.Background(), server.Config{
		Issuer: issuer, AccessTokenTTL: 10 * time.Minute, RefreshIdleTTL: time.Hour, RefreshMaxTTL: 24 * time.Hour,
		SessionTTL: time.Hour, BodyLimit: 64 << 10, Resources: resources,
		Login: server.LoginLimits{MaxFailuresAccount: 5, MaxFailuresIP: 20, Window: time.Minute},
	}, server.Deps{Store: st, Clients: &server.ClientChain{Static: static}})
	if err != nil {
		t.Fatal(err)
	}
	hs.Config.Handler = srv.Handler()
	hs.Start()
	t.Cleanup(hs.Close)
	return issuer
}

func token(t *testing.T, issuer, client, res string, scopes ...string) string {
	t.Helper()
	cc := clientcredentials.Config{ClientID: client, ClientSecret: clientSecret, TokenURL: issuer + "/token",
		Scopes: scopes, EndpointParams: url.Values{"resource": {res}}}
	tok, err := cc.Token(context.Background())
	if err != nil {
		t.Fatalf("token for %s: %v", client, err)
	}
	return tok.AccessToken
}

// bearer adds an access token to every request, as an MCP client holding
// one does.
type bearer struct {
	token string
	base  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.base.RoundTrip(r)
}

// syncBuffer collects the demo's log lines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// demo runs the demo server in-process against Gatehouse on a fresh port.
type demo struct {
	endpoint string
	issuer   string
	logs     *syncBuffer
	stop     context.CancelFunc
	done     chan error
}

func startDemo(t *testing.T, extraFlags ...string) *demo {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d := &demo{endpoint: "http://" + ln.Addr().String() + "/mcp", logs: &syncBuffer{}, done: make(chan error, 1)}
	d.issuer = startGatehouse(t,
		server.Resource{URI: d.endpoint, Scopes: []string{"mcp:tools", "mcp:admin", "mcp:write"}},
		server.Resource{URI: "http://127.0.0.1:9/other", Scopes: []string{"mcp:tools"}})
	cfg, err := parseFlags(append([]string{"--issuer", d.issuer, "--resource", d.endpoint, "--log-level", "debug"}, extraFlags...), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	a, err := newApp(cfg, slog.New(slog.NewTextHandler(d.logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	d.stop = cancel
	go func() { d.done <- a.serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-d.done:
		case <-time.After(30 * time.Second):
			t.Error("the demo did not stop")
		}
	})
	return d
}

// connect opens an MCP session with the MCP Go SDK client.
func (d *demo) connect(t *testing.T, accessToken string) (*mcp.ClientSession, error) {
	t.Helper()
	client := mcp.NewClient(&mcp.Implementation{Name: "demo-test", Version: "1.0.0"}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return client.Connect(ctx, &mcp.StreamableClientTransport{
		Endpoint:   d.endpoint,
		HTTPClient: &http.Client{Transport: bearer{accessToken, http.DefaultTransport}},
		MaxRetries: -1,
	}, nil)
}

func TestDemoAuthenticatedToolCalls(t *testing.T) {
	d := startDemo(t)
	cs, err := d.connect(t, token(t, d.issuer, "svc", d.endpoint, "mcp:tools"))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer cs.Close()
	ctx := context.Background()

	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "whoami"})
	if err != nil || res.IsError {
		t.Fatalf("whoami: %v %+v", err, res)
	}
	var who whoamiOutput
	raw, _ := json.Marshal(res.StructuredContent)
	if err := json.Unmarshal(raw, &who); err != nil {
		t.Fatal(err)
	}
	if who.Subject != "svc" || who.ClientID != "svc" || !slices.Equal(who.Scopes, []string{"mcp:tools"}) ||
		!slices.Equal(who.Audience, []string{d.endpoint}) {
		t.Errorf("whoami = %+v", who)
	}
	if exp, err := time.Parse(time.RFC3339, who.ExpiresAt); err != nil || time.Until(exp) < 9*time.Minute {
		t.Errorf("exp %q", who.ExpiresAt)
	}

	res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "add", Arguments: map[string]any{"a": 2, "b": 3.5}})
	if err != nil || res.IsError {
		t.Fatalf("add: %v %+v", err, res)
	}
	if sc, _ := res.StructuredContent.(map[string]any); sc["sum"] != 5.5 {
		t.Errorf("add = %+v", res.StructuredContent)
	}

	// The session belongs to svc: svc2's valid token cannot use it.
	req, _ := http.NewRequest(http.MethodPost, d.endpoint, strings.NewReader(`{"jsonrpc":"2.0","id":9,"method":"tools/list"}`))
	req.Header.Set("Authorization", "Bearer "+token(t, d.issuer, "svc2", d.endpoint, "mcp:tools"))
	req.Header.Set("Mcp-Session-Id", cs.ID())
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("another client's token on svc's session: %d, want 403", resp.StatusCode)
	}
	if !strings.Contains(d.logs.String(), "request_id=") {
		t.Error("no request log lines")
	}
}

// post sends a JSON-RPC initialize with an optional token and returns the
// response and its parsed Bearer challenge.
func post(t *testing.T, endpoint, accessToken string) (*http.Response, map[string]string) {
	t.Helper()
	body := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"curl","version":"1"}}}`
	req, _ := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if accessToken != "" {
		req.Header.Set("Authorization", "Bearer "+accessToken)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	chs, err := oauthex.ParseWWWAuthenticate(resp.Header.Values("WWW-Authenticate"))
	if err != nil {
		t.Fatal(err)
	}
	if len(chs) == 0 {
		return resp, nil
	}
	return resp, chs[0].Params
}

func TestDemoRefusals(t *testing.T) {
	d := startDemo(t)
	metadataURL := strings.Replace(d.endpoint, "/mcp", "/.well-known/oauth-protected-resource/mcp", 1)

	resp, params := post(t, d.endpoint, "")
	if resp.StatusCode != 401 || params["resource_metadata"] != metadataURL || params["scope"] != "mcp:tools" || params["error"] != "" {
		t.Fatalf("no token: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	if _, err := d.connect(t, ""); err == nil {
		t.Error("the MCP Go SDK client connected without a token")
	}
	resp, params = post(t, d.endpoint, token(t, d.issuer, "svc", d.endpoint, "mcp:admin"))
	if resp.StatusCode != 403 || params["error"] != "insufficient_scope" || params["scope"] != "mcp:tools" {
		t.Errorf("insufficient scope: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	resp, params = post(t, d.endpoint, token(t, d.issuer, "svc", "http://127.0.0.1:9/other", "mcp:tools"))
	if resp.StatusCode != 401 || params["error"] != "invalid_token" {
		t.Errorf("token for another resource: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}

	// The metadata the challenge points to leads to Gatehouse, at both
	// well-known paths, and the SDK's own fetcher accepts it.
	prm, err := oauthex.GetProtectedResourceMetadata(context.Background(), metadataURL, d.endpoint, http.DefaultClient)
	if err != nil || !slices.Equal(prm.AuthorizationServers, []string{d.issuer}) || !slices.Equal(prm.ScopesSupported, []string{"mcp:tools", "mcp:write"}) {
		t.Fatalf("metadata: %v %+v", err, prm)
	}
	root := strings.Replace(d.endpoint, "/mcp", "/.well-known/oauth-protected-resource", 1)
	if resp, err := http.Get(root); err != nil || resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("root metadata: %v %v", err, resp)
	}

	// A CORS preflight is answered without a token.
	req, _ := http.NewRequest(http.MethodOptions, d.endpoint, nil)
	req.Header.Set("Origin", "https://app.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "authorization, mcp-protocol-version")
	resp, err = http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 204 || !strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Errorf("preflight: %v %v", err, resp)
	}
}

// SIGINT/SIGTERM (here: the context) stops the server gracefully even with
// an open event stream, without waiting out the grace period.
func TestDemoGracefulShutdown(t *testing.T) {
	d := startDemo(t)
	tok := token(t, d.issuer, "svc", d.endpoint, "mcp:tools")
	send := func(method, body, session string) *http.Response {
		req, _ := http.NewRequest(method, d.endpoint, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("Mcp-Protocol-Version", "2025-06-18")
		if session != "" {
			req.Header.Set("Mcp-Session-Id", session)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	// A session by hand, so that its event stream is known to be open.
	resp := send(http.MethodPost, `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`, "")
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	session := resp.Header.Get("Mcp-Session-Id")
	if resp.StatusCode != 200 || session == "" {
		t.Fatalf("initialize: %d, session %q", resp.StatusCode, session)
	}
	send(http.MethodPost, `{"jsonrpc":"2.0","method":"notifications/initialized"}`, session).Body.Close()
	stream := send(http.MethodGet, "", session)
	defer stream.Body.Close()
	if stream.StatusCode != 200 || !strings.HasPrefix(stream.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("event stream: %d %v", stream.StatusCode, stream.Header)
	}

	d.stop()
	select {
	case err := <-d.done:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
		d.done <- nil // for the cleanup
	case <-time.After(shutdownGrace + time.Minute): // a shutdown that waited shows in the log below
		t.Fatalf("shutdown waited on the event stream; logs:\n%s", d.logs.String())
	}
	if _, err := io.Copy(io.Discard, stream.Body); err != nil {
		t.Logf("stream ended with %v", err)
	}
	logs := d.logs.String()
	if !strings.Contains(logs, "msg=stopped") || strings.Contains(logs, "closing connections") ||
		!strings.Contains(logs, "method=GET path=/mcp status=200") {
		t.Errorf("logs:\n%s", logs)
	}
	if _, err := http.Get(d.endpoint); err == nil {
		t.Error("still accepting connections")
	}
}

func TestFlags(t *testing.T) {
	cfg, err := parseFlags(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "127.0.0.1:9000" || cfg.Issuer != "http://localhost:8080" || cfg.Resource != "http://127.0.0.1:9000/mcp" ||
		!slices.Equal(cfg.Scopes, []string{"mcp:tools"}) || cfg.WriteScope != "mcp:write" || cfg.LogLevel != slog.LevelInfo {
		t.Errorf("defaults %+v", cfg)
	}
	if cfg, _ := parseFlags([]string{"--scope", " a  b ", "--log-level", "warn"}, io.Discard); !slices.Equal(cfg.Scopes, []string{"a", "b"}) || cfg.LogLevel != slog.LevelWarn {
		t.Errorf("--scope: %+v", cfg)
	}
	if cfg, _ := parseFlags([]string{"--scope", ""}, io.Discard); len(cfg.Scopes) != 0 {
		t.Errorf("--scope '': %v", cfg.Scopes)
	}
	if _, err := parseFlags([]string{"--write-scope", "a b"}, io.Discard); err == nil {
		t.Error("--write-scope with two scopes accepted")
	}
	if cfg, _ := parseFlags([]string{"--write-scope", ""}, io.Discard); len(cfg.toolScopes()) != 0 || !slices.Equal(cfg.scopesSupported(), []string{"mcp:tools"}) {
		t.Errorf("--write-scope '': %+v", cfg)
	}
	if _, err := parseFlags([]string{"extra"}, io.Discard); err == nil {
		t.Error("extra arguments accepted")
	}
	if _, err := parseFlags([]string{"-h"}, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v", err)
	}
	cfg, err = parseFlags([]string{"--leeway", "2m", "--introspect", "--introspection-client-id", "rs",
		"--introspection-secret-file", secretFile(t, " s3cret\n"), "--introspection-cache", "0s"}, io.Discard)
	rc := verifierConfig(cfg, slog.New(slog.DiscardHandler))
	if err != nil || rc.Leeway != 2*time.Minute || rc.Introspection == nil || rc.Introspection.ClientID != "rs" ||
		rc.Introspection.ClientSecret != "s3cret" || rc.Introspection.CacheTTL >= 0 {
		t.Errorf("--leeway and --introspect*: %v %+v %+v", err, cfg, rc.Introspection)
	}
	if cfg, _ := parseFlags([]string{"--leeway", "0s"}, io.Discard); verifierConfig(cfg, nil).Leeway != resource.NoLeeway {
		t.Error("--leeway 0s does not mean no leeway")
	}
	if cfg, _ := parseFlags(nil, io.Discard); verifierConfig(cfg, nil).Introspection != nil {
		t.Error("introspection is on by default")
	}
	for _, args := range [][]string{
		{"--introspect"},
		{"--introspect", "--introspection-client-id", "rs"},
		{"--introspect", "--introspection-client-id", "rs", "--introspection-secret-file", "/nonexistent/secret"},
		{"--introspect", "--introspection-client-id", "rs", "--introspection-secret-file", secretFile(t, "\n")},
	} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
	// A bad --resource fails before anything listens.
	err = run(context.Background(), []string{"--resource", "http://mcp.example.com/mcp", "--listen", "256.0.0.1:1"}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Errorf("bad --resource: %v", err)
	}
}

func secretFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// revoke revokes an access token as its client does (RFC 7009).
func revoke(t *testing.T, issuer, client, accessToken string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, issuer+"/revoke", strings.NewReader(url.Values{"token": {accessToken}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(client, clientSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("revoke: %v %v", err, resp)
	}
	resp.Body.Close()
}

// Issue 10 item 9: with --introspect, a revoked token stops working at the
// demo server on the next request; without it, it works until it expires.
func TestDemoIntrospection(t *testing.T) {
	for _, introspect := range []bool{false, true} {
		t.Run(fmt.Sprintf("introspect=%v", introspect), func(t *testing.T) {
			var flags []string
			if introspect {
				flags = []string{"--introspect", "--introspection-client-id", "demo-rs",
					"--introspection-secret-file", secretFile(t, clientSecret), "--introspection-cache", "0s"}
			}
			d := startDemo(t, flags...)
			tok := token(t, d.issuer, "svc", d.endpoint, "mcp:tools")
			if resp, _ := post(t, d.endpoint, tok); resp.StatusCode != http.StatusOK {
				t.Fatalf("valid token: %d", resp.StatusCode)
			}
			revoke(t, d.issuer, "svc", tok)
			resp, params := post(t, d.endpoint, tok)
			switch {
			case introspect && (resp.StatusCode != http.StatusUnauthorized || params["error"] != "invalid_token"):
				t.Fatalf("revoked token with --introspect: %d %q, want 401 invalid_token", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
			case !introspect && resp.StatusCode != http.StatusOK:
				t.Fatalf("revoked token offline: %d, want 200 (offline verification cannot see revocation)", resp.StatusCode)
			}
		})
	}
}

// TestDemoStepUp: write_note needs mcp:write on top of mcp:tools. A token
// with mcp:tools calls the other tools; calling write_note gets the 403
// step-up challenge, built by the resource package, naming both scopes;
// a token with both saves the note.
func TestDemoStepUp(t *testing.T) {
	d := startDemo(t)
	call := func(tok string) (*http.Response, map[string]string) {
		body := `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"write_note","arguments":{"text":"hello"}}}`
		req, _ := http.NewRequest(http.MethodPost, d.endpoint, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		chs, _ := oauthex.ParseWWWAuthenticate(resp.Header.Values("WWW-Authenticate"))
		if len(chs) == 0 {
			return resp, nil
		}
		return resp, chs[0].Params
	}
	basic := token(t, d.issuer, "svc", d.endpoint, "mcp:tools")
	resp, params := call(basic)
	metadataURL := strings.Replace(d.endpoint, "/mcp", "/.well-known/oauth-protected-resource/mcp", 1)
	if resp.StatusCode != 403 || params["error"] != "insufficient_scope" || params["scope"] != "mcp:tools mcp:write" ||
		params["resource_metadata"] != metadataURL {
		t.Fatalf("write_note with mcp:tools only: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	// The same token still serves the tools that need nothing more.
	cs, err := d.connect(t, basic)
	if err != nil {
		t.Fatal(err)
	}
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "add", Arguments: map[string]any{"a": 1, "b": 1}})
	if err != nil || res.IsError {
		t.Fatalf("add with mcp:tools: %v %+v", err, res)
	}
	cs.Close()
	// A stepped-up token calls write_note through the SDK client.
	cs, err = d.connect(t, token(t, d.issuer, "svc", d.endpoint, "mcp:tools", "mcp:write"))
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	for want := 1.0; want <= 2; want++ {
		res, err = cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "write_note", Arguments: map[string]any{"text": "hello"}})
		if err != nil || res.IsError {
			t.Fatalf("write_note with mcp:write: %v %+v", err, res)
		}
		if sc, _ := res.StructuredContent.(map[string]any); sc["saved"] != want {
			t.Fatalf("write_note = %+v, want saved %v", res.StructuredContent, want)
		}
	}
}

// TestWriteNoteChecksItsScope: the tool refuses a token without the scope
// even when a request reaches it past the middleware, and bounds notes.
func TestWriteNoteChecksItsScope(t *testing.T) {
	n := &notes{scope: "mcp:write", bySubject: map[string][]string{}}
	with := func(scopes ...string) *mcp.CallToolRequest {
		c := &resource.Claims{Subject: "usr_1", Scopes: scopes}
		return &mcp.CallToolRequest{Extra: &mcp.RequestExtra{TokenInfo: &auth.TokenInfo{Extra: map[string]any{claimsKey: c}}}}
	}
	tests := []struct {
		name string
		req  *mcp.CallToolRequest
		text string
		ok   bool
	}{
		{"no token information", &mcp.CallToolRequest{}, "x", false},
		{"without the scope", with("mcp:tools"), "x", false},
		{"empty note", with("mcp:tools", "mcp:write"), "", false},
		{"note too long", with("mcp:tools", "mcp:write"), strings.Repeat("é", maxNoteLen+1), false},
		{"with the scope", with("mcp:tools", "mcp:write"), strings.Repeat("é", maxNoteLen), true},
	}
	for _, tt := range tests {
		_, _, err := n.write(context.Background(), tt.req, writeNoteInput{Text: tt.text})
		if (err == nil) != tt.ok {
			t.Errorf("%s: err = %v, want ok %v", tt.name, err, tt.ok)
		}
	}
	for range 2 * maxNotes {
		n.write(context.Background(), with("mcp:write"), writeNoteInput{Text: "x"})
	}
	if got := len(n.bySubject["usr_1"]); got != maxNotes {
		t.Errorf("%d notes kept, want %d", got, maxNotes)
	}
}
