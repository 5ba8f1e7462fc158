package server

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/dcr"
)

const browserAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

// TestReturningAfterRegistrationExpired: a client whose unused DCR
// registration expired comes back with its client_id. Asked for JSON,
// /authorize answers invalid_client (so the client registers again); a
// browser gets a page naming the client_id and saying what to do.
func TestReturningAfterRegistrationExpired(t *testing.T) {
	cfg := dcr.DefaultConfig()
	env := newOAuthEnvWith(t, &cfg)
	resp, reg := env.register(legacyBody)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("register = %d %v", resp.StatusCode, reg)
	}
	id := reg["client_id"].(string)
	_, challenge := pkce()
	params := authzParams(id, publicRedirect, challenge)
	target := authorizePath + "?" + params.Encode()
	if resp, _ := env.get(target, "Accept", "application/json"); resp.StatusCode != http.StatusFound {
		t.Fatalf("fresh client, JSON preflight = %d; want the sign-in redirect", resp.StatusCode)
	}
	env.clock.Advance(cfg.UnusedClientTTL + time.Minute)

	resp, body := env.get(target, "Accept", "application/json")
	var e struct {
		Error            string `json:"error"`
		ErrorDescription string `json:"error_description"`
	}
	json.Unmarshal([]byte(body), &e)
	if resp.StatusCode != http.StatusBadRequest || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") ||
		e.Error != "invalid_client" || !strings.Contains(e.ErrorDescription, id) || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("JSON preflight after expiry = %d %s %v", resp.StatusCode, body, resp.Header)
	}
	for _, tc := range []struct{ name, method string }{{"GET", http.MethodGet}, {"POST", http.MethodPost}} {
		var page string
		if tc.method == http.MethodGet {
			resp, page = env.get(target, "Accept", browserAccept)
		} else {
			resp, page = env.postForm(authorizePath, params, "Accept", browserAccept)
		}
		if resp.StatusCode != http.StatusBadRequest || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || resp.Header.Get("Location") != "" {
			t.Fatalf("%s: browser after expiry = %d %v", tc.name, resp.StatusCode, resp.Header)
		}
		for _, want := range []string{"registration has expired", id, "no sign-in completes within a day", "Restart the application",
			"clear the application", "saved sign-in", "invalid_client"} {
			if !strings.Contains(page, want) {
				t.Errorf("%s: the page does not say %q:\n%s", tc.name, want, page)
			}
		}
	}
	// A client_id that was never issued gets the plain unknown-client
	// answer, in either form.
	params.Set("client_id", "dcr_made-up")
	resp, body = env.get(authorizePath+"?"+params.Encode(), "Accept", "application/json")
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `"error":"invalid_client"`) {
		t.Fatalf("unknown client, JSON = %d %s", resp.StatusCode, body)
	}
	if _, page := env.get(authorizePath+"?"+params.Encode(), "Accept", browserAccept); strings.Contains(page, "registration has expired") {
		t.Fatal("a never-issued client_id is called an expired registration")
	}
}

// TestAuthorizeJSONOnlyForPageErrors: asking for JSON changes only how
// an error that would be a page is written: the sign-in redirect and
// error redirects to a verified client stay redirects, and another
// page error (an unregistered redirect URI) is JSON with its own code.
func TestAuthorizeJSONOnlyForPageErrors(t *testing.T) {
	env := newOAuthEnv(t)
	_, challenge := pkce()
	p := authzParams("public-app", publicRedirect, challenge)
	if resp, _ := env.get(authorizePath+"?"+p.Encode(), "Accept", "application/json"); resp.StatusCode != http.StatusFound {
		t.Fatalf("valid request asking for JSON = %d; want the sign-in redirect", resp.StatusCode)
	}
	p.Set("redirect_uri", "https://evil.example/cb")
	resp, body := env.get(authorizePath+"?"+p.Encode(), "Accept", "application/json")
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `"error":"invalid_request"`) || resp.Header.Get("Location") != "" {
		t.Fatalf("unregistered redirect URI, JSON = %d %s", resp.StatusCode, body)
	}
	p = authzParams("public-app", publicRedirect, challenge)
	p.Set("response_type", "token")
	resp, _ = env.get(authorizePath+"?"+p.Encode(), "Accept", "application/json")
	if loc, _ := url.Parse(resp.Header.Get("Location")); resp.StatusCode != http.StatusFound || loc.Query().Get("error") != "unsupported_response_type" {
		t.Fatalf("error for a verified operator client = %d %s; want the error redirect", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestWantsJSON(t *testing.T) {
	tests := []struct {
		accept []string
		want   bool
	}{
		{nil, false},
		{[]string{""}, false},
		{[]string{"*/*"}, false},
		{[]string{"application/json"}, true},
		{[]string{"Application/JSON; charset=utf-8"}, true},
		{[]string{"application/json, text/plain, */*"}, true},
		{[]string{"application/problem+json"}, true},
		{[]string{"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}, false},
		{[]string{"application/json", "text/html"}, false},
		{[]string{"text/html, application/json"}, false},
		{[]string{"application/json;q=0"}, false},
		{[]string{"application/json;q=0.000"}, false},
		{[]string{"application/json;q=NaN"}, false},
		{[]string{"application/json;q=0.5"}, true},
		{[]string{"application/json;q=0.5, text/html;q=0"}, true},
		{[]string{"application/json;;;"}, false},
		{[]string{"json"}, false},
	}
	for _, tt := range tests {
		if got := wantsJSON(tt.accept); got != tt.want {
			t.Errorf("wantsJSON(%q) = %v, want %v", tt.accept, got, tt.want)
		}
	}
}
