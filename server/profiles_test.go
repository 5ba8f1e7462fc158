package server

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/gatehouse-dev/gatehouse/policy"
	"github.com/gatehouse-dev/gatehouse/store"
)

func boolPtr(b bool) *bool { return &b }

// setProfiles swaps in client profiles, keeping the rest of the policy.
func (e *oauthEnv) setProfiles(list ...policy.Profile) {
	e.t.Helper()
	cur := e.srv.policy()
	ps, err := policy.NewProfiles(list, policy.ProfileDefaults{RedirectPolicy: policy.RedirectSameSite,
		AccessTokenTTL: e.srv.cfg.AccessTokenTTL, RefreshTokenMaxTTL: e.srv.cfg.RefreshMaxTTL})
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.srv.SetPolicy(Policy{Clients: cur.clients, Resources: cur.resources.list, Register: cur.register, CIMD: cur.cimd, Profiles: ps}); err != nil {
		e.t.Fatal(err)
	}
}

// TestConsentSkipForAnExactFirstPartyClient: a profile naming a static
// client exactly with consent: skip gets a code with no consent page;
// the approval is recorded (the user sees it in /account) and audited;
// prompt=consent still shows the page.
func TestConsentSkipForAnExactFirstPartyClient(t *testing.T) {
	logs, metrics := &syncBuffer{}, NewMetrics()
	e := newOAuthEnvFull(t, envOptions{Logs: logs, Metrics: metrics})
	e.setProfiles(policy.Profile{Name: "first-party", Match: policy.ProfileMatch{ClientIDs: []string{"public-app"}}, Consent: policy.ConsentSkip})
	verifier, challenge := pkce()
	params := authzParams("public-app", publicRedirect, challenge)
	resp, body := e.get(authorizePath + "?" + params.Encode())
	if resp.StatusCode != http.StatusFound { // to the login page
		t.Fatalf("authorize = %d %s", resp.StatusCode, body)
	}
	loc := e.authorize(params, "this decision is never asked for")
	code := loc.Query().Get("code")
	if code == "" {
		t.Fatalf("no code: %s", loc)
	}
	if r, b := e.exchange(code, verifier); r.StatusCode != http.StatusOK {
		t.Fatalf("exchange = %d %v", r.StatusCode, b)
	}
	if !strings.Contains(logs.String(), `"event":"consent_skipped"`) || !strings.Contains(logs.String(), `"profile":"first-party"`) {
		t.Errorf("no consent_skipped audit event:\n%s", logs.String())
	}
	if n := testutil.ToFloat64(metrics.profiles.authorizations.WithLabelValues("first-party", consentSkipped)); n != 1 {
		t.Errorf("gatehouse_profile_authorizations_total{profile=first-party,consent=skipped} = %v, want 1", n)
	}
	u, _ := e.store.UserByName(context.Background(), testUser)
	if con, err := e.store.Consent(context.Background(), u.ID, "public-app"); err != nil || len(con.Scopes) != 1 {
		t.Errorf("the skipped consent was not recorded for /account: %+v %v", con, err)
	}
	params.Set("prompt", "consent")
	if resp, body := e.get(authorizePath + "?" + params.Encode()); resp.StatusCode != http.StatusOK || !strings.Contains(body, "<h1>Authorize access</h1>") {
		t.Errorf("prompt=consent under consent: skip = %d, want the consent page", resp.StatusCode)
	}
	// Another client, not named by the profile, is asked as always.
	other := authzParams("scoped-app", publicRedirect, challenge)
	if resp, body := e.get(authorizePath + "?" + other.Encode()); resp.StatusCode != http.StatusOK || !strings.Contains(body, "<h1>Authorize access</h1>") {
		t.Errorf("an unnamed client = %d, want the consent page", resp.StatusCode)
	}
}

