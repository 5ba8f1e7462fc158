//go:build e2e

package e2e

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// longState is a state of several KB with characters that grow when
// encoded (9000 bytes), as some clients and conformance suites send: too long for the
// sign-in URL, so Gatehouse keeps the request server-side during sign-in.
var longState = strings.Repeat("é&=+/ x", 450)

// testLongRequestAcross: a request too long for the sign-in URL, started
// on instance A, is finished on instance B: the pending request lives in
// the shared PostgreSQL database, not in A's memory.
func testLongRequestAcross(t *testing.T, c *cluster) {
	reg := c.confidentialClient(t, c.direct[0], "long-request")
	id := reg["client_id"].(string)
	verifier := oauth2.GenerateVerifier()
	q := url.Values{"response_type": {"code"}, "client_id": {id}, "redirect_uri": {driverRedirect},
		"code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)}, "code_challenge_method": {"S256"},
		"state": {longState}, "scope": {mcpScope}, "resource": {clusterResource}}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(c.direct[0] + "/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	login := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || len(login) > 300 || !strings.Contains(login, "pending%3D") {
		t.Fatalf("A: %d, Location %q; want a short sign-in URL naming a pending request", resp.StatusCode, login)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cb, err := newFormDriver().Run(ctx, c.direct[1]+login, driverRedirect) // the browser lands on B
	if err != nil {
		t.Fatal(err)
	}
	if cb.Query().Get("state") != longState || cb.Query().Get("code") == "" {
		t.Fatalf("B did not finish A's request with its state intact: %s", cb.Redacted())
	}
	status, tok := tokenAt(t, c.direct[0], url.Values{"grant_type": {"authorization_code"}, "code": {cb.Query().Get("code")},
		"redirect_uri": {driverRedirect}, "code_verifier": {verifier}, "resource": {clusterResource}}, id, reg["client_secret"].(string))
	if status != http.StatusOK {
		t.Fatalf("exchange: %d %v", status, tok)
	}
}
