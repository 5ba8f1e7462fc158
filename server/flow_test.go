package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"
)

// verifyAccessToken checks an access token the way a resource server
// would: against the published JWKS, with typ, kid, iss, aud and exp.
func verifyAccessToken(t *testing.T, env *oauthEnv, token, wantAud string) accessTokenClaims {
	t.Helper()
	set := fetchJWKS(t, env.testEnv)
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatalf("access token is not a JWS: %v", err)
	}
	h := tok.Headers[0]
	if typ := h.ExtraHeaders[jose.HeaderType]; typ != "at+jwt" {
		t.Fatalf("typ = %v, want at+jwt (RFC 9068 §2.1)", typ)
	}
	if h.KeyID == "" || len(set.Key(h.KeyID)) != 1 {
		t.Fatalf("kid %q not in the JWKS", h.KeyID)
	}
	var claims accessTokenClaims
	if err := tok.Claims(set, &claims); err != nil {
		t.Fatalf("signature does not verify against the JWKS: %v", err)
	}
	if err := claims.ValidateWithLeeway(jwt.Expected{Issuer: env.srv.cfg.Issuer, AnyAudience: jwt.Audience{wantAud},
		Time: env.clock.Now()}, 0); err != nil {
		t.Fatalf("claims: %v", err)
	}
	if claims.ID == "" || claims.IssuedAt == nil || claims.ClientID == "" || claims.Subject == "" {
		t.Fatalf("missing RFC 9068 claims: %+v", claims)
	}
	if got := claims.Expiry.Time().Sub(claims.IssuedAt.Time()); got != env.srv.cfg.AccessTokenTTL {
		t.Fatalf("lifetime = %v, want %v", got, env.srv.cfg.AccessTokenTTL)
	}
	return claims
}

