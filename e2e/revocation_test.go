//go:build e2e

package e2e

import (
	"context"
	"crypto/rand"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// TestRevocationAtTheResource (issue 10 item 9): the demo MCP server in
// introspection mode (--introspect, with its own Gatehouse client that has
// allow_introspection) refuses a token the moment its grant is revoked. A
// real client (golang.org/x/oauth2) gets the token, uses it, and revokes
// its refresh token at /revoke (RFC 7009), which revokes the grant.
func TestRevocationAtTheResource(t *testing.T) {
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "demo-mcp.secret")
	const secret = "demo-mcp-introspection-secret-0123"
	if err := os.WriteFile(secretFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	st := startStackWith(t, "introspect", nil, stackOptions{
		extra: strictRefresh + "clients:\n  - client_id: demo-mcp\n    client_secret_file: " + secretFile +
			"\n    grant_types: [client_credentials]\n    allow_introspection: true\n",
		demoFlags: []string{"--introspect", "--introspection-client-id", "demo-mcp",
			"--introspection-secret-file", secretFile, "--introspection-cache", "0s"},
	})
	clientID := registerPublicClient(t, st, "Gatehouse e2e revocation")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cfg := &oauth2.Config{ClientID: clientID, RedirectURL: driverRedirect, Scopes: []string{mcpScope},
		Endpoint: oauth2.Endpoint{AuthURL: st.issuer + "/authorize", TokenURL: st.issuer + "/token", AuthStyle: oauth2.AuthStyleInParams}}
	verifier := oauth2.GenerateVerifier()
	driver := newFormDriver()
	defer driver.savePages(t)
	cb, err := driver.Run(ctx, cfg.AuthCodeURL(rand.Text(), oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("resource", st.mcpURL)), driverRedirect)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := cfg.Exchange(ctx, cb.Query().Get("code"), oauth2.VerifierOption(verifier), oauth2.SetAuthURLParam("resource", st.mcpURL))
	if err != nil {
		t.Fatal(err)
	}
	if status := mcpInitialize(t, st, tok.AccessToken); status != http.StatusOK {
		t.Fatalf("MCP initialize with a fresh token: %d", status)
	}
	resp, err := http.PostForm(st.issuer+"/revoke", url.Values{"token": {tok.RefreshToken}, "token_type_hint": {"refresh_token"}, "client_id": {clientID}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("revoke: %s", resp.Status)
	}
	// The access token has minutes left, but the demo server asks Gatehouse.
	if status := mcpInitialize(t, st, tok.AccessToken); status != http.StatusUnauthorized {
		t.Fatalf("MCP initialize after the grant was revoked: %d, want 401 at once", status)
	}
}
