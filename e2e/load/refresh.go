package main

// The refresh mode: each operation rotates one refresh token (one durable
// transaction: the old token marked, the new one stored, the grant
// updated) and gets a new access token.

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"

	"encoding/json"
)

// refreshOp mints -chains refresh token chains (through /authorize and
// the code exchange, -c at a time), then each operation takes a chain,
// refreshes it and puts the new token back, so no two requests present
// the same token.
//
// Many chains, because a grant keeps the IDs of its unexpired access
// tokens (to revoke them with it): a chain refreshed hundreds of times
// within the access token lifetime, as a few chains under full load are,
// measures a grant record grown far past what any client makes (one
// refresh per access token lifetime), not a rotation.
func refreshOp(hc *http.Client, t *http.Transport, ep endpoints) func(int64) error {
	signed := signIn(t, ep)
	q := authorizeQuery()
	n := max(*nChains, *conns)
	chains := make(chan string, n)
	var wg sync.WaitGroup
	start := time.Now()
	todo := make(chan struct{}, n)
	for range n {
		todo <- struct{}{}
	}
	close(todo)
	for range *conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range todo {
				resp, err := signed.Get(ep.Authorize + "?" + q)
				if err != nil {
					die("mint: %v", err)
				}
				resp.Body.Close()
				loc, _ := url.Parse(resp.Header.Get("Location"))
				form := url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")}, "code_verifier": {verifier},
					"redirect_uri": {*redirect}, "client_id": {*client}}
				tok, err := tokenResponse(hc.PostForm(ep.Token, form))
				if err != nil {
					die("exchange for a refresh token: %v", err)
				}
				chains <- tok
			}
		}()
	}
	wg.Wait()
	fmt.Fprintf(os.Stderr, "minted %d refresh token chains in %v\n", len(chains), time.Since(start).Round(time.Millisecond))
	return func(int64) error {
		rt := <-chains
		form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {*client}}
		next, err := tokenResponse(hc.PostForm(ep.Token, form))
		if err != nil {
			chains <- rt // keep the chain count; the next use will fail too and show up as errors
			return err
		}
		chains <- next
		return nil
	}
}

// tokenResponse reads a 200 token response's refresh_token.
func tokenResponse(resp *http.Response, err error) (string, error) {
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var body struct {
		RefreshToken string `json:"refresh_token"`
		Error        string `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK || body.RefreshToken == "" {
		return "", fmt.Errorf("status %d %s", resp.StatusCode, body.Error)
	}
	return body.RefreshToken, nil
}
