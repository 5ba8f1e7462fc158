package cimd

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/policy"
)

const vid = "https://client.example/oauth/client.json"

// docWith builds a document from a valid base, setting (or, with a nil
// value, deleting) members.
func docWith(set map[string]any) string {
	base := map[string]any{
		"client_id":     vid,
		"client_name":   "Test Client",
		"redirect_uris": []string{"http://localhost/callback", "https://client.example/cb"},
	}
	for k, v := range set {
		if v == nil {
			delete(base, k)
			continue
		}
		base[k] = v
	}
	b, _ := json.Marshal(base)
	return string(b)
}

func testJWK(t testing.TB, private bool, mutate func(map[string]any)) map[string]any {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	jwk := jose.JSONWebKey{Key: &key.PublicKey, KeyID: "k1", Algorithm: "ES256", Use: "sig"}
	if private {
		jwk.Key = key
	}
	b, err := jwk.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	if mutate != nil {
		mutate(m)
	}
	return m
}

func jwkSet(k ...map[string]any) map[string]any { return map[string]any{"keys": k} }

func TestDocumentRules(t *testing.T) {
	pub := testJWK(t, false, nil)
	priv := testJWK(t, true, nil)
	x25519 := map[string]any{"kty": "OKP", "crv": "X25519", "x": "hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo", "kid": "x"}
	oct := map[string]any{"kty": "oct", "k": "c2VjcmV0", "kid": "s"}
	enc := testJWK(t, false, func(m map[string]any) { m["use"] = "enc" })
	pkjwt := map[string]any{"token_endpoint_auth_method": "private_key_jwt", "jwks": jwkSet(pub)}
	merge := func(ms ...map[string]any) map[string]any {
		out := map[string]any{}
		for _, m := range ms {
			for k, v := range m {
				out[k] = v
			}
		}
		return out
	}
	tests := []struct {
		name     string
		body     string
		fail     string   // failing rule, "" when accepted
		narrowed []string // rules narrowed, in order
	}{
		{name: "minimal valid", body: docWith(nil), narrowed: []string{"auth-method", "grant-types"}},
		{name: "explicit none", body: docWith(map[string]any{"token_endpoint_auth_method": "none",
			"grant_types": []string{"authorization_code"}})},

		// client_id (CIMD -02 §4.1).
		{name: "client_id missing", body: docWith(map[string]any{"client_id": nil}), fail: "client-id"},
		{name: "client_id not a string", body: docWith(map[string]any{"client_id": 42}), fail: "client-id"},
		{name: "client_id other path", body: docWith(map[string]any{"client_id": "https://client.example/other.json"}), fail: "client-id"},
		{name: "client_id trailing slash", body: docWith(map[string]any{"client_id": vid + "/"}), fail: "client-id"},
		{name: "client_id other case", body: docWith(map[string]any{"client_id": strings.ToUpper(vid)}), fail: "client-id"},
		{name: "client_id explicit port", body: docWith(map[string]any{"client_id": "https://client.example:443/oauth/client.json"}), fail: "client-id"},
		{name: "case-folded twin is not the client_id", body: docWith(map[string]any{"CLIENT_ID": "https://evil.example/x"}),
			narrowed: []string{"auth-method", "grant-types", "ignored-fields"}},

		// Forbidden content.
		{name: "client_secret", body: docWith(map[string]any{"client_secret": "s3cret"}), fail: "no-client-secret"},
		{name: "client_secret_expires_at", body: docWith(map[string]any{"client_secret_expires_at": 0}), fail: "no-client-secret"},
		{name: "client_secret_basic", body: docWith(map[string]any{"token_endpoint_auth_method": "client_secret_basic"}), fail: "auth-method"},
		{name: "client_secret_post", body: docWith(map[string]any{"token_endpoint_auth_method": "client_secret_post"}), fail: "auth-method"},
		{name: "client_secret_jwt", body: docWith(map[string]any{"token_endpoint_auth_method": "client_secret_jwt"}), fail: "auth-method"},
		{name: "tls_client_auth unsupported", body: docWith(map[string]any{"token_endpoint_auth_method": "tls_client_auth"}), fail: "auth-method"},
		{name: "auth method not a string", body: docWith(map[string]any{"token_endpoint_auth_method": true}), fail: "auth-method"},
		{name: "private key in jwks", body: docWith(map[string]any{"jwks": jwkSet(priv)}), fail: "jwks"},
		{name: "symmetric key in jwks", body: docWith(map[string]any{"jwks": jwkSet(pub, oct)}), fail: "jwks"},
		{name: "HS256 key alg", body: docWith(map[string]any{"jwks": jwkSet(testJWK(t, false, func(m map[string]any) { m["alg"] = "HS256" }))}), fail: "jwks"},

		// client_name (MCP).
		{name: "client_name missing", body: docWith(map[string]any{"client_name": nil}), fail: "client-name"},
		{name: "client_name blank", body: docWith(map[string]any{"client_name": "  "}), fail: "client-name"},
		{name: "client_name number", body: docWith(map[string]any{"client_name": 7}), fail: "client-name"},
		{name: "client_name bidi override", body: docWith(map[string]any{"client_name": "Safe\u202eelgooG"}), fail: "client-name"},
		{name: "client_name control", body: docWith(map[string]any{"client_name": "A\nB"}), fail: "client-name"},
		{name: "client_name zero width", body: docWith(map[string]any{"client_name": "Cl\u200baude"}), fail: "client-name"},
		{name: "client_name too long", body: docWith(map[string]any{"client_name": strings.Repeat("n", 101)}), fail: "client-name"},
		{name: "client_name unicode", body: docWith(map[string]any{"client_name": "Claude 🤖 クロード"}),
			narrowed: []string{"auth-method", "grant-types"}},

		// Keys (RFC 7591 §2, CIMD -02 §8.2).
		{name: "private_key_jwt with jwks", body: docWith(pkjwt), narrowed: []string{"grant-types"}},
		{name: "private_key_jwt with jwks_uri", body: docWith(map[string]any{
			"token_endpoint_auth_method": "private_key_jwt", "jwks_uri": "https://keys.example/jwks.json"}),
			narrowed: []string{"grant-types"}},
		{name: "private_key_jwt without keys", body: docWith(map[string]any{"token_endpoint_auth_method": "private_key_jwt"}), fail: "jwks"},
		{name: "private_key_jwt with http jwks_uri", body: docWith(map[string]any{
			"token_endpoint_auth_method": "private_key_jwt", "jwks_uri": "http://keys.example/jwks.json"}), fail: "jwks-uri"},
		{name: "public client with bad jwks_uri", body: docWith(map[string]any{"jwks_uri": "javascript:alert(1)"}),
			narrowed: []string{"auth-method", "jwks-uri", "grant-types"}},
		{name: "jwks and jwks_uri", body: docWith(merge(pkjwt, map[string]any{"jwks_uri": "https://keys.example/j"})), fail: "jwks"},
		{name: "unsupported key type skipped", body: docWith(merge(pkjwt, map[string]any{"jwks": jwkSet(x25519, pub)})),
			narrowed: []string{"jwks", "grant-types"}},
		{name: "only an encryption key", body: docWith(merge(pkjwt, map[string]any{"jwks": jwkSet(enc)})), fail: "jwks"},
		{name: "only an unsupported key", body: docWith(merge(pkjwt, map[string]any{"jwks": jwkSet(x25519)})), fail: "jwks"},
		{name: "jwks not a set", body: docWith(merge(pkjwt, map[string]any{"jwks": []any{pub}})), fail: "jwks"},
		{name: "jwks without keys", body: docWith(merge(pkjwt, map[string]any{"jwks": map[string]any{}})), fail: "jwks"},
		{name: "HS256 signing alg", body: docWith(merge(pkjwt, map[string]any{"token_endpoint_auth_signing_alg": "HS256"})), fail: "signing-alg"},
		{name: "ES256 signing alg", body: docWith(merge(pkjwt, map[string]any{"token_endpoint_auth_signing_alg": "ES256"})),
			narrowed: []string{"grant-types"}},
		{name: "unknown signing alg dropped", body: docWith(merge(pkjwt, map[string]any{"token_endpoint_auth_signing_alg": "XS1"})),
			narrowed: []string{"signing-alg", "grant-types"}},

		// Grant and response types: narrow, don't reject (decision §6.2).
		{name: "unsupported grants dropped", body: docWith(map[string]any{"grant_types": []string{
			"authorization_code", "refresh_token", oauth.GrantDeviceCode, oauth.GrantJWTBearer, "implicit", "password", "refresh_token"}}),
			narrowed: []string{"auth-method", "grant-types"}},
		{name: "no usable grant", body: docWith(map[string]any{"grant_types": []string{oauth.GrantDeviceCode}}), fail: "grant-types"},
		{name: "refresh_token alone", body: docWith(map[string]any{"grant_types": []string{"refresh_token"}}), fail: "grant-types"},
		{name: "client_credentials for a public client", body: docWith(map[string]any{"grant_types": []string{"client_credentials"}}), fail: "grant-types"},
		{name: "client_credentials for private_key_jwt, no redirects", body: docWith(merge(pkjwt, map[string]any{
			"grant_types": []string{"client_credentials"}, "redirect_uris": nil}))},
		{name: "grant_types not an array", body: docWith(map[string]any{"grant_types": "authorization_code"}), fail: "grant-types"},
		{name: "response_types narrowed", body: docWith(map[string]any{"response_types": []string{"code", "token", "id_token"}}),
			narrowed: []string{"auth-method", "grant-types", "response-types"}},
		{name: "response_types without code", body: docWith(map[string]any{"response_types": []string{"token"}}), fail: "response-types"},

		// Redirect URIs (decision §6.6).
		{name: "redirect_uris missing", body: docWith(map[string]any{"redirect_uris": nil}), fail: "redirect-uris"},
		{name: "redirect_uris empty", body: docWith(map[string]any{"redirect_uris": []string{}}), fail: "redirect-uris"},
		{name: "redirect_uris a string", body: docWith(map[string]any{"redirect_uris": "https://client.example/cb"}), fail: "redirect-uris"},
		{name: "redirect_uris with a number", body: docWith(map[string]any{"redirect_uris": []any{"https://client.example/cb", 1}}), fail: "redirect-uris"},
		{name: "every redirect off-site", body: docWith(map[string]any{"redirect_uris": []string{"https://evil.example/cb"}}), fail: "redirect-uris"},
		{name: "one redirect off-site dropped", body: docWith(map[string]any{"redirect_uris": []string{
			"https://client.example/cb", "https://evil.example/cb"}}), narrowed: []string{"auth-method", "grant-types", "redirect-uris"}},
		{name: "hostile redirects dropped", body: docWith(map[string]any{"redirect_uris": []string{
			"https://client.example/cb", "javascript:alert(1)", "https://client.example/cb#frag", "http://client.example/cb",
			"data:text/html,x", "https://u@client.example/cb"}}),
			narrowed: []string{"auth-method", "grant-types", "redirect-uris", "redirect-uris", "redirect-uris", "redirect-uris", "redirect-uris"}},
		{name: "duplicate redirects kept once", body: docWith(map[string]any{"redirect_uris": []string{
			"https://client.example/cb", "https://client.example/cb"}}), narrowed: []string{"auth-method", "grant-types"}},

		// Other URL fields: https only, not bound to the site.
		{name: "logo on another host kept", body: docWith(map[string]any{"logo_uri": "https://cdn.example/logo.png",
			"client_uri": "https://client.example", "tos_uri": "https://legal.example/tos", "policy_uri": "https://legal.example/p"}),
			narrowed: []string{"auth-method", "grant-types"}},
		{name: "bad URL fields dropped", body: docWith(map[string]any{"logo_uri": "http://cdn.example/logo.png",
			"client_uri": "javascript:alert(1)", "tos_uri": "data:text/plain,x", "policy_uri": "https://legal.example/p#x"}),
			narrowed: []string{"auth-method", "grant-types", "client-uri", "logo-uri", "tos-uri", "policy-uri"}},
		{name: "logo_uri not a string", body: docWith(map[string]any{"logo_uri": []string{"x"}}),
			narrowed: []string{"auth-method", "grant-types", "logo-uri"}},

		// Everything else.
		{name: "bad scope tokens dropped", body: docWith(map[string]any{"scope": "openid pro\"file mcp:tools"}),
			narrowed: []string{"auth-method", "grant-types", "scope"}},
		{name: "unknown application_type", body: docWith(map[string]any{"application_type": "desktop"}),
			narrowed: []string{"auth-method", "grant-types", "application-type"}},
		{name: "software_statement dropped", body: docWith(map[string]any{"software_statement": "eyJ.x.y"}),
			narrowed: []string{"auth-method", "grant-types", "software-statement"}},
		{name: "unknown fields ignored", body: docWith(map[string]any{"dpop_bound_access_tokens": true, "x": 1}),
			narrowed: []string{"auth-method", "grant-types", "ignored-fields"}},
		{name: "nulls are absent", body: docWith(map[string]any{"logo_uri": "null-marker"}), narrowed: []string{"auth-method", "grant-types"}},

		// JSON.
		{name: "not JSON", body: `client_id=x`, fail: "json"},
		{name: "empty", body: ``, fail: "json"},
		{name: "string", body: `"x"`, fail: "json"},
		{name: "duplicate nested key", body: `{"client_id":"` + vid + `","jwks":{"keys":[],"keys":[]}}`, fail: "json"},
		{name: "duplicate key differing in escape", body: `{"client_id":"` + vid + `","client_\u006eame":"A","client_name":"B"}`, fail: "json"},
		{name: "BOM", body: "\ufeff" + docWith(nil), fail: "json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := strings.Replace(tt.body, `"null-marker"`, "null", 1)
			val, err := ValidateDocument([]byte(body), vid, vid, policy.RedirectSameSite)
			if val == nil {
				t.Fatal("Validation must never be nil")
			}
			if tt.fail != "" {
				var ve *ValidationError
				if !errors.As(err, &ve) || ve.Rule != tt.fail {
					t.Fatalf("err = %v; want rule %q\n%s", err, tt.fail, dumpFindings(val.Findings))
				}
				if val.Client != nil || ve.Detail == "" || ve.Spec == "" {
					t.Fatalf("refused document has a client or an incomplete error: %+v", ve)
				}
				return
			}
			if err != nil {
				t.Fatalf("refused: %v\n%s", err, dumpFindings(val.Findings))
			}
			var got []string
			for _, f := range val.Findings {
				if f.Status == StatusNarrowed {
					got = append(got, f.Rule)
				}
			}
			if !slices.Equal(got, tt.narrowed) {
				t.Fatalf("narrowed %v; want %v\n%s", got, tt.narrowed, dumpFindings(val.Findings))
			}
			assertSafeClient(t, val.Client, policy.RedirectSameSite)
		})
	}
}

