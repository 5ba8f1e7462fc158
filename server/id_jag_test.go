package server

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/gatehouse-dev/gatehouse/identity"
	"github.com/gatehouse-dev/gatehouse/identity/identitytest"
	"github.com/gatehouse-dev/gatehouse/policy"
)

// jagEnv is a server trusting one enterprise IdP whose keys are served at
// a jwks_uri on a local TLS host, mapping its subjects to provider corp.
type jagEnv struct {
	*oauthEnv
	key    *ecdsa.PrivateKey
	issuer string
}

const jagIssuer = "https://idp.enterprise.example"

func newJAGEnv(t *testing.T, adm identity.Admission, mutate ...func(*Config)) *jagEnv {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	host := newDocHost(t)
	jwks, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "idp-1", Algorithm: "ES256", Use: "sig"}}})
	host.serve("/keys", jwks, "application/json", nil)
	up := identitytest.NewOIDC(t)
	e := newOAuthEnvFull(t, envOptions{CIMD: cimdResolver(t, host)}, append([]func(*Config){withOIDC(t, up, adm, false), func(c *Config) {
		c.IdentityAssertions = []AssertionIssuer{{Issuer: jagIssuer, JWKSURI: host.url("/keys"), Provider: "corp"}}
		c.Resources[0].Claims = []string{"email"}
	}}, mutate...)...)
	return &jagEnv{oauthEnv: e, key: key, issuer: jagIssuer}
}

// assertion signs an ID-JAG for conf-app; edit changes claims or header.
func (e *jagEnv) assertion(edit func(claims map[string]any, typ *string, key *any)) string {
	now := e.clock.Now()
	claims := map[string]any{"iss": e.issuer, "sub": "00u-enterprise-7", "aud": e.srv.cfg.Issuer, "client_id": "conf-app",
		"jti": rand.Text(), "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(), "resource": testResource,
		"scope": "files:read files:write", "email": "erin@example.com"}
	typ, key := IDJAGType, any(e.key)
	if edit != nil {
		edit(claims, &typ, &key)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: "idp-1"}},
		(&jose.SignerOptions{}).WithType(jose.ContentType(typ)))
	if err != nil {
		e.t.Fatal(err)
	}
	raw, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		e.t.Fatal(err)
	}
	return raw
}

func (e *jagEnv) exchangeJAG(assertion string, extra url.Values) (*http.Response, map[string]any) {
	form := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {assertion}}
	for k, v := range extra {
		form[k] = v
	}
	return e.token(form, "conf-app", testSecret)
}

