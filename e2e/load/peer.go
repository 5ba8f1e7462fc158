package main

// Targets: Gatehouse, or node-oidc-provider (e2e/load/peer) for side-by-side
// runs. Both are driven through the endpoint URLs their metadata document
// names, so the same request reaches /token on one and /token on the other,
// /authorize on one and /auth on the other, /register and /reg.

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"
)

const (
	gatehouseDiscovery = "/.well-known/oauth-authorization-server" // RFC 8414
	peerDiscovery      = "/.well-known/openid-configuration"       // what node-oidc-provider is usually asked for
	peerURL            = "http://127.0.0.1:3000"
	// peerModes are the modes that need nothing but the endpoints of the
	// metadata document. authorize and exchange sign in through Gatehouse's
	// own /login and /consent pages, which node-oidc-provider does not have.
	peerModes = "discovery, client_credentials, register, authorize_login, authorize_cimd"
)

// applyPeerDefaults points -url and -discovery-path at node-oidc-provider
// when -peer is given, unless they were set explicitly.
func applyPeerDefaults() {
	if !*peer {
		return
	}
	set := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if !set["url"] {
		*base = peerURL
	}
	if !set["discovery-path"] {
		*docPath = peerDiscovery
	}
	if !strings.Contains(", "+peerModes+", ", ", "+*mode+", ") {
		die("-mode %s is not supported with -peer (supported: %s)", *mode, peerModes)
	}
}

// endpoints are the URLs the load modes call, read from the server's
// metadata document.
type endpoints struct {
	Authorize    string `json:"authorization_endpoint"`
	Token        string `json:"token_endpoint"`
	Registration string `json:"registration_endpoint"`
}

// discover reads the metadata document once, before the measurement. Each
// endpoint keeps its path but is rebased onto -url, so that a server
// listening somewhere other than its issuer (another port for a side run)
// is still the one measured.
func discover(hc *http.Client) endpoints {
	resp, err := getWhileStarting(hc, *base+*docPath, *wait)
	if err != nil {
		die("metadata document: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		die("metadata document %s%s: status %d", *base, *docPath, resp.StatusCode)
	}
	var ep endpoints
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&ep); err != nil {
		die("metadata document: %v", err)
	}
	for _, e := range []*string{&ep.Authorize, &ep.Token, &ep.Registration} {
		if *e == "" {
			continue // a mode that needs it fails with a clear status below
		}
		u, err := url.Parse(*e)
		if err != nil {
			die("metadata document: endpoint %q: %v", *e, err)
		}
		*e = strings.TrimSuffix(*base, "/") + u.EscapedPath()
	}
	if *mode == "register" && ep.Registration == "" {
		die("the server does not advertise a registration_endpoint")
	}
	fmt.Fprintf(os.Stderr, "endpoints from %s%s: authorize %s, token %s, register %s\n", *base, *docPath, ep.Authorize, ep.Token, ep.Registration)
	return ep
}

// getWhileStarting GETs url, retrying for up to wait while nothing
// accepts the connection: a server started in the background just before
// the load generator is often still opening its store.
func getWhileStarting(hc *http.Client, url string, wait time.Duration) (*http.Response, error) {
	deadline := time.Now().Add(wait)
	said := false
	for {
		resp, err := hc.Get(url)
		if err == nil || !errors.Is(err, syscall.ECONNREFUSED) || time.Now().After(deadline) {
			return resp, err
		}
		if !said {
			fmt.Fprintf(os.Stderr, "waiting up to %s for the server at %s\n", wait, url)
			said = true
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// expectSignInRedirect accepts an authorization request that ends in a
// redirect to the server's sign-in step: Gatehouse answers 302 to its
// /login page, node-oidc-provider 303 to /interaction/<uid>. A redirect to
// the client's redirect_uri is an error response (RFC 6749 §4.1.2.1), not
// a success.
func expectSignInRedirect(resp *http.Response, err error) error {
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther {
		return fmt.Errorf("status %d, want a redirect (302 or 303) to sign-in", resp.StatusCode)
	}
	if loc := resp.Header.Get("Location"); loc == "" || strings.HasPrefix(loc, *redirect) {
		return fmt.Errorf("redirect to %q, want one to the sign-in step", loc)
	}
	return nil
}
