package server

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/policy"
)

// FuzzSafeReturnTo: whatever the input, the result is empty or a path on
// this server under the issuer path, never another origin.
func FuzzSafeReturnTo(f *testing.F) {
	for _, seed := range []string{"/t/authorize?x=1", "//evil", "/t/\\evil", "https://evil/", "/t/%2f%2fevil", "/t/../..//x", "\x00", "/t/\r\nX: y"} {
		f.Add(seed)
	}
	s := &Server{base: "/t"}
	f.Fuzz(func(t *testing.T, raw string) {
		got := s.safeReturnTo(raw)
		if got == "" {
			return
		}
		if got != raw || !strings.HasPrefix(got, "/t/") || strings.HasPrefix(got, "//") || strings.ContainsAny(got, "\\\r\n") {
			t.Fatalf("safeReturnTo(%q) = %q", raw, got)
		}
		u, err := url.Parse(got)
		if err != nil || u.Host != "" || u.Scheme != "" {
			t.Fatalf("safeReturnTo(%q) = %q resolves off-site", raw, got)
		}
		if abs := mustURL("https://auth.example/").ResolveReference(u); abs.Host != "auth.example" {
			t.Fatalf("%q resolves to host %q", got, abs.Host)
		}
	})
}

// FuzzNormalizeUsername: accepted names are canonical (normalising again
// changes nothing) and use only the allowed characters.
func FuzzNormalizeUsername(f *testing.F) {
	for _, seed := range []string{"alice", "Alice", "a.b@c", "-x", "ǅ", "İstanbul", "K", strings.Repeat("a", 65)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, name string) {
		n, err := NormalizeUsername(name)
		if err != nil {
			return
		}
		again, err := NormalizeUsername(n)
		if err != nil || again != n {
			t.Fatalf("not idempotent: %q -> %q -> %q (%v)", name, n, again, err)
		}
		if strings.Trim(n, "abcdefghijklmnopqrstuvwxyz0123456789._@+-") != "" || len(n) > MaxUsernameLen {
			t.Fatalf("%q normalised to disallowed %q", name, n)
		}
	})
}

// FuzzDecodeHash: a corrupted stored hash is an error, never a panic or an
// unbounded allocation.
func FuzzDecodeHash(f *testing.F) {
	h := NewPasswordHasher(cheapPasswords)
	good, _ := h.Hash("password")
	f.Add(good)
	f.Add("$argon2id$v=19$m=4294967295,t=1,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA")
	f.Add("$argon2id$v=19$m=64,t=0,p=0$$")
	f.Fuzz(func(t *testing.T, encoded string) {
		p, _, _, err := decodeHash(encoded)
		if err == nil && (p.MemoryKiB > 4<<20 || p.Time == 0 || p.Threads == 0) {
			t.Fatalf("accepted out-of-range parameters %+v", p)
		}
	})
}

// FuzzParseBasic: Basic credentials parse or fail, never panic, and what
// parses round-trips through the encoding x/oauth2 uses.
func FuzzParseBasic(f *testing.F) {
	f.Add("Basic " + "cHVibGljLWFwcDo=")
	f.Add("basic Zm9vOmJhcg==")
	f.Add("Basic aHR0cHMlM0ElMkYlMkZhLmV4YW1wbGUlMkZjOg==")
	f.Add("Bearer x")
	f.Fuzz(func(t *testing.T, h string) {
		id, secret, err := parseBasic(h)
		if err != nil {
			return
		}
		if strings.ContainsRune(url.QueryEscape(id), ':') {
			t.Fatalf("escaped id %q contains a colon", id)
		}
		_ = secret
	})
}

// FuzzCheckResourceURI: an accepted resource indicator is absolute, has no
// fragment, query, userinfo or dot segment, and its normal form is itself
// accepted, unchanged, and names the same resource.
func FuzzCheckResourceURI(f *testing.F) {
	for _, s := range []string{"https://mcp.example.com/mcp", "https://a/b/../c", "https://a/%2e%2e/c", "http://127.0.0.1:1/x", "https://a#b",
		"HTTPS://MCP.example.com:443", "https://a/%2E%2e/c", "https://a/%6dcp"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		key, err := checkResourceURI(raw)
		if err != nil {
			return
		}
		u, err := url.Parse(raw)
		if err != nil || !u.IsAbs() || u.Fragment != "" || u.RawQuery != "" || u.User != nil || strings.Contains(raw, "/../") {
			t.Fatalf("accepted %q", raw)
		}
		if again, err := checkResourceURI(key); err != nil || again != key || !oauth.SameResource(raw, key) {
			t.Fatalf("normal form %q of %q: %q, %v", key, raw, again, err)
		}
	})
}

