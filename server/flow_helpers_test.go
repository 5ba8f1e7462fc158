package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-dev/gatehouse/cimd"
	"github.com/gatehouse-dev/gatehouse/dcr"
	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/store/storetest"
)

const (
	testResource      = "https://mcp.example.com/mcp"
	testOtherResource = "https://files.example.com/api"
	testSecret        = "correct-horse-battery-staple"
	publicRedirect    = "http://127.0.0.1/callback"
	confRedirect      = "https://conf.example.com/cb"
	testUser          = "alice"
	testPassword      = "correct horse"
)

func secretHash(s string) []byte { sum := sha256.Sum256([]byte(s)); return sum[:] }

// oauthEnv is a server with resources, a user and a set of static clients:
// public, confidential (Basic and post), private_key_jwt, and one without
// the refresh grant.
type oauthEnv struct {
	*testEnv
	assertionKey *ecdsa.PrivateKey
}

func newOAuthEnv(t *testing.T, mutate ...func(*Config)) *oauthEnv {
	t.Helper()
	return newOAuthEnvWith(t, nil, mutate...)
}

func newOAuthEnvWith(t *testing.T, dcrConfig *dcr.Config, mutate ...func(*Config)) *oauthEnv {
	t.Helper()
	return newOAuthEnvFull(t, envOptions{DCR: dcrConfig}, mutate...)
}

// envOptions add optional subsystems to an OAuth test env.
type envOptions struct {
	DCR *dcr.Config
	// Logs and Metrics, when set, observe the server.
	Logs    *syncBuffer
	Metrics *Metrics
	// CIMD builds the metadata resolver, given the env's clock.
	CIMD func(clock *storetest.Clock) *cimd.Resolver
}

func newOAuthEnvFull(t *testing.T, opts envOptions, mutate ...func(*Config)) *oauthEnv {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	jwks, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "ES256", Use: "sig"}}})
	codeAndRefresh := []string{oauth.GrantAuthorizationCode, oauth.GrantRefreshToken}
	clients := []*oauth.Client{
		{ID: "public-app", Metadata: oauth.ClientMetadata{ClientName: "Public App", TokenEndpointAuthMethod: oauth.AuthMethodNone,
			// The third predates the rule against response parameters in
			// the query (issue 10 item 4): /authorize must refuse it.
			RedirectURIs: []string{publicRedirect, "https://app.example.com/cb?tenant=1", "https://app.example.com/cb?code=planted"},
			GrantTypes:   codeAndRefresh}},
		{ID: "conf-app", SecretHash: secretHash(testSecret), MayIntrospect: true, Metadata: oauth.ClientMetadata{ClientName: "Confidential App",
			TokenEndpointAuthMethod: oauth.AuthMethodClientSecretBasic, RedirectURIs: []string{confRedirect},
			GrantTypes: append(codeAndRefresh, oauth.GrantClientCredentials)}},
		{ID: "post-app", SecretHash: secretHash(testSecret), Metadata: oauth.ClientMetadata{
			TokenEndpointAuthMethod: oauth.AuthMethodClientSecretPost, RedirectURIs: []string{confRedirect}, GrantTypes: codeAndRefresh}},
		{ID: "jwt-app", Metadata: oauth.ClientMetadata{TokenEndpointAuthMethod: oauth.AuthMethodPrivateKeyJWT, JWKS: jwks,
			RedirectURIs: []string{confRedirect}, GrantTypes: append(codeAndRefresh, oauth.GrantClientCredentials)}},
		{ID: "no-refresh-app", Metadata: oauth.ClientMetadata{TokenEndpointAuthMethod: oauth.AuthMethodNone,
			RedirectURIs: []string{publicRedirect}, GrantTypes: []string{oauth.GrantAuthorizationCode}}},
		{ID: "scoped-app", Metadata: oauth.ClientMetadata{TokenEndpointAuthMethod: oauth.AuthMethodNone, Scope: "files:read",
			RedirectURIs: []string{publicRedirect}, GrantTypes: codeAndRefresh}},
	}
	cfg := testConfig()
	cfg.RefreshIdleTTL, cfg.RefreshMaxTTL = 24*time.Hour, 7*24*time.Hour
	cfg.Resources = []Resource{
		{URI: testResource, Scopes: []string{"files:read", "files:write"}},
		{URI: testOtherResource, Scopes: []string{"files:read"}},
	}
	for _, m := range mutate {
		m(&cfg)
	}
	env := &testEnv{t: t, clock: newStartClock(), dir: t.TempDir(), clients: clients, dcr: opts.DCR}
	env.logs, env.metrics = opts.Logs, opts.Metrics
	if opts.CIMD != nil {
		env.metadata = opts.CIMD(env.clock)
	}
	env.openStore()
	env.start(cfg)
	env.addUser(testUser, testPassword)
	return &oauthEnv{testEnv: env, assertionKey: key}
}

