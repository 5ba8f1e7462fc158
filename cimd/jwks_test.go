package cimd

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/policy"
	"github.com/go-jose/go-jose/v4"
)

func TestParsePublicJWKSKeyByKey(t *testing.T) {
	pub := testJWK(t, false, nil)
	rsaLike := map[string]any{"kty": "RSA", "n": "AQAB", "e": "AQAB", "kid": "short"} // malformed but public
	unknown := map[string]any{"kty": "PQC-9000", "kid": "future"}
	raw, _ := json.Marshal(jwkSet(unknown, pub, rsaLike))
	ks, err := policy.ParseClientKeySet(raw)
	if err != nil {
		t.Fatal(err)
	}
	if len(ks.Keys) != 1 || ks.Keys[0].KeyID != "k1" || len(ks.Skipped) != 2 {
		t.Fatalf("keys %d, skipped %v", len(ks.Keys), ks.Skipped)
	}
	// go-jose alone fails the whole set on the unknown key type.
	var set jose.JSONWebKeySet
	if json.Unmarshal(raw, &set) == nil {
		t.Fatal("go-jose parsed a set with an unsupported key: the key-by-key parser may no longer be needed")
	}
	for _, member := range []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k", "priv"} {
		k := testJWK(t, false, func(m map[string]any) { m[member] = "AQAB" })
		raw, _ := json.Marshal(jwkSet(k))
		if _, err := policy.ParseClientKeySet(raw); err == nil || !strings.Contains(err.Error(), "private or symmetric") {
			t.Errorf("member %q: err = %v", member, err)
		}
	}
	many := make([]map[string]any, policy.MaxClientKeys+1)
	for i := range many {
		many[i] = pub
	}
	raw, _ = json.Marshal(jwkSet(many...))
	if _, err := policy.ParseClientKeySet(raw); err == nil {
		t.Error("an oversized set was accepted")
	}
}
