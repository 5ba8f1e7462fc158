// Command load drives a running Gatehouse with many concurrent clients and
// reports throughput and latency. It measures the server from outside, as
// a separate process (pin each to its own core with taskset).
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
package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

var (
	base     = flag.String("url", "http://127.0.0.1:8080", "Gatehouse base URL (the issuer)")
	mode     = flag.String("mode", "discovery", "discovery | client_credentials | authorize | authorize_login | exchange | register")
	conns    = flag.Int("c", 64, "concurrent clients")
	duration = flag.Duration("d", 10*time.Second, "how long to run")
	codes    = flag.Int("codes", 50000, "exchange: how many codes to mint first")
	user     = flag.String("user", "load", "user to sign in as (created with gatehouse user add)")
	password = flag.String("password", "load-test-password", "the user's password")
	client   = flag.String("client", "load-public", "public client ID")
	resource = flag.String("resource", "https://mcp.example.com/mcp", "resource indicator")
	redirect = flag.String("redirect", "http://127.0.0.1/callback", "the client's redirect URI")
	svcID    = flag.String("service", "load-service", "confidential client for client_credentials")
	svcPass  = flag.String("service-secret", "load-test-secret-0123456789", "its secret")
	docAddr  = flag.String("doc-addr", "127.0.0.1:8443", "dochost: where to serve the metadata document")
	caFile   = flag.String("ca", "/tmp/gatehouse-load-ca.pem", "dochost: where to write the document host's certificate")
	cimdID   = flag.String("cimd", "https://127.0.0.1:8443/oauth/client.json", "authorize_cimd: the CIMD client_id")
)

func main() {
	flag.Parse()
	transport := &http.Transport{MaxIdleConns: *conns * 2, MaxIdleConnsPerHost: *conns * 2}
	hc := &http.Client{Transport: transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var op func(i int64) error
	switch *mode {
	case "discovery":
		op = func(int64) error { return expect(hc.Get(*base + "/.well-known/oauth-authorization-server"))(200) }
	case "client_credentials":
		form := url.Values{"grant_type": {"client_credentials"}, "resource": {*resource}}.Encode()
		op = func(int64) error {
			req, _ := http.NewRequest(http.MethodPost, *base+"/token", strings.NewReader(form))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(*svcID, *svcPass)
			return expect(hc.Do(req))(200)
		}
	case "authorize_login":
		q := authorizeQuery()
		op = func(int64) error { return expect(hc.Get(*base + "/authorize?" + q))(302) }
	case "authorize_cimd":
		*client = *cimdID
		q := authorizeQuery()
		op = func(int64) error { return expect(hc.Get(*base + "/authorize?" + q))(302) }
	case "dochost":
		serveDocument()
		return
	case "authorize":
		signed := signIn(transport)
		q := authorizeQuery()
		op = func(int64) error { return expect(signed.Get(*base + "/authorize?" + q))(302) }
	case "exchange":
		op = exchangeOp(hc, transport)
	case "register":
		op = func(i int64) error {
			body := fmt.Sprintf(`{"redirect_uris":["http://127.0.0.1/callback"],"token_endpoint_auth_method":"none","client_name":"load-%d-%d"}`, time.Now().UnixNano(), i)
			return expect(hc.Post(*base+"/register", "application/json", strings.NewReader(body)))(201)
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
func signIn(t *http.Transport) *http.Client {
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
	resp, err := c.Get(*base + "/authorize?" + authorizeQuery())
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

func exchangeOp(hc *http.Client, t *http.Transport) func(int64) error {
	signed := signIn(t)
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
				resp, err := signed.Get(*base + "/authorize?" + q)
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
		return expect(hc.PostForm(*base+"/token", form))(200)
	}
}

var errExhausted = fmt.Errorf("out of codes")

type result struct {
	n, errs   int64
	elapsed   time.Duration
	latencies []time.Duration
	firstErr  string
}

func run(op func(int64) error) result {
	ctx, cancel := context.WithTimeout(context.Background(), *duration)
	defer cancel()
	var n, errs, seq atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for range *conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, 4096)
			for ctx.Err() == nil {
				t0 := time.Now()
				err := op(seq.Add(1) - 1)
				if err == errExhausted {
					cancel()
					break
				}
				local = append(local, time.Since(t0))
				n.Add(1)
				if err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				}
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	r := result{n: n.Load(), errs: errs.Load(), elapsed: time.Since(start), latencies: lat}
	if e, ok := firstErr.Load().(string); ok {
		r.firstErr = e
	}
	return r
}

func report(r result) {
	sort.Slice(r.latencies, func(i, j int) bool { return r.latencies[i] < r.latencies[j] })
	pct := func(p float64) time.Duration {
		if len(r.latencies) == 0 {
			return 0
		}
		return r.latencies[int(p*float64(len(r.latencies)-1))]
	}
	fmt.Printf("%s: %d requests in %v, %.0f req/s, p50 %v, p99 %v, errors %d\n", *mode, r.n, r.elapsed.Round(time.Millisecond),
		float64(r.n)/r.elapsed.Seconds(), pct(0.5).Round(time.Microsecond), pct(0.99).Round(time.Microsecond), r.errs)
	if r.firstErr != "" {
		fmt.Println("first error:", r.firstErr)
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

// serveDocument serves one client metadata document over TLS until killed.
func serveDocument() {
	ln, err := net.Listen("tcp", *docAddr)
	if err != nil {
		die("listen: %v", err)
	}
	url := "https://" + *docAddr + "/oauth/client.json"
	doc := fmt.Sprintf(`{"client_id":%q,"client_name":"Load CIMD client","redirect_uris":["http://127.0.0.1/callback"],"token_endpoint_auth_method":"none"}`, url)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "max-age=3600")
		io.WriteString(w, doc)
	}))
	srv.Listener.Close()
	srv.Listener = ln
	srv.StartTLS()
	if err := os.WriteFile(*caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644); err != nil {
		die("%v", err)
	}
	fmt.Fprintf(os.Stderr, "serving %s (certificate in %s)\n", url, *caFile)
	select {}
}