func TestConsentAlwaysAsksEveryTime(t *testing.T) {
	e := newOAuthEnv(t)
	e.setProfiles(policy.Profile{Name: "careful", Match: policy.ProfileMatch{ClientIDs: []string{"public-app"}}, Consent: policy.ConsentAlways})
	_, challenge := pkce()
	params := authzParams("public-app", publicRedirect, challenge)
	e.code(params) // signs in and consents
	if resp, body := e.get(authorizePath + "?" + params.Encode()); resp.StatusCode != http.StatusOK || !strings.Contains(body, "<h1>Authorize access</h1>") {
		t.Fatalf("second authorization under consent: always = %d, want the consent page", resp.StatusCode)
	}
	params.Set("prompt", "none")
	resp, _ := e.get(authorizePath + "?" + params.Encode())
	if loc, _ := url.Parse(resp.Header.Get("Location")); loc == nil || loc.Query().Get("error") != "consent_required" {
		t.Fatalf("prompt=none under consent: always = %d %s, want consent_required", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestCeilingsCapTheIssuedToken: scopes outside the ceiling are dropped,
// the access token lives access_token_ttl, no refresh token is issued,
// offline_access is dropped with it, and a resource outside the ceiling is
// refused with invalid_target.
func TestCeilingsCapTheIssuedToken(t *testing.T) {
	e := newOAuthEnv(t)
	e.setProfiles(policy.Profile{Name: "short", Match: policy.ProfileMatch{ClientIDs: []string{"public-app"}},
		Ceilings: policy.Ceilings{Scopes: []string{"files:read"}, Resources: []string{testResource},
			AccessTokenTTL: 5 * time.Minute, RefreshTokens: boolPtr(false)}})
	verifier, challenge := pkce()
	params := authzParams("public-app", publicRedirect, challenge)
	params.Set("scope", "files:read files:write offline_access")
	resp, body := e.exchange(e.code(params), verifier)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("exchange = %d %v", resp.StatusCode, body)
	}
	if body["scope"] != "files:read" || body["refresh_token"] != nil || body["expires_in"] != float64(300) {
		t.Fatalf("token response %v; want scope files:read, expires_in 300, no refresh_token", body)
	}
	claims := parseAccessTokenClaims(t, e, body["access_token"].(string))
	if claims.Scope != "files:read" || claims.Expiry.Time().Sub(claims.IssuedAt.Time()) != 5*time.Minute {
		t.Fatalf("token claims scope %q lifetime %s", claims.Scope, claims.Expiry.Time().Sub(claims.IssuedAt.Time()))
	}
	params.Set("resource", testOtherResource)
	params.Set("scope", "files:read")
	resp, _ = e.get(authorizePath + "?" + params.Encode())
	if loc, _ := url.Parse(resp.Header.Get("Location")); loc == nil || loc.Query().Get("error") != "invalid_target" {
		t.Fatalf("a resource outside the ceiling = %d %s, want invalid_target", resp.StatusCode, resp.Header.Get("Location"))
	}
	params.Set("resource", testResource)
	params.Set("scope", "files:write")
	resp, _ = e.get(authorizePath + "?" + params.Encode())
	if loc, _ := url.Parse(resp.Header.Get("Location")); loc == nil || loc.Query().Get("error") != "invalid_scope" {
		t.Fatalf("only scopes outside the ceiling = %d %s, want invalid_scope", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestLoweredCeilingsApplyToExistingGrants: a reload that withholds
// refresh tokens, or shortens grants, reaches grants made before it.
func TestLoweredCeilingsApplyToExistingGrants(t *testing.T) {
	e := newOAuthEnv(t)
	verifier, challenge := pkce()
	_, body := e.exchange(e.code(authzParams("public-app", publicRedirect, challenge)), verifier)
	rt, _ := body["refresh_token"].(string)
	if rt == "" {
		t.Fatalf("no refresh token: %v", body)
	}
	refresh := func() (*http.Response, map[string]any) {
		return e.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {"public-app"}}, "", "")
	}
	e.setProfiles(policy.Profile{Name: "max", Match: policy.ProfileMatch{ClientIDs: []string{"public-app"}},
		Ceilings: policy.Ceilings{RefreshTokenMaxTTL: time.Hour}})
	r, b := refresh()
	if r.StatusCode != http.StatusOK {
		t.Fatalf("refresh within the hour = %d %v", r.StatusCode, b)
	}
	rt = b["refresh_token"].(string)
	e.clock.Advance(61 * time.Minute)
	r, b = refresh()
	wantOAuthError(t, r, b, http.StatusBadRequest, "invalid_grant")

	_, body = e.exchange(e.code(authzParams("public-app", publicRedirect, challenge)), verifier)
	rt = body["refresh_token"].(string)
	e.setProfiles(policy.Profile{Name: "none", Match: policy.ProfileMatch{ClientIDs: []string{"public-app"}},
		Ceilings: policy.Ceilings{RefreshTokens: boolPtr(false)}})
	r, b = refresh()
	wantOAuthError(t, r, b, http.StatusBadRequest, "invalid_grant")
}

func TestClientCredentialsPerProfile(t *testing.T) {
	e := newOAuthEnv(t)
	form := url.Values{"grant_type": {"client_credentials"}, "resource": {testResource}, "scope": {"files:read files:write"}}
	e.setProfiles(policy.Profile{Name: "no-cc", Match: policy.ProfileMatch{ClientIDs: []string{"conf-app"}},
		Ceilings: policy.Ceilings{AllowClientCredentials: boolPtr(false)}})
	r, b := e.token(form, "conf-app", testSecret)
	wantOAuthError(t, r, b, http.StatusBadRequest, "unauthorized_client")
	if !strings.Contains(b["error_description"].(string), "no-cc") {
		t.Errorf("the refusal does not name the profile: %v", b)
	}
	e.setProfiles(policy.Profile{Name: "capped", Match: policy.ProfileMatch{ClientIDs: []string{"conf-app"}},
		Ceilings: policy.Ceilings{Scopes: []string{"files:write"}, AccessTokenTTL: time.Minute}})
	r, b = e.token(form, "conf-app", testSecret)
	if r.StatusCode != http.StatusOK || b["scope"] != "files:write" || b["expires_in"] != float64(60) {
		t.Fatalf("capped client_credentials = %d %v", r.StatusCode, b)
	}
}

// TestApprovalQueueForAStaticClient: pending on first appearance (after
// sign-in), nothing issued; approved, the flow completes; blocked, the
// user is told before signing in and the grants die.
func TestApprovalQueueForAStaticClient(t *testing.T) {
	e := newObservedEnv(t)
	e.setProfiles(policy.Profile{Name: "vetted", Match: policy.ProfileMatch{ClientIDs: []string{"public-app"}}, Approval: policy.ApprovalAdmin})
	verifier, challenge := pkce()
	params := authzParams("public-app", publicRedirect, challenge)
	ctx := context.Background()

	resp, _ := e.get(authorizePath + "?" + params.Encode())
	if resp.StatusCode != http.StatusFound || !strings.Contains(resp.Header.Get("Location"), loginPath) {
		t.Fatalf("a signed-out browser = %d %s, want the sign-in page first", resp.StatusCode, resp.Header.Get("Location"))
	}
	if _, err := e.store.ClientApproval(ctx, "public-app"); err == nil {
		t.Fatal("a signed-out request queued the client")
	}
	e.login(testUser, testPassword)
	resp, body := e.get(authorizePath + "?" + params.Encode())
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "waits for approval") || resp.Header.Get("Location") != "" {
		t.Fatalf("pending client = %d %s", resp.StatusCode, body)
	}
	rec, err := e.store.ClientApproval(ctx, "public-app")
	if err != nil || rec.State != store.ApprovalPending || rec.Profile != "vetted" {
		t.Fatalf("record = %+v %v", rec, err)
	}
	resp, pending := e.adminCall(http.MethodGet, "/clients/approvals?state=pending", adminToken)
	if resp.StatusCode != http.StatusOK || !strings.Contains(pending, `"client_id":"public-app"`) {
		t.Fatalf("admin pending = %d %s", resp.StatusCode, pending)
	}
	if resp, _ := e.adminCall(http.MethodPost, "/clients/approve?id=public-app&fingerprint=stale", adminToken); resp.StatusCode != http.StatusConflict {
		t.Fatalf("approving a stale fingerprint = %d, want 409", resp.StatusCode)
	}
	if resp, body := e.adminCall(http.MethodPost, "/clients/approve?id=public-app", adminToken); resp.StatusCode != http.StatusOK {
		t.Fatalf("approve = %d %s", resp.StatusCode, body)
	}
	if resp, info := e.adminCall(http.MethodGet, "/clients/info?id=public-app", adminToken); resp.StatusCode != http.StatusOK ||
		!strings.Contains(info, `"profile":"vetted"`) || !strings.Contains(info, `"state":"approved"`) {
		t.Fatalf("client info = %d %s; want the profile and the approval", resp.StatusCode, info)
	}
	r, tok := e.exchange(e.code(params), verifier)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("exchange after approval = %d %v", r.StatusCode, tok)
	}
	at := tok["access_token"].(string)

	if resp, body := e.adminCall(http.MethodPost, "/clients/block?id=public-app", adminToken); resp.StatusCode != http.StatusOK || !strings.Contains(body, `"grants_revoked":1`) {
		t.Fatalf("block = %d %s", resp.StatusCode, body)
	}
	if e.introspect(t, at) {
		t.Fatal("a blocked client's access token is still active")
	}
	r, b := e.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok["refresh_token"].(string)}, "client_id": {"public-app"}}, "", "")
	wantOAuthError(t, r, b, http.StatusBadRequest, "unauthorized_client")
	e.client.Jar, _ = cookiejar.New(nil) // signed out
	resp, body = e.get(authorizePath + "?" + params.Encode())
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "is blocked") {
		t.Fatalf("blocked client, signed out = %d %s, want the refusal page before sign-in", resp.StatusCode, body)
	}
	m := e.metrics()
	series := metricSeries(m, "gatehouse_client_approvals_total")
	for _, d := range []string{"queued", "approved", "blocked", "refused_pending", "refused_blocked"} {
		if series[`decision="`+d+`"`] == "" {
			t.Errorf("gatehouse_client_approvals_total has no %s sample: %v", d, series)
		}
	}
	for _, ev := range []string{"client_pending", "client_approved", "client_blocked", "client_refused"} {
		if !strings.Contains(e.logs.String(), `"event":"`+ev+`"`) {
			t.Errorf("no %s audit event", ev)
		}
	}
}

// parseAccessTokenClaims verifies a token against the JWKS without the
// default-lifetime check of verifyAccessToken.
func parseAccessTokenClaims(t *testing.T, e *oauthEnv, token string) *accessTokenClaims {
	t.Helper()
	claims, err := e.srv.parseAccessToken(token)
	if err != nil {
		t.Fatal(err)
	}
	return claims
}
