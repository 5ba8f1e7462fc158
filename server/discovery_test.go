package server

import (
	"context"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

func TestMetadataDocument(t *testing.T) {
	env := newTestEnv(t)
	for _, path := range []string{wellKnownOAuth, wellKnownOIDC} {
		resp, body := env.get(path)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s = %d", path, resp.StatusCode)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s Content-Type = %q", path, ct)
		}
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "*" {
			t.Errorf("%s CORS = %q", path, got)
		}
		if cc := resp.Header.Get("Cache-Control"); cc != "public, max-age=3600" {
			t.Errorf("%s Cache-Control = %q", path, cc)
		}
		var md map[string]any
		if err := json.Unmarshal([]byte(body), &md); err != nil {
			t.Fatal(err)
		}
		if md["issuer"] != "http://localhost:8080" || md["jwks_uri"] != "http://localhost:8080/jwks.json" {
			t.Errorf("%s = %s", path, body)
		}
		// A conditional request with the ETag gets 304.
		resp, _ = env.get(path, "If-None-Match", resp.Header.Get("ETag"))
		if resp.StatusCode != http.StatusNotModified {
			t.Errorf("conditional GET %s = %d, want 304", path, resp.StatusCode)
		}
	}
	resp, _ := env.get(wellKnownOAuth, "Origin", "https://inspector.example")
	if resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Error("metadata must be readable cross-origin")
	}
}

// TestMetadataHasWhatClientsNeed checks the fields of clients.md "What
// every client needs", each against what the server does.
func TestMetadataHasWhatClientsNeed(t *testing.T) {
	env := newOAuthEnv(t)
	_, body := env.get(wellKnownOAuth)
	var md Metadata
	if err := json.Unmarshal([]byte(body), &md); err != nil {
		t.Fatal(err)
	}
	iss := env.srv.cfg.Issuer
	checks := map[string]bool{
		"authorization_endpoint":    md.AuthorizationEndpoint == iss+"/authorize",
		"token_endpoint":            md.TokenEndpoint == iss+"/token",
		"revocation_endpoint":       md.RevocationEndpoint == iss+"/revoke",
		"introspection_endpoint":    md.IntrospectionEndpoint == iss+"/introspect",
		"response_types [code]":     len(md.ResponseTypesSupported) == 1 && md.ResponseTypesSupported[0] == "code",
		"PKCE S256 only":            len(md.CodeChallengeMethodsSupported) == 1 && md.CodeChallengeMethodsSupported[0] == "S256",
		"auth methods include none": slices.Contains(md.TokenEndpointAuthMethodsSupported, "none"),
		"private_key_jwt":           slices.Contains(md.TokenEndpointAuthMethodsSupported, "private_key_jwt"),
		"no HMAC assertion algs":    !slices.ContainsFunc(md.TokenEndpointAuthSigningAlgs, func(a string) bool { return strings.HasPrefix(a, "HS") }),
		"grant types":               slices.Equal(md.GrantTypesSupported, []string{"authorization_code", "refresh_token", "client_credentials"}),
		"iss parameter (RFC 9207)":  md.AuthorizationResponseISSSupported,
		"scopes from resources":     slices.Equal(md.ScopesSupported, []string{"email", "files:read", "files:write", "offline_access", "openid", "profile"}),
		"no implicit":               !slices.Contains(md.GrantTypesSupported, "implicit"),
	}
	for name, ok := range checks {
		if !ok {
			t.Errorf("metadata: %s fails: %s", name, body)
		}
	}
}

func TestMetadataWithIssuerPath(t *testing.T) {
	env := newTestEnv(t, func(c *Config) { c.Issuer = "https://auth.example.com/tenant-a" })
	for _, path := range []string{
		"/.well-known/oauth-authorization-server/tenant-a",
		"/.well-known/openid-configuration/tenant-a",
		"/tenant-a/.well-known/openid-configuration",
	} {
		resp, body := env.get(path)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s = %d", path, resp.StatusCode)
		}
		var md Metadata
		if err := json.Unmarshal([]byte(body), &md); err != nil {
			t.Fatal(err)
		}
		// RFC 8414 §3.3: the issuer must be exactly the one the URL was built from.
		if md.Issuer != "https://auth.example.com/tenant-a" || md.JWKSURI != "https://auth.example.com/tenant-a/jwks.json" {
			t.Errorf("%s: %s", path, body)
		}
	}
	// The root forms describe a different issuer, which does not exist.
	if resp, _ := env.get(wellKnownOAuth); resp.StatusCode != http.StatusNotFound {
		t.Errorf("root metadata with a path issuer = %d, want 404", resp.StatusCode)
	}
	if resp, _ := env.get("/tenant-a/jwks.json"); resp.StatusCode != http.StatusOK {
		t.Errorf("JWKS under the issuer path = %d", resp.StatusCode)
	}
}

