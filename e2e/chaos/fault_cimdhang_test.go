//go:build chaos

package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestFaultCIMDHostHangs: a metadata host accepts every connection and
// never answers, while more authorizations name its clients than
// Gatehouse fetches at once (cimd.fetch.max_concurrent). The per-host
// limit (cimd.fetch.max_per_host) must hold, and every other client -
// CIMD on another host, DCR, static - must authorize while the hanging
// fetches are still waiting for their deadline: nobody waits behind them.
func TestFaultCIMDHostHangs(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	release := make(chan struct{})
	var inflight, peak atomic.Int64
	hang := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inflight.Add(1)
		defer inflight.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		select {
		case <-release:
			http.NotFound(w, r)
		case <-r.Context().Done():
		}
	}))
	hang.StartTLS()
	defer hang.Close()
	defer closeOnce(release)
	good := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"client_id":%q,"client_name":"Good host client","redirect_uris":[%q],"token_endpoint_auth_method":"none"}`,
			"https://"+r.Host+r.URL.Path, redirectURI)
	}))
	good.StartTLS()
	defer good.Close()
	caFile := writeCA(t, dir, hang)

	const maxConcurrent, maxPerHost = 16, 4
	extra := append(append(settings{}, dcrSettings...),
		fmt.Sprintf("cimd:\n  allow_private_addresses: true\n  extra_ca_file: %s\n  fetch:\n    timeout: 30s\n    max_concurrent: %d\n    max_per_host: %d",
			caFile, maxConcurrent, maxPerHost),
		"clients:\n  - client_id: static-app\n    redirect_uris: ["+redirectURI+"]\n    token_endpoint_auth_method: none")
	g, err := newGatehouse(gatehouseBin, dir, extra)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.addUser(ctx); err != nil {
		t.Fatal(err)
	}
	if err := g.start(ctx); err != nil {
		t.Fatal(err)
	}
	defer g.stop()
	a := newAgent(g.base, 8)
	b := newBrowser(a)
	if err := b.signIn(ctx, nil); err != nil {
		t.Fatal(err)
	}

	// More hanging authorizations than Gatehouse's global fetch limit,
	// each for a different client of the hanging host.
	const hangers = 2 * maxConcurrent
	var done atomic.Int64
	statuses := make(chan int, hangers)
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var wg sync.WaitGroup
	for i := range hangers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("https://%s/clients/%d.json", hostOf(hang), i)
			_, challenge := pkce()
			q := url.Values{"response_type": {"code"}, "client_id": {id}, "redirect_uri": {redirectURI},
				"code_challenge": {challenge}, "code_challenge_method": {"S256"}, "resource": {resourceURI}}
			resp, err := hc.Get(g.base + "/authorize?" + q.Encode())
			done.Add(1)
			if err != nil {
				statuses <- 0
				return
			}
			resp.Body.Close()
			statuses <- resp.StatusCode
		}()
	}
	deadline := time.Now().Add(20 * time.Second)
	for inflight.Load() < maxPerHost {
		if time.Now().After(deadline) {
			t.Fatalf("the hanging host saw %d fetches, want %d", inflight.Load(), maxPerHost)
		}
		time.Sleep(10 * time.Millisecond)
	}

	// Everyone else goes through while the hanging fetches wait.
	others := []*chain{{id: "static-app"}}
	for i := range 3 {
		others = append(others, &chain{id: fmt.Sprintf("https://%s/clients/%d.json", hostOf(good), i)})
	}
	w := &worker{a: a, b: b, tally: newTally(), killing: func() bool { return false }}
	if err := w.register(ctx); err != nil {
		t.Fatal(err)
	}
	others = append(others, w.chains[0])
	for _, c := range others {
		start := time.Now()
		_, challenge := pkce()
		az, err := b.authorize(ctx, c, challenge)
		if err != nil || az.code == "" {
			t.Fatalf("authorizing %s while a metadata host hangs: %v %s", c.id, err, az.last)
		}
		t.Logf("%s authorized in %v while %d fetches hang", c.id, time.Since(start).Round(time.Millisecond), inflight.Load())
	}
	if n := done.Load(); n != 0 {
		t.Fatalf("%d hanging authorizations returned before the others were done: the test proves nothing", n)
	}
	if p := peak.Load(); p > maxPerHost {
		t.Fatalf("the hanging host saw %d fetches at once; cimd.fetch.max_per_host is %d", p, maxPerHost)
	}

	// The host answers at last (404): the waiting authorizations end with
	// an error page, never a 5xx.
	closeOnce(release)
	wg.Wait()
	close(statuses)
	for s := range statuses {
		if s < 400 || s >= 500 {
			t.Fatalf("an authorization for a client of the failed host ended with %d, want a 4xx error page", s)
		}
	}
	if p := peak.Load(); p > maxPerHost {
		t.Fatalf("the hanging host saw %d fetches at once; cimd.fetch.max_per_host is %d", p, maxPerHost)
	}
}

var closeMu sync.Mutex

func closeOnce(ch chan struct{}) {
	closeMu.Lock()
	defer closeMu.Unlock()
	select {
	case <-ch:
	default:
		close(ch)
	}
}

func hostOf(s *httptest.Server) string {
	u, _ := url.Parse(s.URL)
	return u.Host
}

// writeCA saves the httptest certificate (the same for every httptest
// TLS server) for cimd.extra_ca_file.
func writeCA(t *testing.T, dir string, s *httptest.Server) string {
	t.Helper()
	path := filepath.Join(dir, "ca.pem")
	if err := writePEM(path, s.Certificate().Raw); err != nil {
		t.Fatal(err)
	}
	return path
}
