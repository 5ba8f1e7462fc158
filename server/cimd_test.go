package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-dev/gatehouse/cimd"
)

// TestCIMDPublicClientFlow: a public client with nothing but a document
// URL signs a user in, exchanges the code, refreshes.
func TestCIMDPublicClientFlow(t *testing.T) {
	host := newDocHost(t)
	host.serve("/logo.png", tinyPNG, "image/png", nil)
	doc := publicDoc()
	doc["logo_uri"] = host.url("/logo.png")
	clientID := host.publish("/oauth/client.json", doc)
	env := newCIMDEnv(t, host)

	_, md := env.get(wellKnownOAuth)
	if !strings.Contains(md, `"client_id_metadata_document_supported":true`) {
		t.Fatalf("discovery lacks client_id_metadata_document_supported: %s", md)
	}
	env.login(testUser, testPassword)
	verifier, challenge := pkce()
	p := authzParams(clientID, "http://127.0.0.1:53682/callback", challenge)
	resp, page := env.get(authorizePath + "?" + p.Encode())
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "<h1>Authorize access</h1>") {
		t.Fatalf("authorize = %d:\n%s", resp.StatusCode, page)
	}
	docHostPort := strings.TrimPrefix(host.srv.URL, "https://")
	for _, want := range []string{
		`<p class="client-host">` + docHostPort + `</p>`, // the hostname first
		"“Agent CLI”", "its own claim", // the name marked as a claim
		"on your own computer", // loopback warning
		`src="/client-logo?client_id=` + url.QueryEscape(clientID), // logo from Gatehouse's origin
	} {
		if !strings.Contains(page, strings.ReplaceAll(want, "&", "&amp;")) {
			t.Errorf("consent page lacks %q", want)
		}
	}
	if strings.Contains(page, host.url("/logo.png")) {
		t.Error("the consent page links the client's logo host directly")
	}
	logo, body := env.get("/client-logo?client_id=" + url.QueryEscape(clientID))
	if logo.StatusCode != 200 || logo.Header.Get("Content-Type") != "image/png" || logo.Header.Get("X-Content-Type-Options") != "nosniff" || body != string(tinyPNG) {
		t.Fatalf("logo = %d %v", logo.StatusCode, logo.Header)
	}

	action, form := formFields(t, page)
	form.Set("decision", "allow")
	resp, _ = env.postForm(action, form)
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if loc.Host != "127.0.0.1:53682" || loc.Query().Get("code") == "" || loc.Query().Get("iss") == "" {
		t.Fatalf("redirect = %s", loc)
	}
	// x/oauth2's probe (Basic, URL-encoded client_id, empty password)
	// names a public client and proves nothing more, which is all a public
	// client ever proves: it redeems the code.
	tokenForm := url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")}, "code_verifier": {verifier},
		"redirect_uri": {"http://127.0.0.1:53682/callback"}}
	r, tokens := env.token(tokenForm, clientID, "")
	if r.StatusCode != 200 {
		t.Fatalf("exchange = %d %v", r.StatusCode, tokens)
	}
	claims := verifyAccessToken(t, env, tokens["access_token"].(string), testResource)
	if claims.ClientID != clientID {
		t.Fatalf("client_id claim = %q", claims.ClientID)
	}
	r, refreshed := env.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tokens["refresh_token"].(string)}, "client_id": {clientID}}, "", "")
	if r.StatusCode != 200 || refreshed["refresh_token"] == tokens["refresh_token"] {
		t.Fatalf("refresh = %d %v", r.StatusCode, refreshed)
	}
	if n := host.fetches("/oauth/client.json"); n != 1 {
		t.Fatalf("document fetched %d times for one flow; the cache should hold it", n)
	}
}