// assertSafeClient checks, independently of the validator, what an
// accepted client must never carry.
func assertSafeClient(t *testing.T, c *oauth.Client, mode policy.RedirectMode) {
	t.Helper()
	md := c.Metadata
	if c.ID != vid || c.Kind != oauth.ClientCIMD || len(c.Fingerprint) != 64 {
		t.Fatalf("client identity %+v", c)
	}
	if m := md.TokenEndpointAuthMethod; m != oauth.AuthMethodNone && m != oauth.AuthMethodPrivateKeyJWT {
		t.Fatalf("auth method %q", m)
	}
	for _, g := range md.GrantTypes {
		if !slices.Contains([]string{"authorization_code", "refresh_token", "client_credentials"}, g) {
			t.Fatalf("grant %q kept", g)
		}
		if g == "client_credentials" && md.TokenEndpointAuthMethod != oauth.AuthMethodPrivateKeyJWT {
			t.Fatal("client_credentials kept for a public client")
		}
	}
	for _, r := range md.RedirectURIs {
		if err := policy.CheckRedirectURI(mode, vid, r); err != nil {
			t.Fatalf("kept redirect %q: %v", r, err)
		}
	}
	for _, u := range []string{md.ClientURI, md.LogoURI, md.TOSURI, md.PolicyURI, md.JWKSURI} {
		if u != "" && policy.CheckMetadataURL("x", u) != nil {
			t.Fatalf("kept URL %q", u)
		}
	}
	if md.SoftwareStatement != "" {
		t.Fatal("software_statement kept")
	}
	if len(md.JWKS) > 0 && strings.Contains(string(md.JWKS), `"d"`) {
		t.Fatal("private key material kept")
	}
}

