//go:build e2e

package e2e

import (
	"context"
	"crypto/rand"
	"errors"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// TestConcurrentRefresh is the shared-credentials-file case: several
// processes of one MCP client hold the same refresh token and refresh at
// once, each through its own golang.org/x/oauth2 token source (a fresh
// oauth2.Config, as separate processes have). With the default grace
// period every one of them gets a working token pair and nothing is
// revoked; with tokens.refresh_token_grace_period: 0s (strict) one wins
// and the rest revoke the grant: the user is logged out, as before the
// setting existed.
func TestConcurrentRefresh(t *testing.T) {
	const processes = 4
	t.Run("default-grace", func(t *testing.T) {
		st := startStackWith(t, "refresh-grace", nil, stackOptions{}) // the default grace period
		clientID := registerPublicClient(t, st, "Gatehouse e2e concurrent refresh")
		cfg, tok := authorizeXOAuth2(t, st, clientID)
		got, errs := refreshConcurrently(cfg, tok, processes)
		seen := map[string]bool{}
		for i, err := range errs {
			if err != nil {
				t.Fatalf("process %d: refresh failed: %v", i, err)
			}
			if status := mcpInitialize(t, st, got[i].AccessToken); status != http.StatusOK {
				t.Errorf("process %d: MCP initialize with its new token: %d", i, status)
			}
			if got[i].Extra("scope") != mcpScope {
				t.Errorf("process %d: token response scope = %v, want %q", i, got[i].Extra("scope"), mcpScope)
			}
			seen[got[i].RefreshToken] = true
		}
		if len(seen) != processes {
			t.Errorf("%d distinct refresh tokens for %d processes", len(seen), processes)
		}
		// Nothing was revoked: every process refreshes again with the
		// token it got (a revoked grant would refuse them all).
		for i := range got {
			again := *got[i]
			again.Expiry = time.Now().Add(-time.Minute)
			if _, err := freshConfig(cfg).TokenSource(context.Background(), &again).Token(); err != nil {
				t.Errorf("process %d: second refresh: %v", i, err)
			}
		}
		if n := countLogLines(t, st.gatehouse.logPath, "event=refresh_grace", "client_id="+clientID); n != processes-1 {
			t.Errorf("%d refresh_grace audit lines for %s, want %d", n, clientID, processes-1)
		}
	})
	t.Run("strict", func(t *testing.T) {
		st := startStack(t, "refresh-strict", nil) // strict: 0s
		clientID := registerPublicClient(t, st, "Gatehouse e2e strict refresh")
		cfg, tok := authorizeXOAuth2(t, st, clientID)
		got, errs := refreshConcurrently(cfg, tok, processes)
		wins := 0
		for i, err := range errs {
			var re *oauth2.RetrieveError
			switch {
			case err == nil:
				wins++
			case errors.As(err, &re) && re.ErrorCode == "invalid_grant":
			default:
				t.Errorf("process %d: %v, want success or invalid_grant", i, err)
			}
		}
		if wins != 1 {
			t.Fatalf("%d of %d strict refreshes succeeded, want 1", wins, processes)
		}
		// The losers revoked the grant, so even the winner's token is dead.
		for i := range got {
			if errs[i] != nil {
				continue
			}
			again := *got[i]
			again.Expiry = time.Now().Add(-time.Minute)
			_, err := freshConfig(cfg).TokenSource(context.Background(), &again).Token()
			var re *oauth2.RetrieveError
			if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
				t.Errorf("the winner's refresh token after reuse: %v, want invalid_grant", err)
			}
		}
		// The first loser revokes the grant; later ones may find it gone.
		if n := countLogLines(t, st.gatehouse.logPath, "event=refresh_reuse", "client_id="+clientID); n < 1 {
			t.Errorf("no refresh_reuse audit line for %s", clientID)
		}
	})
}

// authorizeXOAuth2 signs in and consents for a public client through the
// form driver and redeems the code with x/oauth2.
func authorizeXOAuth2(t *testing.T, st *stack, clientID string) (*oauth2.Config, *oauth2.Token) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cfg := &oauth2.Config{
		ClientID:    clientID,
		Endpoint:    oauth2.Endpoint{AuthURL: st.issuer + "/authorize", TokenURL: st.issuer + "/token", AuthStyle: oauth2.AuthStyleInParams},
		RedirectURL: driverRedirect,
		Scopes:      []string{mcpScope},
	}
	verifier, state := oauth2.GenerateVerifier(), rand.Text()
	driver := newFormDriver()
	defer driver.savePages(t)
	cb, err := driver.Run(ctx, cfg.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("resource", st.mcpURL)), driverRedirect)
	if err != nil {
		t.Fatal(err)
	}
	if cb.Query().Get("state") != state {
		t.Fatalf("callback %s", cb.Redacted())
	}
	tok, err := cfg.Exchange(ctx, cb.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil || tok.RefreshToken == "" {
		t.Fatalf("exchange: %v %+v", err, tok)
	}
	return cfg, tok
}

// freshConfig is another process's copy of the client configuration.
func freshConfig(cfg *oauth2.Config) *oauth2.Config {
	c := *cfg
	return &c
}

// refreshConcurrently starts n token sources holding the same expired
// token, releases them together, and returns what each got.
func refreshConcurrently(cfg *oauth2.Config, tok *oauth2.Token, n int) ([]*oauth2.Token, []error) {
	got, errs := make([]*oauth2.Token, n), make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		expired := *tok
		expired.Expiry = time.Now().Add(-time.Minute)
		src := freshConfig(cfg).TokenSource(context.Background(), &expired)
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			got[i], errs[i] = src.Token()
		}()
	}
	close(start)
	wg.Wait()
	return got, errs
}

// countLogLines counts the lines of a process log containing every part.
func countLogLines(t *testing.T, path string, parts ...string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			n++
		}
	}
	return n
}
