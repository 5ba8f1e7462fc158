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
	"github.com/gatehouse-dev/gatehouse/store/boltstore"
)

// staticClientKeys is a ClientKeySource with one fixed key set.
type staticClientKeys jose.JSONWebKeySet

func (k staticClientKeys) ClientKeysForKID(context.Context, *oauth.Client, string) (jose.JSONWebKeySet, error) {
	return jose.JSONWebKeySet(k), nil
}

// FuzzClientAssertion: whatever the client assertion, an accepted one was
// signed by the client's key, names the client as iss and sub, has a jti,
// an exp at most 5 minutes ahead, and, for a CIMD (or DCR) client, this
// server's issuer as its only aud (audience injection, rfc7523bis).
func FuzzClientAssertion(f *testing.F) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	st, err := boltstore.Open(f.TempDir(), boltstore.Options{Now: func() time.Time { return now }, NoSync: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	const issuer, clientID = "https://as.example", "https://agent.example/client.json"
	s := &Server{now: func() time.Time { return now }, store: st, cfg: Config{Issuer: issuer},
		clientKeys: staticClientKeys{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k", Algorithm: "ES256"}}}}
	signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: "k"}}, nil)
	sign := func(aud any, jti string) string {
		tok, _ := jwt.Signed(signer).Claims(map[string]any{"iss": clientID, "sub": clientID, "aud": aud, "jti": jti,
			"iat": now.Unix(), "exp": now.Add(time.Minute).Unix()}).Serialize()
		return tok
	}
	for i, seed := range []string{
		sign(issuer, "good"), sign([]string{issuer}, "one-element"), sign(issuer+"/token", "token-endpoint"),
		sign([]string{issuer, "https://evil.example"}, "shared"), sign([]string{"https://evil.example", issuer}, "shared-2"),
		"", "a.b.c", "eyJhbGciOiJub25lIn0.e30.",
	} {
		f.Add(seed, i%2 == 0)
	}
	cimdClient := &oauth.Client{ID: clientID, Kind: oauth.ClientCIMD}
	dcrClient := &oauth.Client{ID: clientID, Kind: oauth.ClientDCR}
	if err := s.verifyClientAssertion(context.Background(), cimdClient, sign(issuer, "sanity"), tokenPath); err != nil {
		f.Fatalf("a valid assertion is refused: %v", err) // else the target would check nothing
	}
	f.Fuzz(func(t *testing.T, raw string, cimd bool) {
		client := dcrClient
		if cimd {
			client = cimdClient
		}
		if err := s.verifyClientAssertion(context.Background(), client, raw, tokenPath); err != nil {
			return
		}
		tok, err := jwt.ParseSigned(raw, assertionAlgorithms)
		if err != nil {
			t.Fatalf("accepted an assertion that does not parse: %v", err)
		}
		var c jwt.Claims
		if err := tok.Claims(&key.PublicKey, &c); err != nil {
			t.Fatalf("accepted an assertion the client's key did not sign: %v", err)
		}
		if c.Issuer != clientID || c.Subject != clientID || c.ID == "" || c.Expiry == nil ||
			c.Expiry.Time().After(now.Add(maxAssertionLifetime+assertionLeeway)) || len(c.Audience) != 1 || c.Audience[0] != issuer {
			t.Fatalf("accepted an assertion breaking a rule: %+v", c)
		}
	})
}
