package server

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/gatehouse-dev/gatehouse/dcr"
)

// introspectAs posts token to /introspect with Basic credentials, or with
// form credentials for post-app (registered for client_secret_post).
func (e *oauthEnv) introspectAs(clientID, secret, token string) (*http.Response, map[string]any) {
	e.t.Helper()
	if clientID == "post-app" {
		return e.doJSON(newForm(e, introspectPath, url.Values{"token": {token}, "client_id": {clientID}, "client_secret": {secret}}))
	}
	req := newForm(e, introspectPath, url.Values{"token": {token}})
	req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	return e.doJSON(req)
}

// TestIntrospectionIsForTrustedParties (RFC 7662 §4-5): an anonymous
// party that registers a confidential client learns nothing about a
// user's token, not even that it is active; a client learns about its own
// tokens without the username; the operator's allow_introspection client
// learns everything.
func TestIntrospectionIsForTrustedParties(t *testing.T) {
	env := newDCREnv(t, dcr.ModeOpen)
	verifier, challenge := pkce()
	resp, tok := env.exchange(env.code(authzParams("public-app", publicRedirect, challenge)), verifier)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("exchange = %d %v", resp.StatusCode, tok)
	}
	victimToken := tok["access_token"].(string)

	// The attacker: one anonymous registration, which gets a secret.
	resp, reg := env.register(`{"redirect_uris":["https://attacker.example/cb"],"client_name":"probe"}`)
	if resp.StatusCode != http.StatusCreated || reg["client_secret"] == nil {
		t.Fatalf("register = %d %v", resp.StatusCode, reg)
	}
	attacker, attackerSecret := reg["client_id"].(string), reg["client_secret"].(string)
	for _, probe := range []string{victimToken, victimToken + "x", "garbage"} {
		resp, body := env.introspectAs(attacker, attackerSecret, probe)
		if resp.StatusCode != http.StatusOK || len(body) != 1 || body["active"] != false {
			t.Fatalf("untrusted client introspecting %.20s… = %d %v, want exactly {\"active\":false}", probe, resp.StatusCode, body)
		}
	}

	// An operator client without allow_introspection, on another client's
	// token: inactive too.
	resp, body := env.introspectAs("post-app", testSecret, victimToken)
	if resp.StatusCode != http.StatusOK || len(body) != 1 || body["active"] != false {
		t.Fatalf("post-app introspecting public-app's token = %d %v", resp.StatusCode, body)
	}

	// A client on its own token: active, never the username.
	ownVerifier, ownChallenge := pkce()
	code := env.code(authzParams("post-app", confRedirect, ownChallenge))
	resp, own := env.token(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {ownVerifier},
		"redirect_uri": {confRedirect}, "client_id": {"post-app"}, "client_secret": {testSecret}}, "", "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("post-app exchange = %d %v", resp.StatusCode, own)
	}
	resp, body = env.introspectAs("post-app", testSecret, own["access_token"].(string))
	if resp.StatusCode != http.StatusOK || body["active"] != true || body["client_id"] != "post-app" || body["username"] != nil {
		t.Fatalf("post-app introspecting its own token = %d %v (want active, no username)", resp.StatusCode, body)
	}

	// The operator's trusted introspector: everything, the username too.
	resp, body = env.introspectAs("conf-app", testSecret, victimToken)
	if resp.StatusCode != http.StatusOK || body["active"] != true || body["username"] != testUser || body["client_id"] != "public-app" {
		t.Fatalf("allow_introspection client = %d %v", resp.StatusCode, body)
	}
}