func fetchJWKS(t *testing.T, env *testEnv) jose.JSONWebKeySet {
	t.Helper()
	resp, body := env.get(jwksPath)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("JWKS = %d", resp.StatusCode)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal([]byte(body), &set); err != nil {
		t.Fatal(err)
	}
	for _, k := range set.Keys {
		if !k.IsPublic() {
			t.Fatalf("JWKS publishes a private key: %s", body)
		}
	}
	return set
}

func TestJWKSKeyIDIsThumbprintAndSurvivesRestart(t *testing.T) {
	env := newTestEnv(t)
	set := fetchJWKS(t, env)
	if len(set.Keys) != 1 {
		t.Fatalf("JWKS has %d keys, want 1", len(set.Keys))
	}
	k := set.Keys[0]
	tp, err := k.Thumbprint(crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if want := base64.RawURLEncoding.EncodeToString(tp); k.KeyID != want {
		t.Fatalf("kid = %s, want RFC 7638 thumbprint %s", k.KeyID, want)
	}
	if k.Algorithm != "ES256" || k.Use != "sig" {
		t.Errorf("key alg/use = %s/%s", k.Algorithm, k.Use)
	}
	// Restart on the same data: the key is loaded, not regenerated.
	env.http.Close()
	env.store.Close()
	env.openStore()
	env.start(testConfig())
	again := fetchJWKS(t, env)
	if len(again.Keys) != 1 || again.Keys[0].KeyID != k.KeyID {
		t.Fatalf("after restart kid = %+v, want %s", again.Keys, k.KeyID)
	}
}

func TestRotationKeepsOldTokensVerifiable(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	sign := func() string {
		signer, err := env.srv.keys.Signer("at+jwt")
		if err != nil {
			t.Fatal(err)
		}
		tok, err := jwt.Signed(signer).Claims(jwt.Claims{Issuer: env.srv.cfg.Issuer,
			Expiry: jwt.NewNumericDate(env.clock.Now().Add(10 * time.Minute))}).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	verify := func(tok string, set jose.JSONWebKeySet) error {
		parsed, err := jwt.ParseSigned(tok, []jose.SignatureAlgorithm{jose.ES256})
		if err != nil {
			return err
		}
		var claims jwt.Claims
		return parsed.Claims(set, &claims)
	}
	oldKID := env.srv.keys.ActiveKeyID()
	before := sign()

	if _, err := RotateKey(ctx, env.store, env.clock.Now(), env.srv.cfg.AccessTokenTTL, 0, env.srv.rand); err != nil {
		t.Fatal(err)
	}
	env.http.Close()
	env.start(testConfig()) // a restart picks the rotation up
	if env.srv.keys.ActiveKeyID() == oldKID {
		t.Fatal("rotation did not change the active key")
	}
	set := fetchJWKS(t, env)
	if len(set.Keys) != 2 {
		t.Fatalf("after rotation JWKS has %d keys, want old and new", len(set.Keys))
	}
	if err := verify(before, set); err != nil {
		t.Fatalf("token signed before rotation no longer verifies: %v", err)
	}
	after := sign()
	if err := verify(after, set); err != nil {
		t.Fatalf("token signed after rotation: %v", err)
	}
	parsed, _ := jwt.ParseSigned(after, []jose.SignatureAlgorithm{jose.ES256})
	if kid := parsed.Headers[0].KeyID; kid != env.srv.keys.ActiveKeyID() || kid == oldKID {
		t.Fatalf("new tokens signed with kid %s", kid)
	}

	// Once every token of the old key has expired, the key is unpublished.
	env.clock.Advance(env.srv.cfg.AccessTokenTTL + keyLeeway)
	if n, err := env.store.Sweep(ctx, env.clock.Now()); err != nil || n.Removed != 1 {
		t.Fatalf("sweep = %d, %v; want the old key removed", n.Removed, err)
	}
	env.http.Close()
	env.start(testConfig())
	if set := fetchJWKS(t, env); len(set.Keys) != 1 || set.Keys[0].KeyID == oldKID {
		t.Fatalf("old key still published after its tokens expired: %+v", set.Keys)
	}
}

// An issuer path that needs percent-encoding is refused at New, before
// any route is built from it: the path as written and as escaped would
// name two different routes (config check refuses it too).
func TestNewRefusesAnIssuerPathNeedingPercentEncoding(t *testing.T) {
	env := newTestEnv(t)
	for _, issuer := range []string{"https://auth.example.com/%00", "https://auth.example.com/a%2Fb",
		"https://auth.example.com/t%65nant", "https://auth.example.com/a b", "https://auth.example.com/é"} {
		cfg := testConfig()
		cfg.Issuer = issuer
		if _, err := New(context.Background(), cfg, Deps{Store: env.store}); err == nil || !strings.Contains(err.Error(), "percent-encoding") {
			t.Errorf("New(issuer %q) = %v, want a percent-encoding refusal", issuer, err)
		}
	}
}
