package server

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/dcr"
	"github.com/gatehouse-dev/gatehouse/oauth"
)

// TestGrantScopes: requested scopes narrow to what the resources accept
// (and, for operator clients only, to clients[].scope); invalid_scope only
// for a malformed token or when nothing usable is left.
func TestGrantScopes(t *testing.T) {
	files := &Resource{URI: testResource, Scopes: []string{"files:read", "files:write"}}
	other := &Resource{URI: testOtherResource, Scopes: []string{"files:read", "mail:send"}}
	bare := &Resource{URI: "https://bare.example.com/mcp"}
	client := func(kind oauth.ClientKind, scope string) *oauth.Client {
		return &oauth.Client{ID: "c", Kind: kind, Metadata: oauth.ClientMetadata{Scope: scope}}
	}
	tests := []struct {
		name      string
		requested string
		entries   []*Resource
		client    *oauth.Client
		granted   string
		dropped   string
		wantErr   bool
	}{
		{"nothing asked", "", []*Resource{files}, client(oauth.ClientDCR, ""), "", "", false},
		{"all accepted", "files:read files:write", []*Resource{files}, client(oauth.ClientDCR, ""), "files:read files:write", "", false},
		{"DCR scope is no ceiling (step-up)", "files:read files:write", []*Resource{files}, client(oauth.ClientDCR, "files:read"), "files:read files:write", "", false},
		{"CIMD scope is no ceiling", "files:write", []*Resource{files}, client(oauth.ClientCIMD, "files:read"), "files:write", "", false},
		{"static scope is a ceiling", "files:read files:write", []*Resource{files}, client(oauth.ClientStatic, "files:read"), "files:read", "files:write", false},
		{"static ceiling leaves nothing", "files:write", []*Resource{files}, client(oauth.ClientStatic, "files:read"), "", "files:write", true},
		{"the whole scopes_supported narrows", "files:read files:write mail:send offline_access", []*Resource{files}, client(oauth.ClientDCR, ""), "files:read files:write offline_access", "mail:send", false},
		{"another resource's scope is dropped", "mail:send files:read", []*Resource{files}, client(oauth.ClientCIMD, ""), "files:read", "mail:send", false},
		{"two resources: either accepts", "mail:send files:write", []*Resource{files, other}, client(oauth.ClientDCR, ""), "mail:send files:write", "", false},
		{"offline_access alone", "offline_access", []*Resource{bare}, client(oauth.ClientDCR, ""), "offline_access", "", false},
		{"nothing usable left", "admin root", []*Resource{files}, client(oauth.ClientDCR, ""), "", "admin root", true},
		{"a resource with no scopes", "files:read", []*Resource{bare}, client(oauth.ClientDCR, ""), "", "files:read", true},
		{"duplicates collapse", "files:read files:read admin admin", []*Resource{files}, client(oauth.ClientDCR, ""), "files:read", "admin", false},
		{"malformed: quote", `files:read "x`, []*Resource{files}, client(oauth.ClientDCR, ""), "", "", true},
		{"malformed: backslash", `files:read a\b`, []*Resource{files}, client(oauth.ClientDCR, ""), "", "", true},
		{"malformed: non-ASCII", "files:read fïles", []*Resource{files}, client(oauth.ClientDCR, ""), "", "", true},
		{"malformed: too long", "files:read " + strings.Repeat("x", 257), []*Resource{files}, client(oauth.ClientDCR, ""), "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			granted, dropped, err := grantScopes(oauth.SplitScope(tt.requested), tt.entries, tt.client)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				if oauth.Code(err) != oauth.ErrCodeInvalidScope {
					t.Fatalf("error %v is not invalid_scope", err)
				}
				return
			}
			if got := oauth.JoinScope(granted); got != tt.granted {
				t.Fatalf("granted %q, want %q", got, tt.granted)
			}
			if got := oauth.JoinScope(dropped); got != tt.dropped {
				t.Fatalf("dropped %q, want %q", got, tt.dropped)
			}
		})
	}
}

// TestNarrowToGrant: a refresh narrows to the grant, never widens.
func TestNarrowToGrant(t *testing.T) {
	grant := []string{"files:read", "files:write"}
	tests := []struct {
		requested, want string
		wantErr         bool
	}{
		{"files:read", "files:read", false},
		{"files:write admin files:read", "files:write files:read", false},
		{"admin", "", true},
		{`files:read "`, "", true},
		{"", "", false},
	}
	for _, tt := range tests {
		got, err := narrowToGrant(oauth.SplitScope(tt.requested), grant)
		if (err != nil) != tt.wantErr || oauth.JoinScope(got) != tt.want {
			t.Errorf("narrowToGrant(%q) = %q, %v; want %q (error %v)", tt.requested, oauth.JoinScope(got), err, tt.want, tt.wantErr)
		}
	}
}

// tokenScope redeems code for a public client and returns the response's
// scope, failing if it is absent.
func tokenScope(t *testing.T, env *oauthEnv, client, code, verifier string) string {
	t.Helper()
	resp, body := env.token(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier},
		"redirect_uri": {publicRedirect}, "client_id": {client}}, "", "")
	scope, ok := body["scope"].(string)
	if resp.StatusCode != http.StatusOK || !ok {
		t.Fatalf("exchange = %d %v; want 200 with scope", resp.StatusCode, body)
	}
	return scope
}