func TestIDJAGSuccess(t *testing.T) {
	e := newJAGEnv(t, identity.Admission{AllowedEmailDomains: []string{"example.com"}})
	resp, body := e.exchangeJAG(e.assertion(nil), url.Values{"scope": {"files:read"}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("ID-JAG exchange: %d %v", resp.StatusCode, body)
	}
	if _, ok := body["refresh_token"]; ok {
		t.Fatal("an ID-JAG grant must not yield a refresh token")
	}
	claims := verifyAccessToken(t, e.oauthEnv, body["access_token"].(string), testResource)
	if claims.Scope != "files:read" || claims.ClientID != "conf-app" || !strings.HasPrefix(claims.Subject, "usr_") || claims.Extra["email"] != "erin@example.com" {
		t.Fatalf("token claims = %+v", claims)
	}
	// Same person, same subject: a second assertion maps to the same user.
	_, body2 := e.exchangeJAG(e.assertion(nil), nil)
	if c2 := verifyAccessToken(t, e.oauthEnv, body2["access_token"].(string), testResource); c2.Subject != claims.Subject || c2.Scope != "files:read files:write" {
		t.Fatalf("second exchange: sub %q scope %q", c2.Subject, c2.Scope)
	}
	// A resource parameter repeating the assertion's resource in another
	// spelling of the same URI is the same resource (issue 10 item 1), and
	// aud stays the configured spelling.
	resp, body3 := e.exchangeJAG(e.assertion(nil), url.Values{"resource": {"HTTPS://MCP.example.com:443/%6Dcp"}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("ID-JAG with the resource respelled: %d %v", resp.StatusCode, body3)
	}
	verifyAccessToken(t, e.oauthEnv, body3["access_token"].(string), testResource)
	// Discovery advertises the grant and the profile.
	_, md := e.doJSON(mustReq(t, e.http.URL+wellKnownOAuth))
	if !strings.Contains(toJSON(md["grant_types_supported"]), "jwt-bearer") || !strings.Contains(toJSON(md["authorization_grant_profiles_supported"]), IDJAGGrantProfile) {
		t.Fatalf("metadata: %v", md)
	}
}

func TestIDJAGHostile(t *testing.T) {
	e := newJAGEnv(t, identity.Admission{AllowedEmailDomains: []string{"example.com"}})
	otherKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	replayed := e.assertion(nil)
	if resp, body := e.exchangeJAG(replayed, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("first use: %d %v", resp.StatusCode, body)
	}
	tests := []struct {
		name      string
		assertion string
		extra     url.Values
		code      string
		want      string
	}{
		{"wrong typ", e.assertion(func(_ map[string]any, typ *string, _ *any) { *typ = "JWT" }), nil, "invalid_grant", "typ"},
		{"unknown issuer", e.assertion(func(c map[string]any, _ *string, _ *any) { c["iss"] = "https://evil.example" }), nil, "invalid_grant", "not trusted"},
		{"bad signature", e.assertion(func(_ map[string]any, _ *string, k *any) { *k = otherKey }), nil, "invalid_grant", "signature"},
		{"wrong aud", e.assertion(func(c map[string]any, _ *string, _ *any) { c["aud"] = "https://other-as.example" }), nil, "invalid_grant", "aud"},
		// One ID-JAG for several servers: any of them could replay it here
		// as a public client (rfc7523bis: the issuer is the sole audience).
		{"aud shared with another server", e.assertion(func(c map[string]any, _ *string, _ *any) {
			c["aud"] = []string{e.srv.cfg.Issuer, "https://other-as.example"}
		}), nil, "invalid_grant", "aud"},
		{"aud is the token endpoint", e.assertion(func(c map[string]any, _ *string, _ *any) { c["aud"] = e.srv.url(tokenPath) }), nil, "invalid_grant", "aud"},
		{"aud is an empty array", e.assertion(func(c map[string]any, _ *string, _ *any) { c["aud"] = []string{} }), nil, "invalid_grant", "aud"},
		{"client_id mismatch", e.assertion(func(c map[string]any, _ *string, _ *any) { c["client_id"] = "public-app" }), nil, "invalid_grant", "client_id"},
		{"expired", e.assertion(func(c map[string]any, _ *string, _ *any) {
			c["exp"] = e.clock.Now().Add(-time.Hour).Unix()
			c["iat"] = e.clock.Now().Add(-2 * time.Hour).Unix()
		}), nil, "invalid_grant", "expired"},
		{"too old", e.assertion(func(c map[string]any, _ *string, _ *any) { c["iat"] = e.clock.Now().Add(-time.Hour).Unix() }), nil, "invalid_grant", "ago"},
		{"no jti", e.assertion(func(c map[string]any, _ *string, _ *any) { delete(c, "jti") }), nil, "invalid_grant", "jti"},
		{"replayed jti", replayed, nil, "invalid_grant", "replay"},
		{"resource not configured", e.assertion(func(c map[string]any, _ *string, _ *any) { c["resource"] = "https://unknown.example/mcp" }), nil, "invalid_target", "not a resource server"},
		{"resource parameter differs", e.assertion(nil), url.Values{"resource": {testOtherResource}}, "invalid_target", "must match"},
		{"resource parameter another path", e.assertion(nil), url.Values{"resource": {testResource + "/"}}, "invalid_target", "must match"},
		{"scope not offered", e.assertion(nil), url.Values{"scope": {"admin:all"}}, "invalid_scope", "accepted by the requested resource"},
		{"scope outside the assertion", e.assertion(func(c map[string]any, _ *string, _ *any) { c["scope"] = "files:read" }), url.Values{"scope": {"files:write"}}, "invalid_scope", "ID-JAG's scope"},
		{"user refused by admission", e.assertion(func(c map[string]any, _ *string, _ *any) {
			c["sub"], c["email"] = "00u-outsider", "mallory@evil.example"
		}), nil, "invalid_grant", "admission"},
		{"not a JWS", "not.a.jwt", nil, "invalid_grant", "compact JWS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := e.exchangeJAG(tt.assertion, tt.extra)
			wantOAuthError(t, resp, body, http.StatusBadRequest, tt.code)
			if d, _ := body["error_description"].(string); !strings.Contains(d, tt.want) {
				t.Fatalf("error_description %q does not name %q", d, tt.want)
			}
		})
	}
}

func TestIDJAGOffWithoutIssuers(t *testing.T) {
	e := newOAuthEnv(t)
	resp, body := e.token(url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {"x.y.z"}}, "conf-app", testSecret)
	wantOAuthError(t, resp, body, http.StatusBadRequest, "unsupported_grant_type")
}

