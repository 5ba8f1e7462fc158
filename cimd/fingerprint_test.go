package cimd

import (
	"testing"

	"github.com/gatehouse-dev/gatehouse/policy"
)

func TestFingerprint(t *testing.T) {
	fp := func(body string) string {
		val, err := ValidateDocument([]byte(body), vid, vid, policy.RedirectSameSite)
		if err != nil {
			t.Fatal(err)
		}
		return val.Client.Fingerprint
	}
	base := fp(docWith(map[string]any{"scope": "a b"}))
	same := []string{
		docWith(map[string]any{"scope": "b a"}),                                  // scope order
		docWith(map[string]any{"scope": "a b", "x_unknown": 1}),                  // unknown field
		docWith(map[string]any{"scope": "a b", "tos_uri": "https://t.example/"}), // not security-relevant
		docWith(map[string]any{"scope": "a b", "redirect_uris": []string{ // redirect order
			"https://client.example/cb", "http://localhost/callback"}}),
	}
	for i, b := range same {
		if got := fp(b); got != base {
			t.Errorf("variant %d changed the fingerprint", i)
		}
	}
	different := []string{
		docWith(map[string]any{"scope": "a b c"}),
		docWith(map[string]any{"scope": "a b", "client_name": "Other"}),
		docWith(map[string]any{"scope": "a b", "logo_uri": "https://cdn.example/l.png"}),
		docWith(map[string]any{"scope": "a b", "redirect_uris": []string{"http://localhost/callback"}}),
		docWith(map[string]any{"scope": "a b", "grant_types": []string{"authorization_code", "refresh_token"}}),
		docWith(map[string]any{"scope": "a b", "jwks_uri": "https://keys.example/j"}),
		docWith(map[string]any{"scope": "a b", "jwks": jwkSet(testJWK(t, false, nil))}),
	}
	seen := map[string]int{base: -1}
	for i, b := range different {
		got := fp(b)
		if j, dup := seen[got]; dup {
			t.Errorf("variant %d has the fingerprint of %d", i, j)
		}
		seen[got] = i
	}
}
