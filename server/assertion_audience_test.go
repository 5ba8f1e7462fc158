package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-dev/gatehouse/dcr"
)

// audienceCase is one aud value of a client assertion and whether a
// self-registered (DCR or CIMD) client may use it.
type audienceCase struct {
	name string
	aud  func(e *oauthEnv) any
	ok   bool
}

// selfRegisteredAudiences: a DCR or CIMD client's assertion must name this
// server's issuer and nothing else. Such a client uses one client_id and
// key with every server it meets; an assertion it signed for a hostile
// server that named Gatehouse's token endpoint as its own must not work
// here (audience injection, CVE-2025-27370, draft-ietf-oauth-rfc7523bis).
var selfRegisteredAudiences = []audienceCase{
	{"issuer", func(e *oauthEnv) any { return e.srv.cfg.Issuer }, true},
	{"issuer in a one-element array", func(e *oauthEnv) any { return []string{e.srv.cfg.Issuer} }, true},
	{"token endpoint URL", func(e *oauthEnv) any { return e.srv.url(tokenPath) }, false},
	{"revocation endpoint URL", func(e *oauthEnv) any { return e.srv.url(revokePath) }, false},
	{"introspection endpoint URL", func(e *oauthEnv) any { return e.srv.url(introspectPath) }, false},
	{"issuer and another server", func(e *oauthEnv) any { return []string{e.srv.cfg.Issuer, "https://other-as.example"} }, false},
	{"another server and the issuer", func(e *oauthEnv) any { return []string{"https://other-as.example", e.srv.cfg.Issuer} }, false},
	{"issuer and token endpoint", func(e *oauthEnv) any { return []string{e.srv.cfg.Issuer, e.srv.url(tokenPath)} }, false},
	{"issuer with a trailing slash", func(e *oauthEnv) any { return e.srv.cfg.Issuer + "/" }, false},
	{"empty array", func(e *oauthEnv) any { return []string{} }, false},
	{"another server", func(e *oauthEnv) any { return "https://other-as.example" }, false},
}

// revokeWithAssertion authenticates clientID at /revoke (an unknown token:
// 200 when the client authenticates, RFC 7009 §2.2) and returns the status
// and error.
func (e *oauthEnv) revokeWithAssertion(t *testing.T, clientID string, key *ecdsa.PrivateKey, aud any) (int, any) {
	t.Helper()
	assertion := e.assertion(t, assertionOpts{key: key, claims: map[string]any{"iss": clientID, "sub": clientID, "aud": aud}})
	form := url.Values{"token": {"not-a-token"}, "client_id": {clientID},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {assertion}}
	req, _ := http.NewRequest(http.MethodPost, e.http.URL+revokePath, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, body := e.doJSON(req)
	return resp.StatusCode, body["error"]
}

func TestClientAssertionAudienceCIMD(t *testing.T) {
	host := newDocHost(t)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	b, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "ES256", Use: "sig"}}})
	host.serve("/oauth/jwks.json", b, "application/json", http.Header{"Cache-Control": {"max-age=3600"}})
	clientID := host.publish("/oauth/client.json", map[string]any{
		"client_name": "Web Agent", "redirect_uris": []string{host.url("/callback")},
		"grant_types": []string{"authorization_code", "refresh_token"}, "token_endpoint_auth_method": "private_key_jwt",
		"token_endpoint_auth_signing_alg": "ES256", "jwks_uri": host.url("/oauth/jwks.json"),
	})
	env := newCIMDEnv(t, host)
	for _, tc := range selfRegisteredAudiences {
		t.Run(tc.name, func(t *testing.T) {
			status, code := env.revokeWithAssertion(t, clientID, key, tc.aud(env))
			if tc.ok && status != http.StatusOK {
				t.Fatalf("aud %v: %d %v; want 200", tc.aud(env), status, code)
			}
			if !tc.ok && (status != http.StatusUnauthorized || code != "invalid_client") {
				t.Fatalf("aud %v: %d %v; want 401 invalid_client", tc.aud(env), status, code)
			}
		})
	}
}

func TestClientAssertionAudienceDCR(t *testing.T) {
	env := newDCREnv(t, dcr.ModeOpen)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	jwks, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "ES256", Use: "sig"}}})
	resp, reg := env.register(`{"client_name":"Agent","redirect_uris":["http://127.0.0.1/callback"],` +
		`"token_endpoint_auth_method":"private_key_jwt","jwks":` + string(jwks) + `}`)
	clientID, _ := reg["client_id"].(string)
	if resp.StatusCode != http.StatusCreated || clientID == "" {
		t.Fatalf("register: %d %v", resp.StatusCode, reg)
	}
	for _, tc := range selfRegisteredAudiences {
		t.Run(tc.name, func(t *testing.T) {
			status, code := env.revokeWithAssertion(t, clientID, key, tc.aud(env))
			if tc.ok && status != http.StatusOK {
				t.Fatalf("aud %v: %d %v; want 200", tc.aud(env), status, code)
			}
			if !tc.ok && (status != http.StatusUnauthorized || code != "invalid_client") {
				t.Fatalf("aud %v: %d %v; want 401 invalid_client", tc.aud(env), status, code)
			}
		})
	}
}

// TestClientAssertionAudienceStatic: an operator-configured client, whose
// key the operator set up for this server alone, keeps RFC 7523 §3's
// choices: the issuer, the token endpoint, or the endpoint's own URL.
func TestClientAssertionAudienceStatic(t *testing.T) {
	env := newOAuthEnv(t)
	for _, tc := range []struct {
		name string
		aud  any
		ok   bool
	}{
		{"issuer", env.srv.cfg.Issuer, true},
		{"token endpoint URL", env.srv.url(tokenPath), true},
		{"revocation endpoint URL at /revoke", env.srv.url(revokePath), true},
		{"issuer and token endpoint", []string{env.srv.cfg.Issuer, env.srv.url(tokenPath)}, true},
		{"introspection endpoint URL at /revoke", env.srv.url(introspectPath), false},
		{"another server", "https://other-as.example", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, code := env.revokeWithAssertion(t, "jwt-app", env.assertionKey, tc.aud)
			if tc.ok != (status == http.StatusOK) {
				t.Fatalf("aud %v: %d %v; want ok=%v", tc.aud, status, code, tc.ok)
			}
		})
	}
}
