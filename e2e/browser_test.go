//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// browserReport is what e2e/node/browser.mjs prints.
type browserReport struct {
	OK      bool     `json:"ok"`
	Error   string   `json:"error"`
	Browser string   `json:"browser"`
	Steps   []string `json:"steps"`
	Login   struct {
		URL     string `json:"url"`
		Heading string `json:"heading"`
	} `json:"login"`
	Consent struct {
		URL        string   `json:"url"`
		Heading    string   `json:"heading"`
		ClientHost *string  `json:"client_host"`
		HostFontPx *float64 `json:"client_host_font_px"`
		BodyFontPx float64  `json:"body_font_px"`
		Warning    *string  `json:"warning"`
		Text       string   `json:"text"`
	} `json:"consent"`
	FinalURL  string `json:"final_url"`
	FinalText string `json:"final_text"`
}

// callbackApp is the application's side of a loopback redirect (RFC 8252
// §7.3): a listener on 127.0.0.1 that receives the authorization response.
type callbackApp struct {
	redirectURI string
	mu          sync.Mutex
	got         []url.Values
}

func startCallbackApp(t *testing.T) *callbackApp {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	app := &callbackApp{redirectURI: "http://" + ln.Addr().String() + "/callback"}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/callback" {
			http.NotFound(w, r)
			return
		}
		app.mu.Lock()
		app.got = append(app.got, r.URL.Query())
		app.mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, "<!doctype html><title>Signed in</title><h1>Signed in</h1><p>You can close this window.</p>")
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return app
}

// testBrowser signs in and consents in headless Chromium for clientID,
// whose registered redirect URI is the port-less-matching loopback
// driverRedirect, while the application really listens on another port
// (RFC 8252 §7.3 lets loopback redirects use any port). For a URL client
// ID (CIMD) the consent page must show the host of the URL prominently.
func testBrowser(t *testing.T, st *stack, clientID string) {
	testBrowserWithState(t, st, clientID, rand.Text())
}

// testBrowserWithState is testBrowser with the given state (a long one:
// the request must survive the sign-in detour whole).
func testBrowserWithState(t *testing.T, st *stack, clientID, state string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	app := startCallbackApp(t)
	cfg := &oauth2.Config{
		ClientID:    clientID,
		Endpoint:    oauth2.Endpoint{AuthURL: st.issuer + "/authorize", TokenURL: st.issuer + "/token", AuthStyle: oauth2.AuthStyleInParams},
		RedirectURL: app.redirectURI,
		Scopes:      []string{mcpScope},
	}
	verifier := oauth2.GenerateVerifier()
	authURL := cfg.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("resource", st.mcpURL))
	shots := filepath.Join(artifactsDir, artifactName(t))
	var r browserReport
	runNode(t, "browser.mjs", []string{"AUTH_URL=" + authURL, "REDIRECT_URL=" + app.redirectURI,
		"LOGIN_USER=" + testUser, "LOGIN_PASSWORD=" + testPassword, "SCREENSHOT_PREFIX=" + shots}, &r)
	if !r.OK {
		t.Fatalf("browser: %s\nnavigations: %v", r.Error, r.Steps)
	}
	t.Logf("Chromium %s: %v", r.Browser, r.Steps)

	// The pages, as the person saw them.
	if r.Login.Heading != "Sign in" {
		t.Errorf("sign-in page heading %q", r.Login.Heading)
	}
	c := r.Consent
	if c.Heading != "Authorize access" {
		t.Errorf("consent page heading %q", c.Heading)
	}
	if st.cimd {
		want := st.docs.host
		if c.ClientHost == nil || strings.TrimSpace(*c.ClientHost) != want {
			t.Errorf("consent page client host = %v, want %q", c.ClientHost, want)
		} else if c.HostFontPx == nil || *c.HostFontPx <= c.BodyFontPx {
			t.Errorf("the client host is not prominent: %vpx against body text %vpx", c.HostFontPx, c.BodyFontPx)
		}
	} else if !strings.Contains(c.Text, "Gatehouse e2e browser") {
		t.Errorf("consent page does not name the client: %s", c.Text)
	}
	if c.Warning == nil || !strings.Contains(*c.Warning, "on your own computer") {
		t.Errorf("consent page lacks the loopback warning: %v", c.Warning)
	}
	if !strings.Contains(c.Text, st.mcpURL) || !strings.Contains(c.Text, mcpScope) {
		t.Errorf("consent page does not show the resource and scope: %s", c.Text)
	}
	for _, shot := range []string{"-login.png", "-consent.png", "-callback.png"} {
		if b, err := os.ReadFile(shots + shot); err != nil || !bytes.HasPrefix(b, []byte("\x89PNG")) {
			t.Errorf("screenshot %s%s missing (%v)", shots, shot, err)
		}
	}

	// The browser landed on the application with code, state and iss.
	final, err := url.Parse(r.FinalURL)
	if err != nil || !hasPrefixURL(final, app.redirectURI) {
		t.Fatalf("browser ended at %q, want %s", r.FinalURL, app.redirectURI)
	}
	q := final.Query()
	if q.Get("code") == "" || q.Get("state") != state || q.Get("iss") != st.issuer {
		t.Fatalf("callback query: code present %v, state %q (want %q), iss %q (want %q)",
			q.Get("code") != "", q.Get("state"), state, q.Get("iss"), st.issuer)
	}
	app.mu.Lock()
	got := app.got
	app.mu.Unlock()
	if len(got) != 1 || got[0].Get("code") != q.Get("code") {
		t.Errorf("the application received %d callbacks", len(got))
	}
	if !strings.Contains(r.FinalText, "Signed in") {
		t.Errorf("the callback page did not render: %q", r.FinalText)
	}

	// The code is good: the application redeems it and calls the MCP server.
	tok, err := cfg.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier), oauth2.SetAuthURLParam("resource", st.mcpURL))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	if status := mcpInitialize(t, st, tok.AccessToken); status != http.StatusOK {
		t.Errorf("MCP initialize with the browser-obtained token: %d", status)
	}
}
