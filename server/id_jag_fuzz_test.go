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

type staticIssuerKeys jose.JSONWebKeySet

func (k staticIssuerKeys) KeySetForKID(context.Context, string, string) (jose.JSONWebKeySet, error) {
	return jose.JSONWebKeySet(k), nil
}

// FuzzIDJAGParser feeds arbitrary assertions to the ID-JAG verifier: it
// must never panic, and anything it accepts must satisfy every rule.
func FuzzIDJAGParser(f *testing.F) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s := &Server{now: func() time.Time { return now },
		cfg:        Config{Issuer: "https://as.example", IdentityAssertions: []AssertionIssuer{{Issuer: "https://idp.example", JWKSURI: "https://idp.example/keys", Provider: "corp"}}},
		issuerKeys: staticIssuerKeys{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k", Algorithm: "ES256"}}}}
	signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: "k"}}, (&jose.SignerOptions{}).WithType(IDJAGType))
	good, _ := jwt.Signed(signer).Claims(map[string]any{"iss": "https://idp.example", "sub": "s", "aud": "https://as.example",
		"client_id": "c", "jti": "j", "iat": now.Unix(), "exp": now.Add(time.Minute).Unix(), "resource": []string{"https://r.example"}}).Serialize()
	shared, _ := jwt.Signed(signer).Claims(map[string]any{"iss": "https://idp.example", "sub": "s", "aud": []string{"https://as.example", "https://other.example"},
		"client_id": "c", "jti": "j", "iat": now.Unix(), "exp": now.Add(time.Minute).Unix(), "resource": []string{"https://r.example"}}).Serialize()
	for _, seed := range []string{good, shared, "", "a.b.c", "eyJhbGciOiJub25lIn0.e30.", good + "x", good[:len(good)/2]} {
		f.Add(seed)
	}
	client := &oauth.Client{ID: "c"}
	f.Fuzz(func(t *testing.T, raw string) {
		claims, iss, err := s.verifyIDJAG(context.Background(), client, raw)
		if err != nil {
			return
		}
		if iss == nil || claims.ClientID != "c" || claims.Subject == "" || claims.ID == "" || claims.Expiry == nil || claims.IssuedAt == nil ||
			len(claims.Audience) != 1 || claims.Audience[0] != "https://as.example" {
			t.Fatalf("accepted an assertion breaking a rule: %+v", claims)
		}
	})
}
