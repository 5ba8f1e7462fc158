package resource_test

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-dev/gatehouse/resource"
	"github.com/gatehouse-dev/gatehouse/server"
)

// A token Gatehouse issued through the token endpoint verifies, and the
// claims are what Gatehouse put in it.
func TestVerifyGatehouseToken(t *testing.T) {
	g := startGatehouse(t)
	v := newVerifier(t, g, newClock())
	tok := g.token(t, testResource, "tools:call")
	c, err := v.Verify(context.Background(), tok)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if c.Issuer != g.issuer || c.Subject != svcClient || c.ClientID != svcClient {
		t.Errorf("iss/sub/client_id = %q %q %q", c.Issuer, c.Subject, c.ClientID)
	}
	if !slices.Equal(c.Audience, []string{testResource}) || !slices.Equal(c.Scopes, []string{"tools:call"}) {
		t.Errorf("aud %v scopes %v", c.Audience, c.Scopes)
	}
	if c.ID == "" || c.ExpiresAt.Sub(c.IssuedAt) != 10*time.Minute || !c.AuthTime.IsZero() {
		t.Errorf("jti %q iat %v exp %v auth_time %v", c.ID, c.IssuedAt, c.ExpiresAt, c.AuthTime)
	}
	if got := v.Stats(); got.KeyFetches != 1 || got.KeyFetchFailures != 0 || got.LastKeyFetch.IsZero() {
		t.Errorf("stats %+v", got)
	}
}

// A token Gatehouse issued for another resource is refused: the MCP rule
// that a server accepts only tokens whose audience is itself.
func TestVerifyTokenForAnotherResource(t *testing.T) {
	other := "http://127.0.0.1:9001/mcp"
	g := startGatehouse(t, server.Resource{URI: testResource, Scopes: []string{"tools:call"}},
		server.Resource{URI: other, Scopes: []string{"tools:call"}})
	v := newVerifier(t, g, newClock())
	_, err := v.Verify(context.Background(), g.token(t, other, "tools:call"))
	if !errors.Is(err, resource.ErrAudience) {
		t.Fatalf("err = %v, want ErrAudience", err)
	}
	if g.jwksRequests.Load() != 0 {
		t.Errorf("a token for another audience caused %d key fetches", g.jwksRequests.Load())
	}
}

