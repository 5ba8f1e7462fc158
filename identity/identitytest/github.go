package identitytest

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// GitHub speaks GitHub's OAuth app endpoints (/login/oauth/authorize,
// /login/oauth/access_token) and the REST endpoints Gatehouse reads
// (/user, /user/emails, /user/orgs, /user/teams) under APIPrefix, as
// GitHub documents them, on a local TLS server.
type GitHub struct {
	Server       *httptest.Server
	ClientID     string
	ClientSecret string
	// APIPrefix is "" for an api.github.com layout or "/api/v3" for
	// GitHub Enterprise Server.
	APIPrefix string
	User      map[string]any
	Emails    []map[string]any
	Orgs      []string
	Teams     [][2]string // {org, slug}
	// Scopes records the scope of every authorization request.
	Scopes []string

	mu     sync.Mutex
	codes  map[string]string // code -> redirect_uri
	tokens map[string]bool
}

// NewGitHub starts the server; it stops when the test ends.
func NewGitHub(t testing.TB, apiPrefix string) *GitHub {
	g := &GitHub{ClientID: "Iv1.gatehouse", ClientSecret: "gh-secret-0123456789", APIPrefix: apiPrefix,
		User:   map[string]any{"id": 4242, "login": "octocat", "name": "The Octocat"},
		Emails: []map[string]any{{"email": "octo@old.example", "primary": false, "verified": true}, {"email": "octocat@example.com", "primary": true, "verified": true}},
		Orgs:   []string{"acme"}, Teams: [][2]string{{"acme", "platform"}},
		codes: map[string]string{}, tokens: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login/oauth/access_token", g.token)
	mux.HandleFunc("GET "+apiPrefix+"/user", g.api(func() any { return g.User }))
	mux.HandleFunc("GET "+apiPrefix+"/user/emails", g.api(func() any { return g.Emails }))
	mux.HandleFunc("GET "+apiPrefix+"/user/orgs", g.api(func() any {
		out := []map[string]any{}
		for _, o := range g.Orgs {
			out = append(out, map[string]any{"login": o, "id": len(o)})
		}
		return out
	}))
	mux.HandleFunc("GET "+apiPrefix+"/user/teams", g.api(func() any {
		out := []map[string]any{}
		for _, tm := range g.Teams {
			out = append(out, map[string]any{"slug": tm[1], "name": tm[1], "organization": map[string]any{"login": tm[0]}})
		}
		return out
	}))
	g.Server = httptest.NewTLSServer(mux)
	t.Cleanup(g.Server.Close)
	return g
}

// Authorize plays the user approving the OAuth app and returns the code.
func (g *GitHub) Authorize(t testing.TB, authURL string) (code, state string) {
	t.Helper()
	q := mustQuery(t, authURL, g.Server.URL+"/login/oauth/authorize")
	if q.Get("client_id") != g.ClientID {
		t.Fatalf("authorization request client_id = %q", q.Get("client_id"))
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.Scopes = append(g.Scopes, q.Get("scope"))
	code = rand.Text()
	g.codes[code] = q.Get("redirect_uri")
	return code, q.Get("state")
}

// token answers like GitHub: JSON when asked with Accept, an error object
// with status 200 for a bad code (GitHub's documented behaviour).
func (g *GitHub) token(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	g.mu.Lock()
	redirect, ok := g.codes[r.PostForm.Get("code")]
	delete(g.codes, r.PostForm.Get("code"))
	g.mu.Unlock()
	if r.PostForm.Get("client_id") != g.ClientID || r.PostForm.Get("client_secret") != g.ClientSecret {
		writeJSON(w, map[string]string{"error": "incorrect_client_credentials"})
		return
	}
	if !ok || redirect != r.PostForm.Get("redirect_uri") {
		writeJSON(w, map[string]string{"error": "bad_verification_code", "error_description": "The code passed is incorrect or expired."})
		return
	}
	tok := "gho_" + rand.Text()
	g.mu.Lock()
	g.tokens[tok] = true
	g.mu.Unlock()
	writeJSON(w, map[string]string{"access_token": tok, "token_type": "bearer", "scope": "read:user,user:email"})
}

func (g *GitHub) api(body func() any) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		g.mu.Lock()
		ok := g.tokens[tok]
		g.mu.Unlock()
		if !ok || r.Header.Get("Accept") != "application/vnd.github+json" {
			w.WriteHeader(http.StatusUnauthorized)
			writeJSON(w, map[string]string{"message": "Bad credentials"})
			return
		}
		writeJSON(w, body())
	}
}

func mustQuery(t testing.TB, raw, wantPrefix string) url.Values {
	t.Helper()
	if !strings.HasPrefix(raw, wantPrefix+"?") {
		t.Fatalf("authorization URL %s does not start with %s", raw, wantPrefix)
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(fmt.Errorf("authorization URL: %w", err))
	}
	return u.Query()
}