// TestCIMDPrivateKeyJWTClient: a client whose document declares
// private_key_jwt authenticates with a key from its jwks_uri, and a key
// rotation is picked up without waiting for the cache.
func TestCIMDPrivateKeyJWTClient(t *testing.T) {
	host := newDocHost(t)
	key1, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	publishKeys := func(keys ...jose.JSONWebKey) {
		b, _ := json.Marshal(jose.JSONWebKeySet{Keys: keys})
		host.serve("/oauth/jwks.json", b, "application/json", http.Header{"Cache-Control": {"max-age=3600"}})
	}
	publishKeys(jose.JSONWebKey{Key: &key1.PublicKey, KeyID: "k1", Algorithm: "ES256", Use: "sig"})
	clientID := host.publish("/oauth/client.json", map[string]any{
		"client_name": "Web Agent", "redirect_uris": []string{host.url("/callback")},
		"grant_types": []string{"authorization_code", "refresh_token"}, "token_endpoint_auth_method": "private_key_jwt",
		"token_endpoint_auth_signing_alg": "ES256", "jwks_uri": host.url("/oauth/jwks.json"),
	})
	env := newCIMDEnv(t, host)
	verifier, challenge := pkce()
	code := env.code(authzParams(clientID, host.url("/callback"), challenge))
	exchange := func(code string, key *ecdsa.PrivateKey, kid string) (*http.Response, map[string]any) {
		assertion := env.assertion(t, assertionOpts{key: key, kid: kid, claims: map[string]any{"iss": clientID, "sub": clientID}})
		return env.token(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier},
			"redirect_uri": {host.url("/callback")}, "client_id": {clientID},
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {assertion}}, "", "")
	}
	// Without authentication the private_key_jwt client is refused.
	r, b := env.token(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier},
		"redirect_uri": {host.url("/callback")}, "client_id": {clientID}}, "", "")
	wantOAuthError(t, r, b, 401, "invalid_client")
	if r, b := exchange(code, key1, "k1"); r.StatusCode != 200 {
		t.Fatalf("exchange with k1 = %d %v", r.StatusCode, b)
	}
	// The client rotates to k2: the unknown kid triggers one refetch.
	key2, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	publishKeys(jose.JSONWebKey{Key: &key2.PublicKey, KeyID: "k2", Algorithm: "ES256", Use: "sig"})
	before := host.fetches("/oauth/jwks.json")
	code = env.code(authzParams(clientID, host.url("/callback"), challenge))
	if r, b := exchange(code, key2, "k2"); r.StatusCode != 200 {
		t.Fatalf("exchange after key rotation = %d %v", r.StatusCode, b)
	}
	if host.fetches("/oauth/jwks.json") != before+1 {
		t.Fatalf("jwks_uri fetched %d more times, want exactly 1 refetch", host.fetches("/oauth/jwks.json")-before)
	}
	// An attacker's key is not in the set: refused.
	evil, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	code = env.code(authzParams(clientID, host.url("/callback"), challenge))
	r, b = exchange(code, evil, "k2")
	wantOAuthError(t, r, b, 401, "invalid_client")
}

// TestCIMDStampede: 1000 concurrent authorization requests for one
// uncached client_id cause exactly one fetch, counted at the host.
func TestCIMDStampede(t *testing.T) {
	host := newDocHost(t)
	clientID := host.publish("/oauth/client.json", publicDoc())
	host.delay = 300 * time.Millisecond
	env := newCIMDEnv(t, host)
	_, challenge := pkce()
	target := env.http.URL + authorizePath + "?" + authzParams(clientID, "http://127.0.0.1:5000/callback", challenge).Encode()
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 0, MaxIdleConnsPerHost: 1000},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	const n = 1000
	statuses := make([]int, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			resp, err := client.Get(target)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			statuses[i] = resp.StatusCode
		}()
	}
	close(start)
	wg.Wait()
	for i, s := range statuses {
		if s != http.StatusFound {
			t.Fatalf("request %d = %d, want 302 to sign-in", i, s)
		}
	}
	if got := host.fetches("/oauth/client.json"); got != 1 {
		t.Fatalf("%d concurrent requests caused %d fetches, want exactly 1", n, got)
	}
}

// TestCIMDRulesAtAuthorizeAndToken: a client_id or document that breaks a
// rule is an HTML page at /authorize (never a redirect) and invalid_client
// at /token, both naming the rule.
func TestCIMDRulesAtAuthorizeAndToken(t *testing.T) {
	host := newDocHost(t)
	mismatch := publicDoc()
	mismatch["client_id"] = "https://elsewhere.example/client.json"
	host.publish("/mismatch.json", mismatch)
	secret := publicDoc()
	secret["client_secret"] = "s3cr3t"
	host.publish("/secret.json", secret)
	shared := publicDoc()
	shared["token_endpoint_auth_method"] = "client_secret_basic"
	host.publish("/shared.json", shared)
	env := newCIMDEnv(t, host, func(c *cimd.Config) { c.Hosts.Deny = []string{"denied.example"} })
	env.login(testUser, testPassword)
	_, challenge := pkce()
	tests := []struct{ name, clientID, want string }{
		{"dot segment", host.srv.URL + "/a/../client.json", "dot segments"},
		{"fragment", host.url("/client.json#x"), "fragment"},
		{"query", host.url("/client.json?v=1"), "query"},
		{"no path", host.srv.URL + "/", "path"},
		{"userinfo", "https://user@" + strings.TrimPrefix(host.srv.URL, "https://") + "/client.json", "userinfo"},
		{"http scheme", strings.Replace(host.url("/client.json"), "https://", "http://", 1), "unknown client"},
		{"denied host", "https://denied.example/client.json", "denied.example"},
		{"document missing", host.url("/gone.json"), "404"},
		{"client_id mismatch", host.url("/mismatch.json"), "does not match"},
		{"secret in document", host.url("/secret.json"), "client_secret"},
		{"shared-secret method", host.url("/shared.json"), "client_secret_basic"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := authzParams(tt.clientID, "http://127.0.0.1/callback", challenge)
			resp, page := env.get(authorizePath + "?" + p.Encode())
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" || !strings.Contains(page, tt.want) {
				t.Fatalf("authorize = %d Location=%q; page does not name %q:\n%s", resp.StatusCode, resp.Header.Get("Location"), tt.want, page)
			}
			assertNoLeak(t, page)
			r, body := env.token(url.Values{"grant_type": {"authorization_code"}, "code": {"x"}, "code_verifier": {strings.Repeat("a", 43)},
				"client_id": {tt.clientID}}, "", "")
			wantOAuthError(t, r, body, 401, "invalid_client")
			if !strings.Contains(body["error_description"].(string), tt.want) {
				t.Fatalf("token error %q does not name %q", body["error_description"], tt.want)
			}
		})
	}
}

