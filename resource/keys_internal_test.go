package resource

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-jose/go-jose/v4"
)

// A request whose first look misses while another request's fetch lands
// (so that its own fetch is refused by the rate limit) still finds the key.
// Found by BenchmarkMiddleware on a cold cache.
func TestLookupAfterAConcurrentFetch(t *testing.T) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &priv.PublicKey, KeyID: "k1", Algorithm: "ES256", Use: "sig"}}})
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body) }))
	defer jwks.Close()
	cfg := Config{Resource: "https://mcp.example.com/mcp", Issuer: "https://auth.example.com", JWKSURL: jwks.URL}.withDefaults()
	kc := newKeyCache(&cfg)

	testHookLookupMiss = func() {
		testHookLookupMiss = nil
		if err := kc.refresh(context.Background()); err != nil { // the other request's fetch
			t.Error(err)
		}
	}
	defer func() { testHookLookupMiss = nil }()
	keys, err := kc.lookup(context.Background(), "k1")
	if err != nil || len(keys) != 1 {
		t.Fatalf("lookup = %v, %v", keys, err)
	}
	if n := kc.fetches.Load(); n != 1 {
		t.Errorf("%d fetches, want 1", n)
	}
}
