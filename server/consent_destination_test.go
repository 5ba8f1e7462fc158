package server

import (
	"encoding/json"
	"html"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/dcr"
)

// TestConsentNeverLiesAboutTheDestination: a self-registered client may
// register look-alike https hosts and private-use schemes shaped like
// hosts; the consent page names what the browser will really reach.
// Schemes that are not redirects are refused at /register, as in metadata
// documents. Cursor's cursor:// registration keeps working.
func TestConsentNeverLiesAboutTheDestination(t *testing.T) {
	env := newDCREnv(t, dcr.ModeOpen)
	env.login(testUser, testPassword)
	register := func(redirect string) (*http.Response, map[string]any) {
		body, _ := json.Marshal(map[string]any{"redirect_uris": []string{redirect}, "token_endpoint_auth_method": "none", "client_name": "Tool"})
		return env.register(string(body))
	}
	_, challenge := pkce()
	for _, tt := range []struct {
		redirect, shown string
		lies            []string
	}{
		{"myapp://accounts.google.com/cb", "the application on this device that opens <strong>myapp:</strong> links", []string{"sent to <strong>accounts.google.com"}},
		{"com.evil:/accounts.google.com", "opens <strong>com.evil:</strong> links", []string{"<strong>com.evil:/accounts"}},
		{"https://\u0430ccounts.google.com/cb", "sent to <strong>xn--ccounts-1fg.google.com</strong>", []string{"\u0430ccounts", "accounts.google.com"}},
		{"https://\uff41ccounts.example/cb", "sent to <strong>accounts.example</strong>", []string{"\uff41"}},
		{"cursor://anysphere.cursor-retrieval/oauth/user-abc/callback", "opens <strong>cursor:</strong> links", []string{"<strong>anysphere"}},
	} {
		resp, reg := register(tt.redirect)
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("register %q = %d %v", tt.redirect, resp.StatusCode, reg)
		}
		v := authzParams(reg["client_id"].(string), tt.redirect, challenge)
		resp, page := env.get(authorizePath + "?" + v.Encode())
		if resp.StatusCode != http.StatusOK || !strings.Contains(page, "<h1>Authorize access</h1>") {
			t.Fatalf("%q: authorize = %d:\n%s", tt.redirect, resp.StatusCode, page)
		}
		if !strings.Contains(page, tt.shown) {
			t.Errorf("%q: the consent page does not say %q:\n%s", tt.redirect, tt.shown, page)
		}
		for _, lie := range tt.lies {
			if strings.Contains(html.UnescapeString(page), lie) {
				t.Errorf("%q: the consent page says %q", tt.redirect, lie)
			}
		}
		if strings.HasPrefix(tt.redirect, "https://\u0430") && !strings.Contains(page, "international characters") {
			t.Errorf("%q: no warning about the internationalized name", tt.redirect)
		}
	}
	// The Cursor flow completes: allow, and the code goes to cursor://.
	resp, reg := register("cursor://anysphere.cursor-retrieval/oauth/user-abc/callback")
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("cursor = %d %v", resp.StatusCode, reg)
	}
	loc := env.authorize(authzParams(reg["client_id"].(string), "cursor://anysphere.cursor-retrieval/oauth/user-abc/callback", challenge), "allow")
	if loc.Scheme != "cursor" || loc.Query().Get("code") == "" {
		t.Fatalf("cursor redirect = %s", loc)
	}

	for _, bad := range []string{"mailto:victim@example.com", "tel:+15555550100", "sms:+15555550100?body=click", "data:text/html,<script>x</script>",
		"javascript://accounts.google.com/%0aalert(1)", "MAILTO:x@example.com", "intent://scan/#Intent;scheme=zxing;end",
		// The browser reads these hosts as 127.0.0.1: the page would name a
		// web host where the code really goes to this computer.
		"https://2130706433/cb", "https://0x7f.1/cb", "https://127.1/cb", "https://exa\u202emple.com/cb"} {
		resp, reg := register(bad)
		if resp.StatusCode != http.StatusBadRequest || reg["error"] != "invalid_redirect_uri" {
			t.Errorf("register %q = %d %v, want invalid_redirect_uri", bad, resp.StatusCode, reg)
		}
	}
}
