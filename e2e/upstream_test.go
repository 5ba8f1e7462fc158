//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"golang.org/x/oauth2"
)

// TestUpstreamOIDC signs a user in through a real upstream OpenID Connect
// provider (node-oidc-provider) in headless Chromium: Gatehouse has one
// login provider and no password form, so /login goes straight to it; the
// user signs in there, comes back, approves the MCP client on Gatehouse's
// own consent page, and an MCP Go SDK client then calls the demo MCP
// server with the token, which carries the user's email (resources[].claims).
func TestUpstreamOIDC(t *testing.T) {
	idpPort := freePort(t)
	idp := fmt.Sprintf("http://127.0.0.1:%d", idpPort)
	const secret = "e2e-upstream-client-secret-0123456789"
	login := fmt.Sprintf("login:\n  password:\n    enabled: false\n  providers:\n    - id: corp\n      name: Corp SSO\n      type: oidc\n"+
		"      issuer: %s\n      client_id: gatehouse\n      client_secret: %s\n      allowed_email_domains: [example.com]\n", idp, secret)
	// The IdP must know Gatehouse's callback, so it starts once the
	// stack has chosen Gatehouse's port.
	st := startStackWith(t, "upstream", nil, stackOptions{extra: strictRefresh + login, resourceClaims: "[email]", noPasswordUser: true,
		beforeStart: func(issuer string) {
			p := startProc(t, "upstream-idp", []string{"IDP_PORT=" + fmt.Sprint(idpPort), "CLIENT_ID=gatehouse", "CLIENT_SECRET=" + secret,
				"CALLBACK=" + issuer + "/login/corp/callback"}, nil, "node", filepath.Join(nodeDir, "upstream-idp.mjs"))
			waitHTTP(t, p, idp+"/.well-known/openid-configuration")
		}})
	clientID := registerPublicClient(t, st, "Gatehouse e2e upstream")
	app := startCallbackApp(t)
	cfg := &oauth2.Config{
		ClientID:    clientID,
		Endpoint:    oauth2.Endpoint{AuthURL: st.issuer + "/authorize", TokenURL: st.issuer + "/token", AuthStyle: oauth2.AuthStyleInParams},
		RedirectURL: app.redirectURI,
		Scopes:      []string{mcpScope},
	}
	verifier, state := oauth2.GenerateVerifier(), rand.Text()
	authURL := cfg.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("resource", st.mcpURL))
	var r struct {
		OK       bool     `json:"ok"`
		Error    string   `json:"error"`
		Steps    []string `json:"steps"`
		IDPPages []string `json:"idp_pages"`
		Consent  struct {
			Heading string `json:"heading"`
			Text    string `json:"text"`
		} `json:"consent"`
		FinalURL string `json:"final_url"`
	}
	runNode(t, "browser-upstream.mjs", []string{"AUTH_URL=" + authURL, "REDIRECT_URL=" + app.redirectURI, "IDP_ORIGIN=" + idp,
		"UPSTREAM_LOGIN=erin", "SCREENSHOT_PREFIX=" + filepath.Join(artifactsDir, artifactName(t))}, &r)
	if !r.OK {
		t.Fatalf("browser: %s\nnavigations: %v", r.Error, r.Steps)
	}
	t.Logf("navigations: %v", r.Steps)
	if len(r.IDPPages) == 0 {
		t.Fatalf("the browser never reached the upstream provider: %v", r.Steps)
	}
	// Signing in upstream approved nothing: Gatehouse asked its own consent.
	if r.Consent.Heading != "Authorize access" || !strings.Contains(r.Consent.Text, "Gatehouse e2e upstream") {
		t.Errorf("Gatehouse's consent page: %q %q", r.Consent.Heading, r.Consent.Text)
	}
	final, err := url.Parse(r.FinalURL)
	if err != nil || final.Query().Get("state") != state || final.Query().Get("code") == "" {
		t.Fatalf("final URL %q", r.FinalURL)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tok, err := cfg.Exchange(ctx, final.Query().Get("code"), oauth2.VerifierOption(verifier), oauth2.SetAuthURLParam("resource", st.mcpURL))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	// The MCP Go SDK calls whoami with the token.
	hc := oauth2.NewClient(ctx, oauth2.StaticTokenSource(tok))
	session, err := mcp.NewClient(&mcp.Implementation{Name: "e2e-upstream", Version: "1"}, nil).
		Connect(ctx, &mcp.StreamableClientTransport{Endpoint: st.mcpURL, HTTPClient: hc}, nil)
	if err != nil {
		t.Fatalf("MCP connect: %v", err)
	}
	defer session.Close()
	res, err := session.CallTool(ctx, &mcp.CallToolParams{Name: "whoami", Arguments: map[string]any{}})
	if err != nil || res.IsError {
		t.Fatalf("whoami: %v %+v", err, res)
	}
	var w struct {
		Sub   string `json:"sub"`
		Email string `json:"email"`
	}
	b, _ := json.Marshal(res.StructuredContent)
	_ = json.Unmarshal(b, &w)
	if !strings.HasPrefix(w.Sub, "usr_") || w.Email != "erin@example.com" {
		t.Fatalf("whoami = %s; want a usr_ subject and email erin@example.com from the upstream", b)
	}
}

