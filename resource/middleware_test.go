package resource_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/modelcontextprotocol/go-sdk/oauthex"

	"github.com/gatehouse-dev/gatehouse/resource"
)

const testMetadataURL = "http://127.0.0.1:9000/.well-known/oauth-protected-resource/mcp"

// protected serves handler behind v.Middleware(required...) on a real
// listener; the handler reports the claims it was given.
func protected(t *testing.T, v *resource.Verifier, required ...string) *httptest.Server {
	t.Helper()
	h := v.Middleware(required...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := resource.ClaimsFrom(r.Context())
		if !ok {
			http.Error(w, "no claims", http.StatusInternalServerError)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"sub": c.Subject, "client_id": c.ClientID, "scopes": c.Scopes})
	}))
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s
}

type response struct {
	status    int
	challenge string
	params    map[string]string // the Bearer challenge, parsed by the MCP Go SDK
	body      map[string]any
	header    http.Header
}

// call sends one request with the given Authorization header values.
func call(t *testing.T, url string, auth ...string) response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader("{}"))
	for _, a := range auth {
		req.Header.Add("Authorization", a)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := response{status: resp.StatusCode, challenge: resp.Header.Get("WWW-Authenticate"), header: resp.Header}
	json.NewDecoder(resp.Body).Decode(&r.body)
	if r.challenge != "" {
		// Parse it the way an MCP client does.
		chs, err := oauthex.ParseWWWAuthenticate(resp.Header.Values("WWW-Authenticate"))
		if err != nil || len(chs) != 1 || chs[0].Scheme != "bearer" {
			t.Fatalf("challenge %q: %v %+v", r.challenge, err, chs)
		}
		r.params = chs[0].Params
	}
	return r
}

func TestMiddleware(t *testing.T) {
	g := startGatehouse(t)
	clk := newClock()
	v := newVerifier(t, g, clk)
	srv := protected(t, v, "tools:call")
	good := g.token(t, testResource, "tools:call", "admin")

	t.Run("valid token", func(t *testing.T) {
		r := call(t, srv.URL, "Bearer "+good)
		if r.status != 200 || r.body["sub"] != svcClient || r.body["client_id"] != svcClient {
			t.Fatalf("%d %v", r.status, r.body)
		}
		if scopes, _ := r.body["scopes"].([]any); len(scopes) != 2 {
			t.Errorf("scopes %v", r.body["scopes"])
		}
	})
	t.Run("no token", func(t *testing.T) {
		r := call(t, srv.URL)
		want := `Bearer scope="tools:call", resource_metadata="` + testMetadataURL + `"`
		if r.status != 401 || r.challenge != want {
			t.Fatalf("%d %q, want 401 %q", r.status, r.challenge, want)
		}
		if _, ok := r.params["error"]; ok {
			t.Error("RFC 6750 §3.1: no error code when no token was presented")
		}
		if r.header.Get("Cache-Control") != "no-store" || r.header.Get("Content-Type") != "application/json" {
			t.Errorf("headers %v", r.header)
		}
	})
	t.Run("insufficient scope", func(t *testing.T) {
		adminOnly := protected(t, v, "tools:call", "admin")
		r := call(t, adminOnly.URL, "Bearer "+g.token(t, testResource, "tools:call"))
		want := `Bearer error="insufficient_scope", error_description="the token lacks the scope admin", scope="tools:call admin", resource_metadata="` + testMetadataURL + `"`
		if r.status != 403 || r.challenge != want {
			t.Fatalf("%d %q, want 403 %q", r.status, r.challenge, want)
		}
		if r.body["error"] != "insufficient_scope" {
			t.Errorf("body %v", r.body)
		}
	})
	t.Run("expired token", func(t *testing.T) {
		clk.Advance(11 * time.Minute)
		defer clk.Advance(-11 * time.Minute)
		r := call(t, srv.URL, "Bearer "+good)
		if r.status != 401 || r.params["error"] != "invalid_token" || r.params["error_description"] != "the token expired" ||
			r.params["resource_metadata"] != testMetadataURL || r.params["scope"] != "tools:call" {
			t.Fatalf("%d %q", r.status, r.challenge)
		}
	})
	t.Run("wrong audience", func(t *testing.T) {
		tok := sign(t, g.signingKey(t), jose.ES256, func() map[string]any {
			c := g.validClaims(clk.Now())
			c["aud"] = "https://elsewhere.example/mcp"
			return c
		}(), nil)
		r := call(t, srv.URL, "Bearer "+tok)
		if r.status != 401 || r.params["error_description"] != "the token's audience does not include "+testResource {
			t.Fatalf("%d %q", r.status, r.challenge)
		}
	})
}