// TestCIMDRedirectPolicyAndRefetch: redirect URIs that break the policy
// are refused with the reason; a redirect added to the document is picked
// up by one refetch, without waiting for the cache TTL.
func TestCIMDRedirectPolicyAndRefetch(t *testing.T) {
	host := newDocHost(t)
	doc := publicDoc()
	doc["redirect_uris"] = []string{"http://127.0.0.1/callback", "https://evil.example/steal"}
	doc["client_id"] = host.url("/oauth/client.json")
	clientID := doc["client_id"].(string)
	body, _ := json.Marshal(doc)
	host.serve("/oauth/client.json", body, "application/json", http.Header{"Cache-Control": {"max-age=86400"}})
	env := newCIMDEnv(t, host, func(c *cimd.Config) { c.Cache.RedirectRefetchInterval = time.Second })
	env.login(testUser, testPassword)
	_, challenge := pkce()
	resp, page := env.get(authorizePath + "?" + authzParams(clientID, "https://evil.example/steal", challenge).Encode())
	if resp.StatusCode != 400 || resp.Header.Get("Location") != "" || !strings.Contains(page, "same-site") {
		t.Fatalf("cross-site redirect = %d:\n%s", resp.StatusCode, page)
	}
	// The client adds a loopback path; the cached document does not know it.
	doc["redirect_uris"] = []string{"http://127.0.0.1/callback", "http://127.0.0.1/new-callback"}
	host.publish("/oauth/client.json", doc)
	env.clock.Advance(2 * time.Second) // past the refetch rate limit
	resp, page = env.get(authorizePath + "?" + authzParams(clientID, "http://127.0.0.1:7000/new-callback", challenge).Encode())
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "<h1>Authorize access</h1>") {
		t.Fatalf("new redirect after refetch = %d:\n%s", resp.StatusCode, page)
	}
}

// TestCIMDFingerprintChangeAsksAgain: consent given under one document is
// not reused when security-relevant metadata changes.
func TestCIMDFingerprintChangeAsksAgain(t *testing.T) {
	host := newDocHost(t)
	doc := publicDoc()
	clientID := host.publish("/oauth/client.json", doc)
	env := newCIMDEnv(t, host)
	_, challenge := pkce()
	p := authzParams(clientID, "http://127.0.0.1/callback", challenge)
	env.code(p) // consent given
	if resp, _ := env.get(authorizePath + "?" + p.Encode()); !strings.Contains(resp.Header.Get("Location"), "code=") {
		t.Fatal("consent not remembered under the same document")
	}
	doc["client_name"] = "Agent CLI (now with more access)"
	host.publish("/oauth/client.json", doc)
	env.clock.Advance(10 * time.Minute) // past the document's cache lifetime
	resp, page := env.get(authorizePath + "?" + p.Encode())
	if resp.StatusCode != 200 || !strings.Contains(page, "now with more access") {
		t.Fatalf("after the document changed = %d; want a fresh consent page", resp.StatusCode)
	}
}

func TestCIMDDiscoveryFlag(t *testing.T) {
	host := newDocHost(t)
	allowOnly := newCIMDEnv(t, host, func(c *cimd.Config) { c.Hosts.Allow = []string{"*.trusted.example"} })
	if _, md := allowOnly.get(wellKnownOAuth); !strings.Contains(md, `"client_id_metadata_document_supported":true`) {
		t.Fatal("allowlist-only CIMD must still advertise support (CIMD issue #90)")
	}
	off := newOAuthEnv(t)
	if _, md := off.get(wellKnownOAuth); strings.Contains(md, "client_id_metadata_document_supported") {
		t.Fatal("CIMD disabled but advertised")
	}
}
