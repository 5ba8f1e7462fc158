package server

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Issue 10 item 10: the consent page shows a client's logo only when
// Gatehouse has it as a usable image; a logo that was refused or is
// unreachable leaves no broken image, and the page still works.
func TestConsentPageShowsNoBrokenLogo(t *testing.T) {
	host := newDocHost(t)
	host.serve("/logo.png", tinyPNG, "image/png", nil)
	host.serve("/logo.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`), "image/svg+xml", nil)
	host.serve("/huge.png", append(append([]byte{}, tinyPNG...), make([]byte, 1<<20)...), "image/png", nil)
	for _, tc := range []struct {
		name     string
		logo     string // logo_uri; "" = none
		wantLogo bool
	}{
		{"usable PNG", host.url("/logo.png"), true},
		{"404", host.url("/missing.png"), false},
		{"SVG refused", host.url("/logo.svg"), false},
		{"too large", host.url("/huge.png"), false},
		{"unreachable host", "https://127.0.0.1:1/logo.png", false},
		{"refused at validation (http)", strings.Replace(host.url("/logo.png"), "https://", "http://", 1), false},
		{"no logo", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := publicDoc()
			if tc.logo != "" {
				doc["logo_uri"] = tc.logo
			}
			path := "/" + strings.ReplaceAll(tc.name, " ", "-") + "/client.json"
			clientID := host.publish(path, doc)
			env := newCIMDEnv(t, host)
			env.login(testUser, testPassword)
			_, challenge := pkce()
			resp, page := env.get(authorizePath + "?" + authzParams(clientID, "http://127.0.0.1:53682/callback", challenge).Encode())
			if resp.StatusCode != http.StatusOK || !strings.Contains(page, "<h1>Authorize access</h1>") {
				t.Fatalf("authorize = %d:\n%s", resp.StatusCode, page)
			}
			if got := strings.Contains(page, `<img class="logo"`); got != tc.wantLogo {
				t.Fatalf("consent page shows a logo: %v, want %v", got, tc.wantLogo)
			}
			if tc.wantLogo {
				logo, body := env.get("/client-logo?client_id=" + url.QueryEscape(clientID))
				if logo.StatusCode != http.StatusOK || body != string(tinyPNG) {
					t.Fatalf("the logo the page names does not load: %d", logo.StatusCode)
				}
			}
		})
	}
}
