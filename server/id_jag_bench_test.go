package server

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/gatehouse-dev/gatehouse/oauth"
)

// BenchmarkIDJAGVerify measures the ID-JAG checks before the store: parse,
// typ, issuer lookup, key selection, ES256 signature, claim rules.
func BenchmarkIDJAGVerify(b *testing.B) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s := &Server{now: func() time.Time { return now },
		cfg:        Config{Issuer: "https://as.example", IdentityAssertions: []AssertionIssuer{{Issuer: "https://idp.example", JWKSURI: "https://idp.example/keys", Provider: "corp"}}},
		issuerKeys: staticIssuerKeys{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k", Algorithm: "ES256"}}}}
	signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: "k"}}, (&jose.SignerOptions{}).WithType(IDJAGType))
	raw, _ := jwt.Signed(signer).Claims(map[string]any{"iss": "https://idp.example", "sub": "s", "aud": "https://as.example",
		"client_id": "c", "jti": "j", "iat": now.Unix(), "exp": now.Add(time.Minute).Unix(), "scope": "files:read"}).Serialize()
	client := &oauth.Client{ID: "c"}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := s.verifyIDJAG(context.Background(), client, raw); err != nil {
			b.Fatal(err)
		}
	}
}