func TestVerifyHostileTokens(t *testing.T) {
	g := startGatehouse(t)
	clk := newClock()
	v := newVerifier(t, g, clk)
	key := g.signingKey(t)
	now := clk.Now()
	valid := g.validClaims(now)
	with := func(changes map[string]any) map[string]any {
		c := map[string]any{}
		for k, v := range valid {
			c[k] = v
		}
		for k, v := range changes {
			if v == nil {
				delete(c, k)
			} else {
				c[k] = v
			}
		}
		return c
	}
	es := func(changes map[string]any) string { return sign(t, key, jose.ES256, with(changes), nil) }
	hdr := func(headers map[string]any) string { return sign(t, key, jose.ES256, valid, headers) }

	stranger := newP256(t, key.KeyID) // another key claiming Gatehouse's kid
	pubJSON, _ := key.Public().MarshalJSON()
	ecPub := key.Key.(*ecdsa.PrivateKey).PublicKey
	pubBytes, _ := ecPub.Bytes()
	validTok := es(nil)
	parts := strings.Split(validTok, ".")
	otherPayload := strings.Split(es(map[string]any{"sub": "usr_mallory"}), ".")[1]
	jsonSerialized := func() string {
		signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key},
			(&jose.SignerOptions{}).WithType("at+jwt"))
		p, _ := json.Marshal(valid)
		obj, _ := signer.Sign(p)
		return obj.FullSerialize()
	}()

	tests := []struct {
		name    string
		token   string
		wantErr error // nil: accepted
	}{
		{"valid", validTok, nil},
		{"aud array containing the resource", es(map[string]any{"aud": []string{"https://other.example", testResource}}), nil},
		{"typ application/at+jwt", hdr(map[string]any{"typ": "application/at+jwt"}), nil},
		{"typ in upper case", hdr(map[string]any{"typ": "AT+JWT"}), nil},
		{"expired within the leeway", es(map[string]any{"exp": now.Add(-20 * time.Second).Unix()}), nil},
		{"nbf within the leeway", es(map[string]any{"nbf": now.Add(20 * time.Second).Unix()}), nil},

		{"wrong audience", es(map[string]any{"aud": "http://127.0.0.1:9000/other"}), resource.ErrAudience},
		{"audience with a trailing slash", es(map[string]any{"aud": testResource + "/"}), resource.ErrAudience},
		{"no audience", es(map[string]any{"aud": nil}), resource.ErrAudience},
		{"wrong issuer", es(map[string]any{"iss": "https://evil.example"}), resource.ErrIssuer},
		{"issuer with a trailing slash", es(map[string]any{"iss": g.issuer + "/"}), resource.ErrIssuer},
		{"expired", es(map[string]any{"exp": now.Add(-2 * time.Minute).Unix()}), resource.ErrExpired},
		{"no exp", es(map[string]any{"exp": nil}), resource.ErrMissingClaim},
		{"not yet valid", es(map[string]any{"nbf": now.Add(5 * time.Minute).Unix()}), resource.ErrNotYetValid},
		{"issued in the future", es(map[string]any{"iat": now.Add(5 * time.Minute).Unix()}), resource.ErrNotYetValid},
		{"no iat", es(map[string]any{"iat": nil}), resource.ErrMissingClaim},
		{"no sub", es(map[string]any{"sub": nil}), resource.ErrMissingClaim},
		{"no client_id", es(map[string]any{"client_id": nil}), resource.ErrMissingClaim},
		{"no jti", es(map[string]any{"jti": nil}), resource.ErrMissingClaim},
		{"exp as a string", es(map[string]any{"exp": "tomorrow"}), resource.ErrMalformedToken},
		{"scope as an array", es(map[string]any{"scope": []string{"tools:call"}}), resource.ErrMalformedToken},

		{"typ JWT (an ID token, say)", hdr(map[string]any{"typ": "JWT"}), resource.ErrTokenType},
		{"no typ", hdr(map[string]any{"typ": nil}), resource.ErrTokenType},
		{"typ not a string", hdr(map[string]any{"typ": 1}), resource.ErrTokenType},
		{"alg none", unsigned(map[string]any{"alg": "none", "typ": "at+jwt", "kid": key.KeyID}, valid), resource.ErrAlgorithm},
		{"HS256 keyed with the public JWK", sign(t, jose.JSONWebKey{Key: pubJSON, KeyID: key.KeyID}, jose.HS256, valid, nil), resource.ErrAlgorithm},
		{"HS256 keyed with the public key bytes", sign(t, jose.JSONWebKey{Key: pubBytes, KeyID: key.KeyID}, jose.HS256, valid, nil), resource.ErrAlgorithm},
		{"ES384, not accepted", sign(t, newP384(t, key.KeyID), jose.ES384, valid, nil), resource.ErrAlgorithm},
		{"signed by another key with Gatehouse's kid", sign(t, stranger, jose.ES256, valid, nil), resource.ErrSignature},
		{"payload swapped", parts[0] + "." + otherPayload + "." + parts[2], resource.ErrSignature},
		{"signature truncated", validTok[:len(validTok)-4], resource.ErrSignature},
		{"no kid", sign(t, jose.JSONWebKey{Key: key.Key}, jose.ES256, valid, nil), resource.ErrUnknownKey},
		{"JSON serialization", jsonSerialized, resource.ErrMalformedToken},
		{"two parts", parts[0] + "." + parts[1], resource.ErrMalformedToken},
		{"four parts", validTok + ".x", resource.ErrMalformedToken},
		{"not base64", "a$b.c.d", resource.ErrMalformedToken},
		{"empty", "", resource.ErrMalformedToken},
		{"too long", strings.Repeat("a", resource.MaxTokenLength+1), resource.ErrMalformedToken},
		{"crit header", hdr(map[string]any{"crit": []string{"exp"}, "exp": 1}), resource.ErrMalformedToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := v.Verify(context.Background(), tt.token)
			if tt.wantErr == nil {
				if err != nil || c == nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) || c != nil {
				t.Fatalf("Verify = %v, %v; want %v", c, err, tt.wantErr)
			}
			var e *resource.Error
			if !errors.As(err, &e) || e.Code() != resource.CodeInvalidToken || e.Description == "" {
				t.Errorf("error %#v: want an *Error with invalid_token and a description", err)
			}
		})
	}
}

// The JWK's alg and use are enforced: go-jose alone would verify an ES256
// token with a P-256 key published for ES384, or for encryption.
func TestVerifyKeyAlgAndUse(t *testing.T) {
	g := startGatehouse(t)
	clk := newClock()
	labelledES384 := newP256(t, "p256-labelled-es384")
	labelledES384.Algorithm = string(jose.ES384)
	forEnc := newP256(t, "for-enc")
	forEnc.Use = "enc"
	noAlg := newP256(t, "no-alg")
	noAlg.Algorithm, noAlg.Use = "", ""
	p384 := newP384(t, "p384")
	jwks := serveJWKS(t, labelledES384.Public(), forEnc.Public(), noAlg.Public(), p384.Public())
	v := newVerifier(t, g, clk, func(c *resource.Config) {
		c.JWKSURL = jwks.URL
		c.Algorithms = []string{"ES256", "ES384"}
	})
	claims := g.validClaims(clk.Now())
	for _, tt := range []struct {
		key     jose.JSONWebKey
		alg     jose.SignatureAlgorithm
		wantErr error
	}{
		{labelledES384, jose.ES256, resource.ErrUnknownKey},
		{forEnc, jose.ES256, resource.ErrUnknownKey},
		{noAlg, jose.ES256, nil},
		{p384, jose.ES384, nil},
	} {
		_, err := v.Verify(context.Background(), sign(t, tt.key, tt.alg, claims, nil))
		if (tt.wantErr == nil) != (err == nil) || !errors.Is(err, tt.wantErr) {
			t.Errorf("kid %s: err = %v, want %v", tt.key.KeyID, err, tt.wantErr)
		}
	}
	if jwks.requests.Load() != 1 {
		t.Errorf("%d JWKS fetches, want 1", jwks.requests.Load())
	}
}