// Authorization header formats (RFC 6750 §2.1, RFC 9110 §11).
func TestAuthorizationHeaderFormats(t *testing.T) {
	g := startGatehouse(t)
	v := newVerifier(t, g, newClock())
	srv := protected(t, v)
	tok := g.token(t, testResource)
	tests := []struct {
		name   string
		auth   []string
		query  string
		status int
		code   string // the challenge's error, "" for none
	}{
		{"Bearer", []string{"Bearer " + tok}, "", 200, ""},
		{"bearer in lower case", []string{"bearer " + tok}, "", 200, ""},
		{"BEARER in upper case", []string{"BEARER " + tok}, "", 200, ""},
		{"extra spaces", []string{"Bearer    " + tok}, "", 200, ""},
		{"surrounding whitespace", []string{"  Bearer " + tok + "  "}, "", 200, ""},
		{"no header", nil, "", 401, ""},
		{"Basic", []string{"Basic c3ZjOnNlY3JldA=="}, "", 401, ""},
		{"DPoP scheme", []string{"DPoP " + tok}, "", 401, ""},
		{"no separator", []string{"Bearer" + tok}, "", 401, ""},
		{"tab separator", []string{"Bearer\t" + tok}, "", 401, ""},
		{"scheme only", []string{"Bearer"}, "", 401, "invalid_token"},
		{"scheme and spaces", []string{"Bearer    "}, "", 401, "invalid_token"},
		{"two tokens", []string{"Bearer " + tok + " " + tok}, "", 401, "invalid_token"},
		{"not a b64token", []string{"Bearer " + tok[:20] + "\"" + tok[21:]}, "", 401, "invalid_token"},
		{"garbage token", []string{"Bearer abc"}, "", 401, "invalid_token"},
		{"two headers", []string{"Bearer " + tok, "Bearer " + tok}, "", 400, "invalid_request"},
		{"header and query", []string{"Bearer " + tok}, "?access_token=" + tok, 400, "invalid_request"},
		{"query only", nil, "?access_token=" + tok, 401, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := call(t, srv.URL+tt.query, tt.auth...)
			if r.status != tt.status || r.params["error"] != tt.code {
				t.Fatalf("%d %q, want %d with error %q", r.status, r.challenge, tt.status, tt.code)
			}
			if tt.status != 200 && r.params["resource_metadata"] != testMetadataURL {
				t.Errorf("challenge %q lacks resource_metadata", r.challenge)
			}
		})
	}
}

// When the keys cannot be fetched, the answer is 503 with Retry-After and
// no challenge: re-authorizing would not help the client.
func TestMiddlewareKeysUnavailable(t *testing.T) {
	g := startGatehouse(t)
	tok := g.token(t, testResource)
	g.failJWKS.Store(true)
	srv := protected(t, newVerifier(t, g, newClock()))
	r := call(t, srv.URL, "Bearer "+tok)
	if r.status != 503 || r.challenge != "" || r.header.Get("Retry-After") != "5" || r.body["error"] != "temporarily_unavailable" {
		t.Fatalf("%d %q %v %v", r.status, r.challenge, r.header, r.body)
	}
}

func TestChallengeQuoting(t *testing.T) {
	e := &resource.Error{Reason: resource.ErrMalformedToken, Description: "bad \"quote\" \\ back\r\nslash é"}
	got := resource.Challenge(e, []string{"a", "b"}, `http://x/"y"`)
	want := `Bearer error="invalid_token", error_description="bad 'quote' / back??slash ??", scope="a b", resource_metadata="http://x/\"y\""`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	chs, err := oauthex.ParseWWWAuthenticate([]string{got})
	if err != nil || chs[0].Params["resource_metadata"] != `http://x/"y"` {
		t.Fatalf("%v %+v", err, chs)
	}
}

func TestMiddlewarePanicsOnBadScope(t *testing.T) {
	v, err := resource.New(resource.Config{Resource: testResource, Issuer: "http://127.0.0.1:8080"})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if recover() == nil {
			t.Error("a required scope with a space did not panic")
		}
	}()
	v.Middleware("tools call")
}
