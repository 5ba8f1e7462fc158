package resource_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"
	"github.com/modelcontextprotocol/go-sdk/oauthex"

	"github.com/gatehouse-dev/gatehouse/resource"
)

var reasons = []error{resource.ErrNoToken, resource.ErrInvalidRequest, resource.ErrMalformedToken, resource.ErrAlgorithm,
	resource.ErrTokenType, resource.ErrUnknownKey, resource.ErrSignature, resource.ErrIssuer, resource.ErrAudience,
	resource.ErrExpired, resource.ErrNotYetValid, resource.ErrMissingClaim, resource.ErrInsufficientScope, resource.ErrKeysUnavailable,
	resource.ErrInactive, resource.ErrIntrospectionUnavailable}

func knownReason(err error) bool {
	var e *resource.Error
	if !errors.As(err, &e) {
		return false
	}
	for _, r := range reasons {
		if e.Reason == r {
			return true
		}
	}
	return false
}

func TestBearerTokenUntrimmed(t *testing.T) {
	// Header values reach the parser as sent (HTTP/2, or a proxy): it
	// trims surrounding whitespace itself.
	for auth, want := range map[string]string{
		" Bearer abc ": "abc", "\tbearer   abc=\t": "abc=", "Bearer a.b-c_d~e+f/g==": "a.b-c_d~e+f/g==",
	} {
		r := &http.Request{Header: http.Header{"Authorization": {auth}}, URL: &url.URL{}}
		if got, err := resource.BearerToken(r); got != want || err != nil {
			t.Errorf("%q: %q, %v; want %q", auth, got, err, want)
		}
	}
	for _, auth := range []string{"Bearer ab=c", "Bearer =", "Bearer a\tb", "Bearer é"} {
		r := &http.Request{Header: http.Header{"Authorization": {auth}}, URL: &url.URL{}}
		if _, err := resource.BearerToken(r); !errors.Is(err, resource.ErrMalformedToken) {
			t.Errorf("%q: err = %v, want ErrMalformedToken", auth, err)
		}
	}
}

// FuzzBearerToken: any Authorization header and query is either a
// b64token found in the header, or a known refusal whose challenge is a
// well-formed header that the MCP Go SDK parses.
func FuzzBearerToken(f *testing.F) {
	for _, s := range []string{"Bearer abc", "bearer  a.b.c", "Basic dXNlcg==", "Bearer", "", "Bearer a b", "Bearer \"x\"", "BEARER x==="} {
		f.Add(s, "")
	}
	f.Add("Bearer abc", "access_token=abc")
	f.Add("", "access_token=%zz&access_token")
	f.Fuzz(func(t *testing.T, auth, query string) {
		r := &http.Request{Header: http.Header{}, URL: &url.URL{RawQuery: query}}
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		tok, err := resource.BearerToken(r)
		if err == nil {
			if tok == "" || len(tok) > resource.MaxTokenLength || !strings.Contains(auth, tok) || strings.ContainsAny(tok, " \t\"\\,") {
				t.Fatalf("%q gave token %q", auth, tok)
			}
			return
		}
		if !knownReason(err) {
			t.Fatalf("%q: unexpected error %v", auth, err)
		}
		checkChallenge(t, err.(*resource.Error), []string{"mcp:tools"})
	})
}

// FuzzChallenge: whatever a description holds, the challenge is one line,
// parses, and carries a description limited to RFC 6750 §3's characters.
func FuzzChallenge(f *testing.F) {
	f.Add("the token expired")
	f.Add("a \"quoted\", \\escaped\r\n description, with=commas")
	f.Add("\x00\x7fé")
	f.Fuzz(func(t *testing.T, desc string) {
		e := &resource.Error{Reason: resource.ErrSignature, Description: desc}
		params := checkChallenge(t, e, []string{"a", "b:c"})
		got := params["error_description"]
		if desc != "" && len(got) != len(desc) {
			t.Fatalf("description %q became %q", desc, got)
		}
		for i := 0; i < len(got); i++ {
			if c := got[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
				t.Fatalf("description %q has %q", got, c)
			}
		}
	})
}

func checkChallenge(t *testing.T, e *resource.Error, scopes []string) map[string]string {
	t.Helper()
	const meta = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"
	h := resource.Challenge(e, scopes, meta)
	if strings.ContainsAny(h, "\r\n\x00") {
		t.Fatalf("challenge %q has control characters", h)
	}
	chs, err := oauthex.ParseWWWAuthenticate([]string{h})
	if err != nil || len(chs) != 1 || chs[0].Scheme != "bearer" {
		t.Fatalf("challenge %q does not parse: %v %+v", h, err, chs)
	}
	p := chs[0].Params
	if p["resource_metadata"] != meta || p["scope"] != strings.Join(scopes, " ") || p["error"] != e.Code() {
		t.Fatalf("challenge %q parsed as %v", h, p)
	}
	return p
}

// FuzzVerify: no input panics or is accepted, except the seeded token
// (base64 decoding tolerates some re-spellings of it, which still carry
// exactly its claims).
func FuzzVerify(f *testing.F) {
	clk := newClock()
	key := newP256(f, "k1")
	jwks := serveJWKS(f, key.Public())
	v, err := resource.New(resource.Config{Resource: testResource, Issuer: "http://127.0.0.1:8080", JWKSURL: jwks.URL, Now: clk.Now})
	if err != nil {
		f.Fatal(err)
	}
	claims := map[string]any{"iss": "http://127.0.0.1:8080", "sub": "usr_alice", "aud": []string{testResource}, "client_id": "app",
		"scope": "tools:call", "jti": "jti-1", "iat": clk.Now().Unix(), "exp": clk.Now().Unix() + 600}
	valid := sign(f, key, jose.ES256, claims, nil)
	f.Add(valid)
	f.Add(sign(f, key, jose.ES256, claims, map[string]any{"typ": "JWT"}))
	f.Add(sign(f, newP256(f, "k2"), jose.ES256, claims, nil))
	f.Add(unsigned(map[string]any{"alg": "none", "typ": "at+jwt", "kid": "k1"}, claims))
	f.Add("eyJhbGciOiJFUzI1NiJ9..")
	f.Add("{\"payload\":\"e30\",\"signatures\":[]}")
	f.Fuzz(func(t *testing.T, token string) {
		c, err := v.Verify(context.Background(), token)
		if err != nil {
			if c != nil || !knownReason(err) {
				t.Fatalf("Verify(%q) = %v, %v", token, c, err)
			}
			return
		}
		if c.ID != "jti-1" || c.Subject != "usr_alice" || c.Issuer != "http://127.0.0.1:8080" {
			t.Fatalf("accepted %q with claims %+v", token, c)
		}
	})
}
