package server

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// adminJSON sends a JSON body to the admin API and decodes the answer.
func (e *observedEnv) adminJSON(method, path string, body any) (int, map[string]any) {
	e.t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, e.admin.URL+path, strings.NewReader(string(b)))
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := map[string]any{}
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

// signedIn reports whether the env's browser has a live session: the
// sign-in page then says who is signed in instead of asking.
func (e *testEnv) signedIn() bool {
	e.t.Helper()
	_, body := e.get(loginPath)
	return strings.Contains(body, "Sign out")
}

// TestPasswordChangeSignsOutEverywhere (ASVS V3.3.3): a user signed in on
// two browsers; the operator changes the password; both must sign in
// again. The applications keep their tokens unless revoke_grants is asked
// for. `admin users logout` does the same without a password change.
func TestPasswordChangeSignsOutEverywhere(t *testing.T) {
	env := newObservedEnv(t)
	laptop := env.client
	env.login(testUser, testPassword)
	phone := &http.Client{Jar: newJar(), CheckRedirect: laptop.CheckRedirect}
	env.client = phone
	env.login(testUser, testPassword)
	verifier, challenge := pkce()
	resp, tok := env.exchange(env.code(authzParams("public-app", publicRedirect, challenge)), verifier)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("exchange = %d %v", resp.StatusCode, tok)
	}
	for _, c := range []*http.Client{laptop, phone} {
		env.client = c
		if !env.signedIn() {
			t.Fatal("not signed in before the password change")
		}
	}

	code, out := env.adminJSON(http.MethodPut, "/users/password", map[string]any{"name": testUser, "password": "a brand new password"})
	if code != http.StatusOK || out["sessions_ended"] != float64(2) || out["grants_revoked"] != float64(0) {
		t.Fatalf("password change = %d %v", code, out)
	}
	for name, c := range map[string]*http.Client{"laptop": laptop, "phone": phone} {
		env.client = c
		if env.signedIn() {
			t.Errorf("the %s is still signed in after the password change", name)
		}
		resp, _ := env.get(authorizePath + "?" + authzParams("public-app", publicRedirect, challenge).Encode())
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || !strings.Contains(loc, loginPath) {
			t.Errorf("the %s's /authorize = %d %q, want the sign-in page", name, resp.StatusCode, loc)
		}
	}
	refresh := func(rt string) (*http.Response, map[string]any) {
		return env.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {"public-app"}}, "", "")
	}
	resp, tok = refresh(tok["refresh_token"].(string))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("refresh after a password change without revoke_grants = %d %v", resp.StatusCode, tok)
	}
	if resp, _ := env.login(testUser, testPassword); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("old password = %d", resp.StatusCode)
	}

	// Sign out everywhere, grants too.
	env.client = laptop
	env.login(testUser, "a brand new password")
	code, out = env.adminJSON(http.MethodPost, "/users/logout", map[string]any{"name": testUser, "revoke_grants": true})
	if code != http.StatusOK || out["sessions_ended"] != float64(1) || out["grants_revoked"] != float64(1) {
		t.Fatalf("logout = %d %v", code, out)
	}
	if env.signedIn() {
		t.Error("still signed in after admin users logout")
	}
	if resp, body := refresh(tok["refresh_token"].(string)); resp.StatusCode != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Fatalf("refresh after logout --revoke-grants = %d %v", resp.StatusCode, body)
	}
	if code, _ := env.adminJSON(http.MethodPost, "/users/logout", map[string]any{"name": "nobody"}); code != http.StatusNotFound {
		t.Fatalf("logout of an unknown user = %d", code)
	}
	if !strings.Contains(env.logs.String(), `"action":"user_logout"`) || !strings.Contains(env.logs.String(), `"sessions_ended":2`) {
		t.Error("audit log lacks the sign-outs")
	}
}