// FuzzAuthorizeRequest: whatever the parameters, the request either fails
// with a page (no redirect), fails with a redirect to a registered URI, or
// validates with PKCE S256 and a registered redirect URI. extra is a query
// string whose parameters are added (repeats, request objects, anything);
// a request carrying a request object or request_uri is never accepted.
func FuzzAuthorizeRequest(f *testing.F) {
	ok := strings.Repeat("a", 43)
	f.Add("public-app", "http://127.0.0.1/callback", "code", "S256", ok, "https://mcp.example.com/mcp", "files:read", "", "")
	f.Add("public-app", "http://127.0.0.1:9/callback", "token", "plain", "x", "https://evil/", "admin", "none", "")
	f.Add("public-app", "http://evil@127.0.0.1/callback", "code", "S256", "", "", "", "login", "")
	f.Add("public-app", "http://127.0.0.1/callback", "code", "S256", ok, "https://mcp.example.com/mcp", "files:read", "", "request=eyJhbGciOiJub25lIn0.e30.")
	f.Add("public-app", "http://127.0.0.1/callback", "code", "S256", ok, "https://mcp.example.com/mcp", "files:read", "", "request_uri=urn%3Ax&state=a")
	f.Add("public-app", "http://127.0.0.1/callback", "code", "S256", ok, "https://mcp.example.com/mcp", "files:read", "", "request")
	f.Add("public-app", "http://127.0.0.1/callback", "code", "S256", ok, "https://mcp.example.com/mcp", "files:read", "", "max_age=0&nonce=n&client_id=other")
	for _, prompt := range []string{"none login", " none ", "NONE", "none none", "none\x00", "consent select_account", "log\"in"} {
		f.Add("public-app", "http://127.0.0.1/callback", "code", "S256", ok, "https://mcp.example.com/mcp", "files:read", prompt, "")
	}
	registered := []string{"http://127.0.0.1/callback", "https://app.example.com/cb?tenant=1"}
	static, _ := NewStaticClients([]*oauth.Client{{ID: "public-app", Metadata: oauth.ClientMetadata{RedirectURIs: registered,
		GrantTypes: []string{"authorization_code"}}}})
	res, _ := NewResources([]Resource{{URI: "https://mcp.example.com/mcp", Scopes: []string{"files:read"}}})
	s := &Server{now: time.Now}
	s.state.Store(&policyState{clients: &ClientChain{Static: static}, resources: res})
	f.Fuzz(func(t *testing.T, client, redirect, rtype, method, challenge, resource, scope, prompt, extra string) {
		v := url.Values{"client_id": {client}, "redirect_uri": {redirect}, "response_type": {rtype},
			"code_challenge_method": {method}, "code_challenge": {challenge}, "resource": {resource}, "scope": {scope}, "prompt": {prompt}}
		more, _ := url.ParseQuery(extra)
		for k, vals := range more {
			v[k] = append(v[k], vals...)
		}
		_, requestObject := v["request"]
		_, requestURI := v["request_uri"]
		req, err := s.parseAuthorizeRequest(context.Background(), v)
		var re *redirectError
		var pe *pageError
		switch {
		case errors.As(err, &re):
			if _, ok := policy.MatchRedirectURI(registered, re.req.RedirectURI); !ok {
				t.Fatalf("error redirect to unregistered %q", re.req.RedirectURI)
			}
		case errors.As(err, &pe):
		case err != nil:
			t.Fatalf("unexpected error type %T: %v", err, err)
		default:
			if _, ok := policy.MatchRedirectURI(registered, req.RedirectURI); !ok || method != "S256" || len(req.Resources) != 1 {
				t.Fatalf("accepted %+v", req)
			}
			if requestObject || requestURI {
				t.Fatalf("accepted a request with a request object or request_uri: %v", v)
			}
		}
	})
}

// FuzzReadClientAuth: whatever the Authorization header and form, client
// authentication is read as exactly one client_id and at most one method;
// a secret method always carries a non-empty secret, and "none" never
// hides a non-empty secret.
func FuzzReadClientAuth(f *testing.F) {
	f.Add("Basic cHVibGljLWFwcDo=", "client_id=public-app")
	f.Add("Basic Y29uZi1hcHA6c2VjcmV0", "client_secret=")
	f.Add("", "client_id=a&client_secret=")
	f.Add("Basic Og==", "")
	f.Add("Basic YTo=", "client_id=b")
	f.Add("Bearer x", "client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=a.b.c")
	e := echo.New()
	f.Fuzz(func(t *testing.T, header, body string) {
		form, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		req := httptest.NewRequest(http.MethodPost, "/token", nil)
		if header != "" {
			req.Header.Set(echo.HeaderAuthorization, header)
		}
		p, err := readClientAuth(e.NewContext(req, httptest.NewRecorder()), form)
		if err != nil {
			if toOAuthError(err).Code == oauth.ErrCodeServerError {
				t.Fatalf("internal error for client input: %v", err)
			}
			return
		}
		bodyID := form.Get("client_id")
		switch {
		case p.clientID == "":
			t.Fatalf("accepted without a client_id: %+v", p)
		case secretMethod(p.method) && p.secret == "":
			t.Fatalf("secret method with an empty secret: %+v", p)
		case p.method == oauth.AuthMethodNone && form.Get("client_secret") != "":
			t.Fatalf("method none despite a body secret: %+v", p)
		case bodyID != "" && bodyID != p.clientID:
			t.Fatalf("client_id %q read, body names %q", p.clientID, bodyID)
		}
	})
}

