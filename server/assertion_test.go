package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"net/url"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

type assertionOpts struct {
	key     any
	alg     jose.SignatureAlgorithm
	kid     string
	claims  map[string]any
	without []string
}

// assertion builds a client assertion for jwt-app, valid unless opts
// change it.
func (e *oauthEnv) assertion(t *testing.T, opts assertionOpts) string {
	t.Helper()
	now := e.clock.Now()
	claims := map[string]any{
		"iss": "jwt-app", "sub": "jwt-app", "aud": e.srv.cfg.Issuer,
		"exp": now.Add(2 * time.Minute).Unix(), "iat": now.Unix(), "jti": randomJTI(),
	}
	for k, v := range opts.claims {
		claims[k] = v
	}
	for _, k := range opts.without {
		delete(claims, k)
	}
	if opts.key == nil {
		opts.key = e.assertionKey
	}
	if opts.alg == "" {
		opts.alg = jose.ES256
	}
	if opts.kid == "" {
		opts.kid = "k1"
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: opts.alg, Key: jose.JSONWebKey{Key: opts.key, KeyID: opts.kid}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func randomJTI() string {
	b := make([]byte, 12)
	rand.Read(b)
	return url.QueryEscape(string(b))
}

func (e *oauthEnv) clientCredentialsWith(assertion string) (int, map[string]any) {
	resp, body := e.token(url.Values{"grant_type": {"client_credentials"}, "resource": {testResource},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {assertion}}, "", "")
	return resp.StatusCode, body
}

func TestPrivateKeyJWT(t *testing.T) {
	env := newOAuthEnv(t)
	good := env.assertion(t, assertionOpts{})
	if status, body := env.clientCredentialsWith(good); status != 200 {
		t.Fatalf("valid assertion = %d %v", status, body)
	}
	if status, body := env.clientCredentialsWith(good); status != 401 || body["error"] != "invalid_client" {
		t.Fatalf("replayed assertion = %d %v, want 401 invalid_client", status, body)
	}
	tokenURL := env.srv.url(tokenPath)
	if status, body := env.clientCredentialsWith(env.assertion(t, assertionOpts{claims: map[string]any{"aud": tokenURL}})); status != 200 {
		t.Fatalf("aud = token endpoint: %d %v", status, body)
	}

	otherKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pubDER, _ := x509.MarshalPKIXPublicKey(&env.assertionKey.PublicKey)
	now := env.clock.Now()
	hostile := map[string]assertionOpts{
		"signed by another key":           {key: otherKey},
		"HS256 keyed with the public key": {key: pubDER, alg: jose.HS256},
		"unknown kid":                     {kid: "nope"},
		"no exp":                          {without: []string{"exp"}},
		"expired":                         {claims: map[string]any{"exp": now.Add(-time.Minute).Unix()}},
		"exp too far ahead":               {claims: map[string]any{"exp": now.Add(time.Hour).Unix()}},
		"no jti":                          {without: []string{"jti"}},
		"iss is another client":           {claims: map[string]any{"iss": "conf-app"}},
		"sub is another client":           {claims: map[string]any{"sub": "conf-app"}},
		"aud is another server":           {claims: map[string]any{"aud": "https://other-as.example"}},
		"no aud":                          {without: []string{"aud"}},
		"not yet valid":                   {claims: map[string]any{"nbf": now.Add(10 * time.Minute).Unix()}},
		"issued in the future":            {claims: map[string]any{"iat": now.Add(10 * time.Minute).Unix()}},
	}
	for name, opts := range hostile {
		t.Run(name, func(t *testing.T) {
			status, body := env.clientCredentialsWith(env.assertion(t, opts))
			if status != 401 || body["error"] != "invalid_client" {
				t.Fatalf("= %d %v, want 401 invalid_client", status, body)
			}
		})
	}
	t.Run("alg none", func(t *testing.T) {
		// header {"alg":"none"} . claims . empty signature
		status, body := env.clientCredentialsWith("eyJhbGciOiJub25lIn0.eyJpc3MiOiJqd3QtYXBwIn0.")
		if status != 401 || body["error"] != "invalid_client" {
			t.Fatalf("= %d %v", status, body)
		}
	})
	t.Run("secret instead of assertion", func(t *testing.T) {
		resp, body := env.token(url.Values{"grant_type": {"client_credentials"}, "resource": {testResource}}, "jwt-app", testSecret)
		wantOAuthError(t, resp, body, 401, "invalid_client")
	})
}

func TestPrivateKeyJWTCodeFlow(t *testing.T) {
	env := newOAuthEnv(t)
	verifier, challenge := pkce()
	code := env.code(authzParams("jwt-app", confRedirect, challenge))
	resp, body := env.token(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier},
		"redirect_uri": {confRedirect}, "client_id": {"jwt-app"},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
		"client_assertion":      {env.assertion(t, assertionOpts{})}}, "", "")
	if resp.StatusCode != 200 || body["refresh_token"] == nil {
		t.Fatalf("= %d %v", resp.StatusCode, body)
	}
}