func mustReq(t *testing.T, u string) *http.Request {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func toJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

// TestIDJAGReplayAfterSweepAndClockStep: a used jti stays refused when the
// sweeper has run and the clock then steps back before the assertion's exp.
func TestIDJAGReplayAfterSweepAndClockStep(t *testing.T) {
	e := newJAGEnv(t, identity.Admission{})
	a := e.assertion(nil)
	if resp, body := e.exchangeJAG(a, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("first use: %d %v", resp.StatusCode, body)
	}
	e.clock.Advance(6 * time.Minute) // past exp
	if _, err := e.store.Sweep(context.Background(), e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(-5 * time.Minute) // a backward step: exp is ahead again
	resp, body := e.exchangeJAG(a, nil)
	wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_grant")
	if d, _ := body["error_description"].(string); !strings.Contains(d, "replay") {
		t.Fatalf("error_description %q", d)
	}
}

// TestIDJAGRespectsProfileCeilings: an enterprise IdP vouching for the
// user does not lift the client profile's ceilings: the scope ceiling
// narrows the assertion's scopes, access_token_ttl shortens the token, and
// a resource outside the ceiling is refused.
func TestIDJAGRespectsProfileCeilings(t *testing.T) {
	e := newJAGEnv(t, identity.Admission{AllowedEmailDomains: []string{"example.com"}})
	e.setProfiles(policy.Profile{Name: "enterprise", Match: policy.ProfileMatch{ClientIDs: []string{"conf-app"}},
		Ceilings: policy.Ceilings{Scopes: []string{"files:read"}, AccessTokenTTL: 2 * time.Minute}})
	resp, body := e.exchangeJAG(e.assertion(nil), nil) // the assertion carries files:read files:write
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("ID-JAG exchange: %d %v", resp.StatusCode, body)
	}
	claims := parseAccessTokenClaims(t, e.oauthEnv, body["access_token"].(string))
	if claims.Scope != "files:read" || body["scope"] != "files:read" || body["expires_in"] != float64(120) ||
		claims.Expiry.Time().Sub(claims.IssuedAt.Time()) != 2*time.Minute {
		t.Fatalf("token scope %q, response %v; want files:read for 2 minutes", claims.Scope, body)
	}
	e.setProfiles(policy.Profile{Name: "elsewhere", Match: policy.ProfileMatch{ClientIDs: []string{"conf-app"}},
		Ceilings: policy.Ceilings{Resources: []string{testOtherResource}}})
	resp, body = e.exchangeJAG(e.assertion(nil), nil)
	if resp.StatusCode != http.StatusBadRequest || body["error"] != "invalid_target" {
		t.Fatalf("a resource outside the ceiling: %d %v, want invalid_target", resp.StatusCode, body)
	}
}
