//go:build e2e

package e2e

import (
	"context"
	"crypto/rand"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
	"golang.org/x/oauth2"
)

// testDenied: the user presses Deny. The client still gets a redirect it
// can trust (state and iss, RFC 9207 §2: on error responses too) carrying
// access_denied, and no code.
func testDenied(t *testing.T, st *stack, clientID string) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	state := rand.Text()
	cfg := &oauth2.Config{ClientID: clientID, RedirectURL: driverRedirect, Scopes: []string{mcpScope},
		Endpoint: oauth2.Endpoint{AuthURL: st.issuer + "/authorize"}}
	authURL := cfg.AuthCodeURL(state, oauth2.S256ChallengeOption(oauth2.GenerateVerifier()), oauth2.SetAuthURLParam("resource", st.mcpURL))
	driver := newFormDriver()
	driver.decision = "deny"
	defer driver.savePages(t)
	cb, err := driver.Run(ctx, authURL, driverRedirect)
	if err != nil {
		t.Fatal(err)
	}
	q := cb.Query()
	if q.Get("error") != "access_denied" || q.Has("code") || q.Get("state") != state || q.Get("iss") != st.issuer {
		t.Errorf("after Deny the client got %s, want error=access_denied with state and iss, no code", cb.Redacted())
	}
}

// testUnverifiedRedirectRefused: an authorization request naming a
// redirect URI the client never declared must not redirect anywhere; the
// user sees an error page instead (OAuth 2.1 §4.1.2.1).
func testUnverifiedRedirectRefused(t *testing.T, st *stack, clientID string) {
	for name, redirect := range map[string]string{
		"other host":          "https://attacker.example/callback",
		"other loopback path": "http://127.0.0.1:53682/other",
	} {
		t.Run(name, func(t *testing.T) {
			cfg := &oauth2.Config{ClientID: clientID, RedirectURL: redirect, Scopes: []string{mcpScope},
				Endpoint: oauth2.Endpoint{AuthURL: st.issuer + "/authorize"}}
			authURL := cfg.AuthCodeURL(rand.Text(), oauth2.S256ChallengeOption(oauth2.GenerateVerifier()), oauth2.SetAuthURLParam("resource", st.mcpURL))
			status, loc, body := getNoRedirect(t, authURL)
			if status < 400 || status >= 500 || loc != "" {
				t.Errorf("GET /authorize with an undeclared redirect_uri: %d, Location %q; want a 4xx page and no redirect", status, loc)
			}
			if !strings.Contains(strings.ToLower(body), "redirect") {
				t.Errorf("the error page does not say what is wrong: %.300s", body)
			}
		})
	}
}

// testMissingDocumentRefused: a URL client ID whose document does not
// exist (404) is no client; Gatehouse shows an error page and redirects
// nowhere, even to a loopback redirect URI.
func testMissingDocumentRefused(t *testing.T, st *stack) {
	clientID := st.docs.origin + "/oauth/does-not-exist.json"
	cfg := &oauth2.Config{ClientID: clientID, RedirectURL: driverRedirect, Scopes: []string{mcpScope},
		Endpoint: oauth2.Endpoint{AuthURL: st.issuer + "/authorize"}}
	authURL := cfg.AuthCodeURL(rand.Text(), oauth2.S256ChallengeOption(oauth2.GenerateVerifier()), oauth2.SetAuthURLParam("resource", st.mcpURL))
	status, loc, body := getNoRedirect(t, authURL)
	if status < 400 || status >= 600 || loc != "" {
		t.Errorf("GET /authorize for a client whose document is missing: %d, Location %q; want an error page", status, loc)
	}
	if st.docs.fetchCount(clientID) < 1 {
		t.Errorf("Gatehouse never asked the document host for %s", clientID)
	}
	if doc, err := html.Parse(strings.NewReader(body)); err == nil {
		t.Logf("%d: %s", status, visibleText(doc))
	}
}

func getNoRedirect(t *testing.T, u string) (int, string, string) {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	loc := resp.Header.Get("Location")
	if loc != "" {
		if l, err := url.Parse(loc); err == nil {
			loc = l.Redacted()
		}
	}
	return resp.StatusCode, loc, string(b)
}

// testConsentRemembered: in the same browser, a second authorization of
// the same client for the same scope needs neither sign-in nor consent;
// prompt=consent asks again (the TS SDK sends it with offline_access).
func testConsentRemembered(t *testing.T, st *stack, clientID string) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	driver := newFormDriver()
	cfg := &oauth2.Config{ClientID: clientID, RedirectURL: driverRedirect, Scopes: []string{mcpScope},
		Endpoint: oauth2.Endpoint{AuthURL: st.issuer + "/authorize"}}
	for _, step := range []struct {
		name   string
		extra  []oauth2.AuthCodeOption
		expect string
	}{
		{"first", nil, "login,consent"},
		{"again", nil, ""},
		{"prompt=consent", []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("prompt", "consent")}, "consent"},
	} {
		state := rand.Text()
		opts := append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(oauth2.GenerateVerifier()), oauth2.SetAuthURLParam("resource", st.mcpURL)}, step.extra...)
		cb, err := driver.Run(ctx, cfg.AuthCodeURL(state, opts...), driverRedirect)
		if err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		var kinds []string
		for _, p := range driver.Pages {
			kinds = append(kinds, p.Kind)
		}
		if got := strings.Join(kinds, ","); got != step.expect {
			t.Errorf("%s authorization showed pages %q, want %q (steps %v)", step.name, got, step.expect, driver.Steps)
		}
		if q := cb.Query(); q.Get("code") == "" || q.Get("state") != state || q.Get("iss") != st.issuer {
			t.Errorf("%s authorization: callback %s", step.name, cb.Redacted())
		}
	}
}
