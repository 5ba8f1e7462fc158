//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// testSecretByEitherForm registers a confidential client for
// client_secret_post and lets golang.org/x/oauth2 (AuthStyleAutoDetect)
// authenticate it: x/oauth2 sends the secret by HTTP Basic first. A secret
// counts by Basic or in the body whichever the client registered, so the
// first request is accepted: one code exchange, one refresh.
func testSecretByEitherForm(t *testing.T, st *stack) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	body, _ := json.Marshal(map[string]any{
		"client_name":                "Gatehouse e2e confidential (post)",
		"redirect_uris":              []string{driverRedirect},
		"grant_types":                []string{"authorization_code", "refresh_token"},
		"token_endpoint_auth_method": "client_secret_post",
		"scope":                      mcpScope,
	})
	resp, err := http.Post(st.issuer+"/register", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var reg map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&reg)
	resp.Body.Close()
	id, _ := reg["client_id"].(string)
	secret, _ := reg["client_secret"].(string)
	if resp.StatusCode != http.StatusCreated || id == "" || secret == "" {
		t.Fatalf("register: %s %v", resp.Status, reg)
	}
	rec := &recorder{name: "oauth"}
	defer rec.save(t)
	cfg := &oauth2.Config{
		ClientID: id, ClientSecret: secret, RedirectURL: driverRedirect, Scopes: []string{mcpScope},
		Endpoint: oauth2.Endpoint{AuthURL: st.issuer + "/authorize", TokenURL: st.issuer + "/token", AuthStyle: oauth2.AuthStyleAutoDetect},
	}
	verifier, state := oauth2.GenerateVerifier(), rand.Text()
	driver := newFormDriver()
	defer driver.savePages(t)
	cb, err := driver.Run(ctx, cfg.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("resource", st.mcpURL)), driverRedirect)
	if err != nil {
		t.Fatal(err)
	}
	if cb.Query().Get("state") != state || cb.Query().Get("code") == "" {
		t.Fatalf("callback %s", cb.Redacted())
	}
	hc := context.WithValue(ctx, oauth2.HTTPClient, &http.Client{Transport: rec})
	tok, err := cfg.Exchange(hc, cb.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	ex := rec.matching("/token", "authorization_code")
	if len(ex) != 1 || ex[0].AuthScheme != "Basic" || ex[0].BasicUser != url.QueryEscape(id) || ex[0].Status != http.StatusOK {
		t.Fatalf("want one exchange by Basic for a client_secret_post client, answered 200; got %+v", ex)
	}
	if status := mcpInitialize(t, st, tok.AccessToken); status != http.StatusOK {
		t.Errorf("MCP initialize with the token: %d", status)
	}
	// The refresh, in the body this time (the style the client registered).
	post := *cfg
	post.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	expired := *tok
	expired.Expiry = time.Now().Add(-time.Minute)
	if _, err := post.TokenSource(hc, &expired).Token(); err != nil {
		t.Fatalf("refresh with the secret in the body: %v", err)
	}
	rx := rec.matching("/token", "refresh_token")
	if len(rx) != 1 || rx[0].AuthScheme != "" || rx[0].Form.Get("client_id") != id || rx[0].Status != http.StatusOK ||
		!strings.Contains(rx[0].CacheControl, "no-store") {
		t.Fatalf("refresh requests: %+v", rx)
	}
}