// TestStepUpAuthorization is the MCP step-up: a client registered (DCR)
// with the scope of its first challenge re-authorizes with more under the
// same client_id; the consent page asks only about what is new, and the
// consent remembers the union.
func TestStepUpAuthorization(t *testing.T) {
	cfg := dcr.DefaultConfig()
	env := newOAuthEnvWith(t, &cfg)
	resp, reg := env.register(`{"redirect_uris":["` + publicRedirect + `"],"token_endpoint_auth_method":"none",
"grant_types":["authorization_code","refresh_token"],"scope":"files:read","client_name":"Step-up CLI"}`)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("register = %d %v", resp.StatusCode, reg)
	}
	id := reg["client_id"].(string)
	verifier, challenge := pkce()
	first := authzParams(id, publicRedirect, challenge)
	first.Set("scope", "files:read")
	if got := tokenScope(t, env, id, env.code(first), verifier); got != "files:read" {
		t.Fatalf("first token scope %q", got)
	}

	// The 403 said files:read files:write: the client asks for both.
	verifier, challenge = pkce()
	more := authzParams(id, publicRedirect, challenge)
	more.Set("scope", "files:read files:write")
	resp, page := env.get(authorizePath + "?" + more.Encode())
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "<h1>Authorize access</h1>") {
		t.Fatalf("step-up authorize = %d; want the consent page:\n%s", resp.StatusCode, page)
	}
	for _, want := range []string{
		`<code>files:write</code> <strong class="new">new</strong>`,
		`You allowed this application before.`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("consent page lacks %q:\n%s", want, page)
		}
	}
	if strings.Contains(page, `<code>files:read</code> <strong class="new">`) {
		t.Error("consent page marks the already approved scope as new")
	}
	action, form := formFields(t, page)
	form.Set("decision", "allow")
	resp, _ = env.postForm(action, form)
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if got := tokenScope(t, env, id, loc.Query().Get("code"), verifier); got != "files:read files:write" {
		t.Fatalf("stepped-up token scope %q, want files:read files:write", got)
	}
	user, err := env.store.UserByName(t.Context(), testUser)
	if err != nil {
		t.Fatal(err)
	}
	con, err := env.store.Consent(t.Context(), user.ID, id)
	if err != nil || !slices.Equal(con.Scopes, []string{"files:read", "files:write"}) {
		t.Fatalf("consent = %+v, %v; want the union", con, err)
	}
	// Anything within the union needs no new consent.
	_, challenge = pkce()
	again := authzParams(id, publicRedirect, challenge)
	again.Set("scope", "files:write")
	if resp, _ := env.get(authorizePath + "?" + again.Encode()); !strings.Contains(resp.Header.Get("Location"), "code=") {
		t.Fatalf("a request within the approved union asked again: %d", resp.StatusCode)
	}
}

// TestOverAskingNarrows: a client asking for everything the server lists,
// or for another resource's scopes, gets what this resource accepts, and
// the token response says so; only a request with nothing usable fails.
func TestOverAskingNarrows(t *testing.T) {
	env := newOAuthEnv(t)
	verifier, challenge := pkce()
	p := authzParams("public-app", publicRedirect, challenge)
	p.Set("resource", testOtherResource) // accepts files:read only
	p.Set("scope", "files:read files:write offline_access")
	if got := tokenScope(t, env, "public-app", env.code(p), verifier); got != "files:read offline_access" {
		t.Fatalf("scope %q, want files:read offline_access", got)
	}
	// The operator's clients[].scope stays a ceiling, narrowing too.
	verifier, challenge = pkce()
	p = authzParams("scoped-app", publicRedirect, challenge)
	p.Set("scope", "files:read files:write")
	if got := tokenScope(t, env, "scoped-app", env.code(p), verifier); got != "files:read" {
		t.Fatalf("scoped-app scope %q, want files:read", got)
	}
	// client_credentials narrows the same way.
	resp, body := env.token(url.Values{"grant_type": {"client_credentials"}, "scope": {"files:read admin"},
		"resource": {testResource}}, "conf-app", testSecret)
	if resp.StatusCode != 200 || body["scope"] != "files:read" {
		t.Fatalf("client_credentials = %d %v; want scope files:read", resp.StatusCode, body)
	}
	resp, body = env.token(url.Values{"grant_type": {"client_credentials"}, "resource": {testResource}}, "conf-app", testSecret)
	if s, ok := body["scope"]; resp.StatusCode != 200 || !ok || s != "" {
		t.Fatalf("client_credentials without scope = %d %v; want an empty scope stated", resp.StatusCode, body)
	}
	resp, body = env.token(url.Values{"grant_type": {"client_credentials"}, "scope": {"admin"},
		"resource": {testResource}}, "conf-app", testSecret)
	wantOAuthError(t, resp, body, 400, "invalid_scope")
}
