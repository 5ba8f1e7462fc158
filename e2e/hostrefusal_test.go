//go:build e2e

package e2e

import (
	"context"
	"crypto/rand"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// TestCIMDHostRefusals (issue 10 item 5): a metadata document host that
// starts rate limiting or answering a bot challenge does not lock out a
// client Gatehouse has a valid copy for; a 404 still does. The cache
// lifetimes are cut to a second so that the test waits seconds, not
// minutes; the waits are for expiry, nothing is timed.
func TestCIMDHostRefusals(t *testing.T) {
	requireCIMD(t)
	docs := startDocHost(t)
	st := startStackWith(t, "cimd-refusals", docs, stackOptions{extra: strictRefresh, cimdExtra: "  cache:\n" +
		"    min_ttl: 1s\n    max_ttl: 1s\n    default_ttl: 1s\n    failure_backoff: 1s\n    failure_backoff_max: 2s\n"})
	for _, tc := range []struct {
		name string
		ref  refusal
	}{
		{"429", refusal{status: http.StatusTooManyRequests, contentType: "application/json", retryAfter: "2", body: `{"error":"rate_limited"}`}},
		{"403-challenge", refusal{status: http.StatusForbidden, contentType: "text/html; charset=UTF-8",
			body: "<!DOCTYPE html><html><title>Just a moment...</title><body>Checking your browser before accessing.</body></html>"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clientID := docs.addClient(t, "refusal-"+tc.name, driverRedirect)
			if err := authorizeOnce(t, st, clientID); err != nil {
				t.Fatalf("first sign-in: %v", err)
			}
			docs.refuse(clientID, tc.ref)
			before := docs.fetchCount(clientID)
			time.Sleep(1500 * time.Millisecond) // the cached copy expires
			if err := authorizeOnce(t, st, clientID); err != nil {
				t.Fatalf("sign-in while the host answers %s: %v; want the last valid copy served", tc.name, err)
			}
			if docs.fetchCount(clientID) == before {
				t.Fatal("Gatehouse did not ask the host again after the copy expired")
			}
			// Now the document is gone: once the backoff (or Retry-After)
			// has passed, the client is refused at once, stale copy or not.
			docs.refuse(clientID, refusal{status: http.StatusNotFound, contentType: "text/plain", body: "not found"})
			time.Sleep(2500 * time.Millisecond)
			status, loc, _ := getNoRedirect(t, authURLFor(st, clientID))
			if status != http.StatusBadRequest || loc != "" {
				t.Fatalf("after a 404: %d, Location %q; want an error page", status, loc)
			}
		})
	}
}

// authURLFor is an authorization request for clientID, as a CLI builds it.
func authURLFor(st *stack, clientID string) string {
	cfg := &oauth2.Config{ClientID: clientID, RedirectURL: driverRedirect, Scopes: []string{mcpScope},
		Endpoint: oauth2.Endpoint{AuthURL: st.issuer + "/authorize"}}
	return cfg.AuthCodeURL(rand.Text(), oauth2.S256ChallengeOption(oauth2.GenerateVerifier()), oauth2.SetAuthURLParam("resource", st.mcpURL))
}

// authorizeOnce signs in and consents through the pages, as a fresh
// browser, and checks that the client got a code.
func authorizeOnce(t *testing.T, st *stack, clientID string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	driver := newFormDriver()
	defer driver.savePages(t)
	cb, err := driver.Run(ctx, authURLFor(st, clientID), driverRedirect)
	if err != nil {
		return err
	}
	if cb.Query().Get("code") == "" {
		return &callbackError{strings.TrimPrefix(cb.RawQuery, "")}
	}
	return nil
}

type callbackError struct{ query string }

func (e *callbackError) Error() string { return "callback without a code: " + e.query }