// FuzzGrantScopes: whatever the scope parameter, what is granted is a
// subset of the request that the resource accepts (and, for operator
// clients, that the ceiling allows); granted and dropped partition the
// request; the only error is invalid_scope.
func FuzzGrantScopes(f *testing.F) {
	f.Add("files:read files:write", "files:read", true)
	f.Add("offline_access admin", "", false)
	f.Add("a\tb  c\x00", "a", true)
	f.Add(`"x" \y`, "", false)
	res := &Resource{URI: "https://mcp.example.com/mcp", Scopes: []string{"files:read", "files:write", "a"}}
	f.Fuzz(func(t *testing.T, requested, ceiling string, static bool) {
		kind := oauth.ClientDCR
		if static {
			kind = oauth.ClientStatic
		}
		client := &oauth.Client{ID: "c", Kind: kind, Metadata: oauth.ClientMetadata{Scope: ceiling}}
		asked := oauth.SplitScope(requested)
		granted, dropped, err := grantScopes(asked, []*Resource{res}, client)
		if err != nil {
			if oauth.Code(err) != oauth.ErrCodeInvalidScope {
				t.Fatalf("error %v is not invalid_scope", err)
			}
			return
		}
		if len(asked) > 0 && len(granted) == 0 {
			t.Fatalf("nothing granted from %q without an error", requested)
		}
		for _, sc := range granted {
			switch {
			case !validScopeToken(sc), !slices.Contains(asked, sc), slices.Contains(dropped, sc):
				t.Fatalf("granted %q from %q", sc, requested)
			case sc != oauth.ScopeOfflineAccess && !slices.Contains(res.Scopes, sc):
				t.Fatalf("granted %q, which the resource does not accept", sc)
			case static && len(oauth.SplitScope(ceiling)) > 0 && !slices.Contains(oauth.SplitScope(ceiling), sc):
				t.Fatalf("granted %q above the ceiling %q", sc, ceiling)
			}
		}
		for _, sc := range asked {
			if !slices.Contains(granted, sc) && !slices.Contains(dropped, sc) {
				t.Fatalf("%q neither granted nor dropped", sc)
			}
		}
	})
}

// FuzzWantsJSON: whatever the Accept header, JSON is chosen only when it
// names a JSON type, never when it plainly names text/html (what every
// browser navigation sends).
func FuzzWantsJSON(f *testing.F) {
	for _, s := range []string{"application/json", "text/html,*/*;q=0.8", "application/json;q=0", "application/x+json, text/html;q=0", ";;,,", "application/json;q=1e309"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, accept string) {
		got := wantsJSON([]string{accept})
		lower := strings.ToLower(accept)
		if got && !strings.Contains(lower, "json") {
			t.Fatalf("wantsJSON(%q) without a JSON type", accept)
		}
		if got && wantsJSON([]string{accept, "text/html"}) {
			t.Fatalf("wantsJSON(%q, text/html) chose JSON", accept)
		}
	})
}

// FuzzURLReturnTo: a request short enough to travel in the sign-in URL is
// never dropped by the sign-in page (safeReturnTo keeps it whole) and
// comes back as the same parameters.
func FuzzURLReturnTo(f *testing.F) {
	f.Add("/t", "state=abc&client_id=x&redirect_uri=http%3A%2F%2F127.0.0.1%2Fcb")
	f.Add("", "state=%00%0d%0a&x=\\&y=//evil")
	f.Add("/t", "a=%ZZ")
	f.Fuzz(func(t *testing.T, base, query string) {
		if u, err := url.Parse("https://h" + base); base != "" && (err != nil || u.EscapedPath() != base || u.Path != base || strings.HasSuffix(base, "/") ||
			u.RawQuery != "" || u.Fragment != "" || strings.HasPrefix(base, "//")) {
			return // issuer paths are validated at start: a plain path (no percent-encoding), no trailing slash
		}

		back, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		s := &Server{base: base}
		u, fits := urlReturnTo(base, back)
		if !fits {
			return
		}
		if got := s.safeReturnTo(u); got != u {
			t.Fatalf("the sign-in page drops return_to %q (kept %q)", u, got)
		}
		parsed, err := url.Parse(u)
		if err != nil || parsed.Path != base+authorizePath {
			t.Fatalf("return_to %q: %v", u, err)
		}
		again, _ := url.ParseQuery(parsed.RawQuery)
		if again.Encode() != back.Encode() {
			t.Fatalf("the request changed on the way: %q -> %q", back.Encode(), again.Encode())
		}
	})
}