func FuzzValidateDocument(f *testing.F) {
	f.Add([]byte(docWith(nil)))
	f.Add([]byte(docWith(map[string]any{"grant_types": []string{"authorization_code", oauth.GrantDeviceCode},
		"redirect_uris": []string{"ai.claude:/cb", "https://evil.example/x", "http://[::1]/cb"}})))
	f.Add([]byte(docWith(map[string]any{"token_endpoint_auth_method": "private_key_jwt", "jwks_uri": "https://k.example/j"})))
	f.Add([]byte(`{"client_id":"` + vid + `","a":{"b":[[[{"c":1}]]]},"a2":"\ud800"}`))
	f.Add([]byte(`{"client_id":1,"client_id":2}`))
	for _, name := range []string{"claude-code.json", "vscode.json", "mcpjam-2026-06.json", "chatgpt.json"} {
		body, _ := vendorDoc(f, name)
		f.Add(body)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if len(body) > 8192 {
			return // the fetcher caps documents at 5 KiB
		}
		val, err := ValidateDocument(body, vid, vid, policy.RedirectSameSite)
		if val == nil {
			t.Fatal("nil Validation")
		}
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) || val.Client != nil {
				t.Fatalf("bad refusal: %#v", err)
			}
			return
		}
		assertSafeClient(t, val.Client, policy.RedirectSameSite)
	})
}

func FuzzCheckJSONObject(f *testing.F) {
	f.Add([]byte(`{"a":[1,{"b":null}],"c":"\u00e9"}`))
	f.Add([]byte(`{"a":1,"a":2}`))
	f.Add([]byte(`[[[[[[[[[[[[]]]]]]]]]]]]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		if oauth.CheckJSONObject(body) != nil {
			return
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatalf("accepted %q, which encoding/json rejects: %v", body, err)
		}
	})
}