// pkce returns a verifier and its S256 challenge.
func pkce() (string, string) {
	b := make([]byte, 32)
	rand.Read(b)
	v := base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(v))
	return v, base64.RawURLEncoding.EncodeToString(sum[:])
}

// authzParams is a valid authorization request for client.
func authzParams(client, redirect, challenge string) url.Values {
	return url.Values{
		"response_type": {"code"}, "client_id": {client}, "redirect_uri": {redirect},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"},
		"state": {"st-123"}, "scope": {"files:read"}, "resource": {testResource},
	}
}

var (
	hiddenRE = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
	actionRE = regexp.MustCompile(`<form method="post" action="([^"]+)"`)
)

// formFields reads the hidden fields and action of the page's first form.
func formFields(t *testing.T, page string) (string, url.Values) {
	t.Helper()
	m := actionRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no form on page:\n%s", page)
	}
	v := url.Values{}
	for _, f := range hiddenRE.FindAllStringSubmatch(page, -1) {
		v.Set(html.UnescapeString(f[1]), html.UnescapeString(f[2]))
	}
	return html.UnescapeString(m[1]), v
}

// authorize drives a browser through /authorize: it signs in if asked to,
// approves consent if asked to (decision "allow" or "deny"), and returns
// the final redirect to the client.
func (e *oauthEnv) authorize(params url.Values, decision string) *url.URL {
	e.t.Helper()
	resp, body := e.get(authorizePath + "?" + params.Encode())
	for range 6 {
		switch {
		case resp.StatusCode == http.StatusFound || resp.StatusCode == http.StatusSeeOther:
			loc, _ := url.Parse(resp.Header.Get("Location"))
			if loc.Host != "" {
				return loc // back at the client
			}
			resp, body = e.get(loc.RequestURI())
		case resp.StatusCode == http.StatusOK && strings.Contains(body, "<h1>Sign in</h1>"):
			action, form := formFields(e.t, body)
			form.Set("username", testUser)
			form.Set("password", testPassword)
			resp, body = e.postForm(action, form)
		case resp.StatusCode == http.StatusOK && strings.Contains(body, "<h1>Authorize access</h1>"):
			action, form := formFields(e.t, body)
			form.Set("decision", decision)
			resp, body = e.postForm(action, form)
		default:
			e.t.Fatalf("authorize stopped at %d:\n%s", resp.StatusCode, body)
		}
	}
	e.t.Fatal("too many steps in the authorization flow")
	return nil
}

// code runs the flow and returns the authorization code.
func (e *oauthEnv) code(params url.Values) string {
	e.t.Helper()
	loc := e.authorize(params, "allow")
	code := loc.Query().Get("code")
	if code == "" {
		e.t.Fatalf("no code in %s", loc)
	}
	return code
}

// token posts to the token endpoint with optional Basic credentials.
func (e *oauthEnv) token(form url.Values, basicUser, basicPass string) (*http.Response, map[string]any) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.http.URL+tokenPath, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basicUser != "" || basicPass != "" {
		req.SetBasicAuth(url.QueryEscape(basicUser), url.QueryEscape(basicPass))
	}
	return e.doJSON(req)
}

func (e *oauthEnv) doJSON(req *http.Request) (*http.Response, map[string]any) {
	e.t.Helper()
	resp, body := e.do(req)
	out := map[string]any{}
	if len(body) > 0 {
		if err := json.Unmarshal([]byte(body), &out); err != nil {
			e.t.Fatalf("non-JSON response %d: %s", resp.StatusCode, body)
		}
	}
	return resp, out
}

// exchange redeems a code for the public client.
func (e *oauthEnv) exchange(code, verifier string) (*http.Response, map[string]any) {
	return e.token(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier},
		"redirect_uri": {publicRedirect}, "client_id": {"public-app"}}, "", "")
}

func wantOAuthError(t *testing.T, resp *http.Response, body map[string]any, status int, code string) {
	t.Helper()
	if resp.StatusCode != status || body["error"] != code {
		t.Fatalf("got %d %v, want %d %s", resp.StatusCode, body, status, code)
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("error response without Cache-Control: no-store")
	}
}
