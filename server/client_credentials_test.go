package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-dev/gatehouse/dcr"
)

// Anyone can register a DCR client or publish a CIMD document, so the
// client_credentials grant, which issues tokens with no user in the loop,
// is closed to such clients until the operator opens it. A review found a
// self-registered client minting tokens with every scope of every resource.
func TestClientCredentialsClosedToSelfRegisteredClients(t *testing.T) {
	// A DCR client registered while the grant was open (or by an older
	// version) still cannot use it once the server policy is closed.
	cfg := dcr.DefaultConfig()
	cfg.AllowClientCredentials = true
	env := newOAuthEnvWith(t, &cfg)
	resp, reg := env.register(`{"grant_types":["client_credentials"],"token_endpoint_auth_method":"client_secret_basic","client_name":"Robot"}`)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("register = %d %v", resp.StatusCode, reg)
	}
	id, secret := reg["client_id"].(string), reg["client_secret"].(string)
	form := url.Values{"grant_type": {"client_credentials"}, "resource": {testResource}, "scope": {"files:read files:write"}}
	r, b := env.token(form, id, secret)
	wantOAuthError(t, r, b, 400, "unauthorized_client")
	if !strings.Contains(b["error_description"].(string), "dcr.allow_client_credentials") {
		t.Fatalf("error_description does not name the setting: %v", b)
	}

	// The operator opens it (a reload swaps the policy).
	p := Policy{Clients: env.srv.policy().clients, Resources: []Resource{{URI: testResource, Scopes: []string{"files:read", "files:write"}}},
		Register: RegisterLimits{PerIPPerMinute: 1000, GlobalPerSecond: 1000, MaxBody: 16 << 10}, ClientCredentials: ClientCredentialsPolicy{DCR: true}}
	if err := env.srv.SetPolicy(p); err != nil {
		t.Fatal(err)
	}
	r, b = env.token(form, id, secret)
	if r.StatusCode != 200 || b["access_token"] == nil {
		t.Fatalf("with dcr.allow_client_credentials = %d %v", r.StatusCode, b)
	}
	// Such tokens are not stored, yet they die with their client (RFC 7592
	// §2.3): introspection looks the client up.
	at := b["access_token"].(string)
	if !env.introspect(t, at) {
		t.Fatal("fresh client_credentials token inactive")
	}
	if r, _ := env.manage(http.MethodDelete, id, reg["registration_access_token"].(string), ""); r.StatusCode != http.StatusNoContent {
		t.Fatalf("delete = %d", r.StatusCode)
	}
	if env.introspect(t, at) {
		t.Fatal("the deleted client's client_credentials token is still active")
	}
	// Static clients were never affected.
	if r, b := env.token(form, "conf-app", testSecret); r.StatusCode != 200 {
		t.Fatalf("static client = %d %v", r.StatusCode, b)
	}
}

func TestClientCredentialsClosedToCIMDClients(t *testing.T) {
	host := newDocHost(t)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	clientID := host.publish("/oauth/service.json", map[string]any{
		"client_name": "Agent service", "redirect_uris": []string{host.url("/callback")},
		"grant_types": []string{"authorization_code", "client_credentials"}, "token_endpoint_auth_method": "private_key_jwt",
		"jwks": jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "s1", Algorithm: "ES256", Use: "sig"}}},
	})
	for _, open := range []bool{false, true} {
		env := newCIMDEnv(t, host)
		if open {
			p := Policy{Clients: env.srv.policy().clients, Resources: []Resource{{URI: testResource, Scopes: []string{"files:read"}}},
				Register: RegisterLimits{PerIPPerMinute: 1, GlobalPerSecond: 1, MaxBody: 1 << 10}, CIMD: true,
				ClientCredentials: ClientCredentialsPolicy{CIMD: true}}
			if err := env.srv.SetPolicy(p); err != nil {
				t.Fatal(err)
			}
		}
		assertion := env.assertion(t, assertionOpts{key: key, kid: "s1", claims: map[string]any{"iss": clientID, "sub": clientID}})
		r, b := env.clientCredentialsWith(assertion)
		switch {
		case !open:
			if r != 400 || b["error"] != "unauthorized_client" {
				t.Fatalf("CIMD client_credentials by default = %d %v, want 400 unauthorized_client", r, b)
			}
		case r != 200:
			t.Fatalf("with cimd.allow_client_credentials = %d %v", r, b)
		}
	}
}
