//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// testDiscovery checks the metadata every client here depends on.
func testDiscovery(t *testing.T, st *stack) {
	m := st.metadata(t)
	if m.Issuer != st.issuer {
		t.Errorf("issuer = %q, want %q", m.Issuer, st.issuer)
	}
	// RFC 9207: advertised, and (checked in every client test) always sent.
	if m.IssParameterSupported == nil || !*m.IssParameterSupported {
		t.Errorf("authorization_response_iss_parameter_supported is not true")
	}
	if !slices.Equal(m.CodeChallengeMethods, []string{"S256"}) {
		t.Errorf("code_challenge_methods_supported = %v, want [S256]", m.CodeChallengeMethods)
	}
	if !slices.Contains(m.TokenEndpointAuthMethods, "none") || !slices.Contains(m.ResponseTypesSupported, "code") {
		t.Errorf("token_endpoint_auth_methods_supported %v, response_types_supported %v", m.TokenEndpointAuthMethods, m.ResponseTypesSupported)
	}
	if m.RegistrationEndpoint != st.issuer+"/register" {
		t.Errorf("registration_endpoint = %q", m.RegistrationEndpoint)
	}
	cimd := m.CIMDSupported != nil && *m.CIMDSupported
	if cimd != st.cimd {
		t.Errorf("client_id_metadata_document_supported = %v, want %v", cimd, st.cimd)
	}
}

// registerPublicClient registers a public loopback client the way a native
// MCP client does, with application_type (which TS SDK v2 and the Go SDK
// send), and returns its client_id.
func registerPublicClient(t *testing.T, st *stack, name string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]any{
		"client_name":                name,
		"redirect_uris":              []string{driverRedirect},
		"grant_types":                []string{"authorization_code", "refresh_token"},
		"response_types":             []string{"code"},
		"token_endpoint_auth_method": "none",
		"application_type":           "native",
		"scope":                      mcpScope,
	})
	resp, err := http.Post(st.issuer+"/register", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&got)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("register: %s %v", resp.Status, got)
	}
	id, _ := got["client_id"].(string)
	if id == "" || !slices.Equal(toStrings(got["redirect_uris"]), []string{driverRedirect}) {
		t.Fatalf("registration response: %v", got)
	}
	return id
}

func toStrings(v any) []string {
	l, _ := v.([]any)
	var out []string
	for _, s := range l {
		str, _ := s.(string)
		out = append(out, str)
	}
	return out
}

// testXOAuth2Probe drives golang.org/x/oauth2 with AuthStyleAutoDetect,
// the style the Go SDK uses for CIMD clients, for a public client: x/oauth2
// first sends client_id with an empty password in HTTP Basic (and, on any
// error, would retry with client_id in the body). An empty secret names a
// public client and proves nothing more, so Gatehouse accepts the first
// request: one exchange, one refresh.
func testXOAuth2Probe(t *testing.T, st *stack, clientID string) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rec := &recorder{name: "oauth"}
	defer rec.save(t)
	cfg := &oauth2.Config{
		ClientID:    clientID,
		Endpoint:    oauth2.Endpoint{AuthURL: st.issuer + "/authorize", TokenURL: st.issuer + "/token", AuthStyle: oauth2.AuthStyleAutoDetect},
		RedirectURL: driverRedirect,
		Scopes:      []string{mcpScope},
	}
	verifier := oauth2.GenerateVerifier()
	state := rand.Text()
	authURL := cfg.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("resource", st.mcpURL))
	driver := newFormDriver()
	defer driver.savePages(t)
	cb, err := driver.Run(ctx, authURL, driverRedirect)
	if err != nil {
		t.Fatal(err)
	}
	checkPages(t, st, driver.Pages, "")
	q := cb.Query()
	if q.Get("state") != state || q.Get("iss") != st.issuer || q.Get("code") == "" {
		t.Fatalf("callback %s", cb.Redacted())
	}
	tok, err := cfg.Exchange(context.WithValue(ctx, oauth2.HTTPClient, &http.Client{Transport: rec}), q.Get("code"),
		oauth2.VerifierOption(verifier), oauth2.SetAuthURLParam("resource", st.mcpURL))
	if err != nil {
		t.Fatalf("exchange after the probe: %v", err)
	}
	ex := rec.matching("/token", "authorization_code")
	if len(ex) != 1 {
		t.Fatalf("want one exchange (the empty-password Basic accepted), got %d requests", len(ex))
	}
	if p := ex[0]; p.AuthScheme != "Basic" || p.BasicUser != url.QueryEscape(clientID) || p.BasicPass == nil || *p.BasicPass != "" ||
		p.Status != http.StatusOK || !strings.Contains(p.CacheControl, "no-store") {
		t.Errorf("exchange: %+v %s, want Basic %s: (empty password) answered 200", p, p.RespBody, clientID)
	}
	// The token works at the MCP server.
	if status := mcpInitialize(t, st, tok.AccessToken); status != http.StatusOK {
		t.Errorf("MCP initialize with the token: %d", status)
	}
	// A client that starts again (a new oauth2.Config, so x/oauth2 has
	// forgotten which style worked) refreshes a stored token: Basic with
	// the empty password again, accepted at once.
	restarted := &oauth2.Config{ClientID: cfg.ClientID, Endpoint: cfg.Endpoint, RedirectURL: cfg.RedirectURL, Scopes: cfg.Scopes}
	expired := *tok
	expired.Expiry = time.Now().Add(-time.Minute)
	refreshed, err := restarted.TokenSource(context.WithValue(ctx, oauth2.HTTPClient, &http.Client{Transport: rec}), &expired).Token()
	if err != nil {
		t.Fatalf("refresh after the probe: %v", err)
	}
	rx := rec.matching("/token", "refresh_token")
	if len(rx) != 1 {
		t.Fatalf("want one refresh request, got %d", len(rx))
	}
	if p := rx[0]; p.AuthScheme != "Basic" || p.Status != http.StatusOK || !strings.Contains(p.CacheControl, "no-store") {
		t.Errorf("refresh: %+v %s, want Basic with the empty password answered 200", p, p.RespBody)
	}
	if refreshed.AccessToken == tok.AccessToken || refreshed.RefreshToken == "" || refreshed.RefreshToken == tok.RefreshToken {
		t.Errorf("the refresh did not give a new access token and a rotated refresh token")
	}
	if status := mcpInitialize(t, st, refreshed.AccessToken); status != http.StatusOK {
		t.Errorf("MCP initialize with the refreshed token: %d", status)
	}

	// And the code is now spent: a second redemption fails.
	status, code := postToken(t, st, url.Values{"grant_type": {"authorization_code"}, "code": {q.Get("code")},
		"code_verifier": {verifier}, "redirect_uri": {driverRedirect}, "client_id": {clientID}, "resource": {st.mcpURL}})
	if status != http.StatusBadRequest || code != "invalid_grant" {
		t.Errorf("second redemption: %d %s, want 400 invalid_grant", status, code)
	}
}

// mcpInitialize sends an MCP initialize request with token and returns the
// HTTP status.
func mcpInitialize(t *testing.T, st *stack, token string) int {
	t.Helper()
	body := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"e2e","version":"1"}}}`
	req, _ := http.NewRequest(http.MethodPost, st.mcpURL, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
