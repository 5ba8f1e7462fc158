// Command load drives a running Gatehouse (or, with -peer, node-oidc-provider
// for comparison) with many concurrent clients and reports throughput and
// latency. It measures the server from outside, as a separate process (pin
// each to its own core with taskset).
//
//	go run ./e2e/load -mode discovery -c 64 -d 10s
//
// Modes: dochost (serves a CIMD document over TLS for authorize_cimd;
// start it first and give Gatehouse its certificate as cimd.extra_ca_file),
// authorize_cimd (a cached CIMD client, up to the redirect to sign-in),
// discovery, client_credentials, authorize (a signed-in user with
// remembered consent: one durable code write per request), exchange (codes
// minted first, then redeemed: one signature and one durable commit each),
// register (distinct public clients, one durable commit each),
// authorize_login (no session: validation and a redirect to sign-in).
//
// Endpoint URLs come from the server's metadata document (-discovery-path).
// With -peer the target is node-oidc-provider as set up in e2e/load/peer,
// for the modes both servers support (see peer.go).
package main

import (
	"crypto/sha256"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

var (
	base      = flag.String("url", "http://127.0.0.1:8080", "Gatehouse base URL (the issuer); with -peer the default is "+peerURL)
	mode      = flag.String("mode", "discovery", "discovery | client_credentials | authorize | authorize_login | authorize_cimd | exchange | refresh | register | dochost | postgres")
	pgURLFile = flag.String("pg-url-file", "e2e/load/.run/postgres.url", "-mode postgres: where to write the database's connection string")
	conns     = flag.Int("c", 64, "concurrent clients")
	duration  = flag.Duration("d", 10*time.Second, "how long to run")
	wait      = flag.Duration("wait", 30*time.Second, "how long to wait for the server to accept connections before the run (it may still be starting)")
	codes     = flag.Int("codes", 50000, "exchange: how many codes to mint first")
	nChains   = flag.Int("chains", 5000, "refresh: how many refresh token chains to mint first (at least -c)")
	user      = flag.String("user", "load", "user to sign in as (created with gatehouse user add)")
	password  = flag.String("password", "load-test-password", "the user's password")
	client    = flag.String("client", "load-public", "public client ID")
	resource  = flag.String("resource", "https://mcp.example.com/mcp", "resource indicator")
	redirect  = flag.String("redirect", "http://127.0.0.1/callback", "the client's redirect URI")
	svcID     = flag.String("service", "load-service", "confidential client for client_credentials")
	svcPass   = flag.String("service-secret", "load-test-secret-0123456789", "its secret")
	docAddr   = flag.String("doc-addr", "127.0.0.1:8443", "dochost: where to serve the metadata document")
	caFile    = flag.String("ca", "e2e/load/.run/ca.pem", "dochost: where to write the document host's certificate (the directory is created)")
	cimdID    = flag.String("cimd", "https://127.0.0.1:8443/oauth/client.json", "authorize_cimd: the CIMD client_id")
	docPath   = flag.String("discovery-path", gatehouseDiscovery, "path of the server's metadata document, which names the endpoints; with -peer the default is "+peerDiscovery)
	peer      = flag.Bool("peer", false, "target node-oidc-provider (e2e/load/peer) instead of Gatehouse: modes "+peerModes)
)

func main() {
	flag.Parse()
	switch *mode {
	case "dochost":
		serveDocument()
		return
	case "postgres":
		servePostgres()
		return
	}
	applyPeerDefaults()
	transport := &http.Transport{MaxIdleConns: *conns * 2, MaxIdleConnsPerHost: *conns * 2}
	hc := &http.Client{Transport: transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	ep := discover(hc)
	var op func(i int64) error
	switch *mode {
	case "discovery":
		op = func(int64) error { return expect(hc.Get(*base + *docPath))(200) }
	case "client_credentials":
		form := url.Values{"grant_type": {"client_credentials"}, "resource": {*resource}}.Encode()
		op = func(int64) error {
			req, _ := http.NewRequest(http.MethodPost, ep.Token, strings.NewReader(form))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(*svcID, *svcPass)
			return expect(hc.Do(req))(200)
		}
	case "authorize_login":
		q := authorizeQuery()
		op = func(int64) error { return expectSignInRedirect(hc.Get(ep.Authorize + "?" + q)) }
	case "authorize_cimd":
		*client = *cimdID
		q := authorizeQuery()
		op = func(int64) error { return expectSignInRedirect(hc.Get(ep.Authorize + "?" + q)) }
	case "authorize":
		signed := signIn(transport, ep)
		q := authorizeQuery()
		op = func(int64) error { return expect(signed.Get(ep.Authorize + "?" + q))(302) }
	case "exchange":
		op = exchangeOp(hc, transport, ep)
	case "refresh":
		op = refreshOp(hc, transport, ep)
	case "register":
		op = func(i int64) error {
			body := fmt.Sprintf(`{"redirect_uris":["http://127.0.0.1/callback"],"token_endpoint_auth_method":"none","client_name":"load-%d-%d"}`, time.Now().UnixNano(), i)
			return expect(hc.Post(ep.Registration, "application/json", strings.NewReader(body)))(201)
		}
	default:
		fmt.Fprintln(os.Stderr, "unknown -mode")
		os.Exit(2)
	}
	report(run(op))
}

// verifier is a fixed PKCE verifier: load measures the server, not PKCE.
const verifier = "load-test-verifier-load-test-verifier-0123456789"

func authorizeQuery() string {
	sum := sha256.Sum256([]byte(verifier))
	return url.Values{"response_type": {"code"}, "client_id": {*client}, "redirect_uri": {*redirect}, "state": {"s"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
		"resource": {*resource}, "scope": {"files:read"}}.Encode()
}

var hiddenRE = regexp.MustCompile(`name="([^"]+)" value="([^"]*)"`)

// signIn logs in through the real pages and approves consent once, so
// later authorization requests go straight back with a code.
func signIn(t *http.Transport, ep endpoints) *http.Client {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Transport: t, Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	form := func(page string) url.Values {
		v := url.Values{}
		for _, m := range hiddenRE.FindAllStringSubmatch(page, -1) {
			v.Set(m[1], strings.ReplaceAll(strings.ReplaceAll(m[2], "&amp;", "&"), "&#43;", "+"))
		}
		return v
	}
	page := body(c.Get(*base + "/login"))
	v := form(page)
	v.Set("username", *user)
	v.Set("password", *password)
	if resp, err := c.PostForm(*base+"/login", v); err != nil || resp.StatusCode != 303 {
		die("sign in as %s failed (create the user with: gatehouse user add %s --password-stdin)", *user, *user)
	}
	resp, err := c.Get(ep.Authorize + "?" + authorizeQuery())
	if err != nil {
		die("authorize: %v", err)
	}
	if resp.StatusCode == 200 { // first time: approve
		v = form(body(resp, nil))
		v.Set("decision", "allow")
		resp, _ = c.PostForm(*base+"/consent", v)
	} else {
		resp.Body.Close()
	}
	return c
}

func exchangeOp(hc *http.Client, t *http.Transport, ep endpoints) func(int64) error {
	signed := signIn(t, ep)
	q := authorizeQuery()
	minted := make([]string, *codes)
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range *conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1) - 1; i < int64(len(minted)); i = next.Add(1) - 1 {
				resp, err := signed.Get(ep.Authorize + "?" + q)
				if err != nil {
					die("mint: %v", err)
				}
				resp.Body.Close()
				loc, _ := url.Parse(resp.Header.Get("Location"))
				minted[i] = loc.Query().Get("code")
			}
		}()
	}
	wg.Wait()
	fmt.Fprintf(os.Stderr, "minted %d codes in %v\n", len(minted), time.Since(start).Round(time.Millisecond))
	return func(i int64) error {
		if i >= int64(len(minted)) {
			return errExhausted
		}
		form := url.Values{"grant_type": {"authorization_code"}, "code": {minted[i]}, "code_verifier": {verifier},
			"redirect_uri": {*redirect}, "client_id": {*client}}
		return expect(hc.PostForm(ep.Token, form))(200)
	}
}

func expect(resp *http.Response, err error) func(int) error {
	return func(status int) error {
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != status {
			return fmt.Errorf("status %d, want %d", resp.StatusCode, status)
		}
		return nil
	}
}

func body(resp *http.Response, err error) string {
	if err != nil {
		die("%v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func die(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "load: "+format+"\n", args...)
	os.Exit(1)
}