// TestOpenIDClient runs openid-client, a certified OpenID Connect relying
// party library, against Gatehouse as the OpenID Provider: it validates
// the ID token (signature, iss, aud, nonce, exp) itself and reads UserInfo.
func TestOpenIDClient(t *testing.T) {
	st := startStack(t, "oidc-rp", nil)
	clientID := registerOIDCClient(t, st, "Gatehouse e2e openid-client")
	var r struct {
		OK            bool           `json:"ok"`
		Error         string         `json:"error"`
		Steps         []string       `json:"steps"`
		IDTokenClaims map[string]any `json:"id_token_claims"`
		UserInfo      map[string]any `json:"userinfo"`
	}
	runNode(t, "oidc-rp.mjs", []string{"ISSUER=" + st.issuer, "CLIENT_ID=" + clientID, "MCP_URL=" + st.mcpURL,
		"LOGIN_USER=" + testUser, "LOGIN_PASSWORD=" + testPassword}, &r)
	if !r.OK {
		t.Fatalf("openid-client: %s\nsteps: %v", r.Error, r.Steps)
	}
	c := r.IDTokenClaims
	if c["aud"] != clientID || c["iss"] != st.issuer || c["preferred_username"] != testUser || c["auth_time"] == nil {
		t.Errorf("ID token claims: %v", c)
	}
	if r.UserInfo["sub"] != c["sub"] || r.UserInfo["preferred_username"] != testUser {
		t.Errorf("userinfo: %v", r.UserInfo)
	}

	// max_age: 0 (OIDC Core §3.1.2.1: a fresh sign-in, like prompt=login).
	// The sign-in it forces satisfies it: one sign-in page, then consent
	// and the code; openid-client checks auth_time against max_age itself.
	// Gatehouse used to send the browser back to the sign-in page after
	// every sign-in, because the returning request asked for max_age=0 again.
	r.OK, r.Error, r.Steps = false, "", nil
	runNode(t, "oidc-rp.mjs", []string{"ISSUER=" + st.issuer, "CLIENT_ID=" + clientID, "MCP_URL=" + st.mcpURL,
		"LOGIN_USER=" + testUser, "LOGIN_PASSWORD=" + testPassword, "MAX_AGE=0"}, &r)
	if !r.OK {
		t.Fatalf("openid-client with max_age 0: %s\nsteps: %v", r.Error, r.Steps)
	}
	signIns := 0
	for _, s := range r.Steps {
		if strings.HasPrefix(s, "POST /login ") {
			signIns++
		}
	}
	if signIns != 1 {
		t.Errorf("max_age 0: %d sign-ins; want exactly one: %v", signIns, r.Steps)
	}
}

// registerOIDCClient registers a public loopback client that asks for the
// OpenID Connect scopes as well as the MCP scope, as Cline and mcp-remote
// do, and returns its client_id.
func registerOIDCClient(t *testing.T, st *stack, name string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]any{
		"client_name": name, "redirect_uris": []string{driverRedirect}, "grant_types": []string{"authorization_code", "refresh_token"},
		"response_types": []string{"code"}, "token_endpoint_auth_method": "none", "application_type": "native",
		"scope": "openid email profile " + mcpScope,
	})
	resp, err := http.Post(st.issuer+"/register", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&got)
	id, _ := got["client_id"].(string)
	if resp.StatusCode != http.StatusCreated || id == "" {
		t.Fatalf("register: %s %v", resp.Status, got)
	}
	return id
}

// testOpenIDClientPrivateKeyJWT: openid-client as a CIMD client whose
// document declares private_key_jwt with an inline jwks. The library signs
// every client assertion itself, with the issuer as its only aud, which is
// all Gatehouse accepts from a self-registered or CIMD client (the
// token endpoint URL is refused: audience injection, rfc7523bis). The code
// exchange and UserInfo must work; a flow without a client assertion gets
// nowhere.
func testOpenIDClientPrivateKeyJWT(t *testing.T, st *stack, docs *docHost) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub := jose.JSONWebKey{Key: &key.PublicKey, KeyID: "rp-1", Algorithm: "ES256", Use: "sig"}
	priv, err := json.Marshal(jose.JSONWebKey{Key: key, KeyID: "rp-1", Algorithm: "ES256", Use: "sig"})
	if err != nil {
		t.Fatal(err)
	}
	clientID := docs.addClientDoc(t, docs.origin, "openid-client-pkjwt", map[string]any{
		"redirect_uris": []string{driverRedirect}, "token_endpoint_auth_method": "private_key_jwt",
		"token_endpoint_auth_signing_alg": "ES256", "jwks": jose.JSONWebKeySet{Keys: []jose.JSONWebKey{pub}},
		"scope": "openid email profile " + mcpScope,
	})
	var r struct {
		OK            bool           `json:"ok"`
		Error         string         `json:"error"`
		ErrorCode     string         `json:"error_code"`
		Steps         []string       `json:"steps"`
		ClientAuth    string         `json:"client_auth"`
		IDTokenClaims map[string]any `json:"id_token_claims"`
		UserInfo      map[string]any `json:"userinfo"`
	}
	env := []string{"ISSUER=" + st.issuer, "CLIENT_ID=" + clientID, "MCP_URL=" + st.mcpURL,
		"LOGIN_USER=" + testUser, "LOGIN_PASSWORD=" + testPassword}
	runNode(t, "oidc-rp.mjs", append(env, "PRIVATE_JWK="+string(priv)), &r)
	if !r.OK || r.ClientAuth != "private_key_jwt" {
		t.Fatalf("openid-client with private_key_jwt (%q): %s\nsteps: %v", r.ClientAuth, r.Error, r.Steps)
	}
	if r.IDTokenClaims["aud"] != clientID || r.UserInfo["sub"] != r.IDTokenClaims["sub"] {
		t.Errorf("ID token claims %v, userinfo %v", r.IDTokenClaims, r.UserInfo)
	}
	// The same client without its key: the code exchange is refused.
	r.OK, r.Error = false, ""
	runNode(t, "oidc-rp.mjs", env, &r)
	if r.OK || r.ErrorCode != "invalid_client" {
		t.Fatalf("a private_key_jwt client exchanging with no assertion: ok=%v %q %s", r.OK, r.ErrorCode, r.Error)
	}
}