// TestXOAuth2Flow is the core "done when": a user signs in and consents,
// the client exchanges the code with PKCE for a JWT whose aud is the
// resource, refreshes (the old refresh token then fails and its reuse kills
// the grant), and revokes. The client is golang.org/x/oauth2, unmodified.
func TestXOAuth2Flow(t *testing.T) {
	env := newOAuthEnv(t)
	conf := &oauth2.Config{
		ClientID:    "public-app",
		RedirectURL: publicRedirect,
		Scopes:      []string{"files:read", "files:write"},
		Endpoint: oauth2.Endpoint{AuthURL: env.http.URL + authorizePath, TokenURL: env.http.URL + tokenPath,
			AuthStyle: oauth2.AuthStyleAutoDetect}, // probes with Basic first: the code must survive it
	}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, env.http.Client())
	verifier := oauth2.GenerateVerifier()
	authURL, _ := url.Parse(conf.AuthCodeURL("state-xyz", oauth2.S256ChallengeOption(verifier),
		oauth2.SetAuthURLParam("resource", testResource)))
	back := env.authorize(authURL.Query(), "allow")
	if back.Query().Get("state") != "state-xyz" || back.Query().Get("iss") != env.srv.cfg.Issuer {
		t.Fatalf("redirect %s lacks state or iss (RFC 9207)", back)
	}
	if !strings.HasPrefix(back.String(), publicRedirect+"?") {
		t.Fatalf("redirected to %s", back)
	}
	tok, err := conf.Exchange(ctx, back.Query().Get("code"), oauth2.VerifierOption(verifier),
		oauth2.SetAuthURLParam("resource", testResource))
	if err != nil {
		t.Fatalf("exchange (after x/oauth2's Basic probe): %v", err)
	}
	if tok.TokenType != "Bearer" || tok.RefreshToken == "" || tok.Expiry.IsZero() {
		t.Fatalf("token = %+v", tok)
	}
	claims := verifyAccessToken(t, env, tok.AccessToken, testResource)
	if claims.ClientID != "public-app" || claims.Scope != "files:read files:write" || !strings.HasPrefix(claims.Subject, "usr_") {
		t.Fatalf("claims = %+v", claims)
	}

	// Refresh through x/oauth2's token source.
	first := tok.RefreshToken
	tok.Expiry = time.Now().Add(-time.Minute)
	refreshed, err := conf.TokenSource(ctx, tok).Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if refreshed.RefreshToken == first || refreshed.AccessToken == tok.AccessToken {
		t.Fatal("refresh did not rotate the tokens")
	}
	verifyAccessToken(t, env, refreshed.AccessToken, testResource)

	// The rotated-out refresh token fails, and presenting it kills the
	// grant: the newest refresh token stops working too.
	stale := &oauth2.Token{RefreshToken: first, Expiry: time.Now().Add(-time.Minute)}
	if _, err := conf.TokenSource(ctx, stale).Token(); !isOAuthError(err, "invalid_grant") {
		t.Fatalf("reuse of rotated refresh token: %v, want invalid_grant", err)
	}
	refreshed.Expiry = time.Now().Add(-time.Minute)
	if _, err := conf.TokenSource(ctx, refreshed).Token(); !isOAuthError(err, "invalid_grant") {
		t.Fatalf("after reuse the grant should be dead, got %v", err)
	}
	if active := env.introspect(t, refreshed.AccessToken); active {
		t.Fatal("access token of a grant killed by reuse is still active")
	}

	// A fresh grant, revoked through RFC 7009.
	verifier = oauth2.GenerateVerifier()
	authURL, _ = url.Parse(conf.AuthCodeURL("s2", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("resource", testResource)))
	back = env.authorize(authURL.Query(), "allow") // consent is remembered: no page this time
	tok, err = conf.Exchange(ctx, back.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	resp, _ := env.postForm(revokePath, url.Values{"token": {tok.RefreshToken}, "client_id": {"public-app"}, "token_type_hint": {"refresh_token"}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("revoke = %d", resp.StatusCode)
	}
	tok.Expiry = time.Now().Add(-time.Minute)
	if _, err := conf.TokenSource(ctx, tok).Token(); !isOAuthError(err, "invalid_grant") {
		t.Fatalf("refresh after revocation: %v", err)
	}
	if env.introspect(t, tok.AccessToken) {
		t.Fatal("access token survives revocation of its grant")
	}
}

func isOAuthError(err error, code string) bool {
	var re *oauth2.RetrieveError
	return errors.As(err, &re) && re.ErrorCode == code
}

// introspect asks as the confidential client whether a token is active.
func (e *oauthEnv) introspect(t *testing.T, token string) bool {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.http.URL+introspectPath, strings.NewReader(url.Values{"token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("conf-app", testSecret)
	resp, body := e.doJSON(req)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("introspect = %d %v", resp.StatusCode, body)
	}
	return body["active"] == true
}

func TestConfidentialClientAndIntrospection(t *testing.T) {
	env := newOAuthEnv(t)
	verifier, challenge := pkce()
	code := env.code(authzParams("conf-app", confRedirect, challenge))
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier}, "redirect_uri": {confRedirect}}
	// A wrong secret is refused with a Basic challenge, and consumes nothing.
	resp, body := env.token(form, "conf-app", "wrong-secret-wrong-secret")
	wantOAuthError(t, resp, body, http.StatusUnauthorized, "invalid_client")
	if !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic ") {
		t.Fatal("no WWW-Authenticate after failed Basic authentication")
	}
	resp, body = env.token(form, "conf-app", testSecret)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("exchange = %d %v", resp.StatusCode, body)
	}
	at := body["access_token"].(string)
	if body["scope"] != "files:read" {
		t.Errorf("scope = %v; every token response states the granted scope", body["scope"])
	}
	// Introspection: active with the token's claims for a confidential caller.
	req, _ := http.NewRequest(http.MethodPost, env.http.URL+introspectPath, strings.NewReader(url.Values{"token": {at}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("conf-app", testSecret)
	resp, intro := env.doJSON(req)
	if resp.StatusCode != 200 || intro["active"] != true || intro["client_id"] != "conf-app" || intro["username"] != testUser ||
		intro["scope"] != "files:read" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("introspection = %d %v", resp.StatusCode, intro)
	}
	// Public clients may not introspect.
	resp, body = env.doJSON(newForm(env, introspectPath, url.Values{"token": {at}, "client_id": {"public-app"}}))
	wantOAuthError(t, resp, body, http.StatusUnauthorized, "invalid_client")
	// Revoking the access token: introspection turns inactive.
	req = newForm(env, revokePath, url.Values{"token": {at}})
	req.SetBasicAuth("conf-app", testSecret)
	if resp, _ := env.do(req); resp.StatusCode != http.StatusOK {
		t.Fatalf("revoke = %d", resp.StatusCode)
	}
	if env.introspect(t, at) {
		t.Fatal("revoked access token still active")
	}
	if env.introspect(t, "not-a-token") {
		t.Fatal("garbage reported active")
	}
}

func newForm(env *oauthEnv, path string, v url.Values) *http.Request {
	req, _ := http.NewRequest(http.MethodPost, env.http.URL+path, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req
}

func TestClientCredentials(t *testing.T) {
	env := newOAuthEnv(t)
	resp, body := env.token(url.Values{"grant_type": {"client_credentials"}, "resource": {testResource}, "scope": {"files:read"}}, "conf-app", testSecret)
	if resp.StatusCode != 200 || body["refresh_token"] != nil {
		t.Fatalf("client_credentials = %d %v", resp.StatusCode, body)
	}
	claims := verifyAccessToken(t, env, body["access_token"].(string), testResource)
	if claims.Subject != "conf-app" || claims.ClientID != "conf-app" {
		t.Fatalf("claims = %+v; the subject is the client", claims)
	}
	// Public clients cannot use it; unknown resources are invalid_target.
	resp, body = env.token(url.Values{"grant_type": {"client_credentials"}, "client_id": {"public-app"}, "resource": {testResource}}, "", "")
	wantOAuthError(t, resp, body, 400, "unauthorized_client")
	resp, body = env.token(url.Values{"grant_type": {"client_credentials"}, "resource": {"https://evil.example/"}}, "conf-app", testSecret)
	wantOAuthError(t, resp, body, 400, "invalid_target")
	resp, body = env.token(url.Values{"grant_type": {"client_credentials"}, "resource": {testOtherResource}, "scope": {"files:write"}}, "conf-app", testSecret)
	wantOAuthError(t, resp, body, 400, "invalid_scope")
}

func TestTokenResponseHeadersAndShape(t *testing.T) {
	env := newOAuthEnv(t)
	verifier, challenge := pkce()
	resp, body := env.exchange(env.code(authzParams("public-app", publicRedirect, challenge)), verifier)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %v", resp.StatusCode, body)
	}
	if resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("Pragma") != "no-cache" {
		t.Fatal("token response is cacheable")
	}
	if body["token_type"] != "Bearer" || body["expires_in"] != float64(600) {
		t.Fatalf("body = %v", body)
	}
	raw, _ := json.Marshal(body)
	if strings.Contains(string(raw), "id_token") {
		t.Fatal("unexpected id_token")
	}
	if resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatal("token endpoint not readable by browser-based clients")
	}
}
