//go:build e2e

package e2e

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// TestExpiredRegistration is the client that comes back after its DCR
// registration expired (issue 10 item 6): it registered, never finished
// signing in, and returns with its stored client_id once
// dcr.unused_client_ttl has passed. A preflight asking for JSON gets an
// invalid_client error it can act on (register again); a browser gets a
// page that says what happened, names the client_id and says what to do.
// Registering again works.
//
// The server runs on the wall clock, so the checks that a registration is
// still usable hold only while it is provably younger than its TTL: a
// machine too slow to register and ask within the TTL registers again.
func TestExpiredRegistration(t *testing.T) {
	const ttl = 5 * time.Second
	st := startStackWith(t, "expired", nil, stackOptions{extra: strictRefresh, dcr: fmt.Sprintf("  unused_client_ttl: %s\n", ttl)})
	authURL := func(id string) string {
		q := url.Values{"response_type": {"code"}, "client_id": {id}, "redirect_uri": {driverRedirect}, "state": {rand.Text()},
			"code_challenge": {oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())}, "code_challenge_method": {"S256"},
			"scope": {mcpScope}, "resource": {st.mcpURL}}
		return st.issuer + "/authorize?" + q.Encode()
	}
	get := func(u, accept string) (int, http.Header, string) {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		req.Header.Set("Accept", accept)
		resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(b)
	}
	const browserAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
	// registerUsable registers a client and requires the sign-in redirect
	// for it, unless more than the TTL passed between sending the
	// registration and getting the answer (then it cannot tell, and
	// registers again).
	registerUsable := func(what string) string {
		for attempt := 1; ; attempt++ {
			sent := time.Now()
			id := registerPublicClient(t, st, "Gatehouse e2e expiring client")
			status, h, _ := get(authURL(id), browserAccept)
			if status == http.StatusFound && strings.Contains(h.Get("Location"), "/login") {
				return id
			}
			if took := time.Since(sent); took < ttl || attempt == 10 {
				t.Fatalf("%s: %d %s after %v, want the sign-in redirect", what, status, h.Get("Location"), took)
			}
			t.Logf("%s: registering and asking took longer than the TTL; registering again", what)
		}
	}
	clientID := registerUsable("fresh registration")
	// Wait (bounded) for the unused registration to expire.
	var status int
	var body string
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		if status, _, body = get(authURL(clientID), "application/json"); status != http.StatusFound {
			break
		}
	}
	var e struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil || status != http.StatusBadRequest || e.Error != "invalid_client" ||
		!strings.Contains(e.Description, clientID) {
		t.Fatalf("JSON preflight after expiry: %d %s; want 400 invalid_client naming %s", status, body, clientID)
	}
	status, h, page := get(authURL(clientID), browserAccept)
	if status != http.StatusBadRequest || !strings.HasPrefix(h.Get("Content-Type"), "text/html") || h.Get("Location") != "" {
		t.Fatalf("browser after expiry: %d %v", status, h)
	}
	writeArtifact(t, "expired-registration.html", []byte(page))
	for _, want := range []string{"registration has expired", clientID, "Restart the application", "saved sign-in", "invalid_client"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page does not say %q:\n%s", want, page)
		}
	}
	// The way out works: registering again gives a client that signs in.
	if again := registerUsable("the new registration"); again == clientID {
		t.Fatal("registering again returned the expired client_id")
	}
}
