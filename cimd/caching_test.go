package cimd

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/oauth"
)

var bg = context.Background()

// mutableDoc serves a document whose body, headers and status a test can
// change between requests, and records conditional request headers.
type mutableDoc struct {
	mu          sync.Mutex
	body        string
	status      int
	etag        string
	cc          string
	ifNoneMatch []string
}

func (m *mutableDoc) set(fn func(*mutableDoc)) {
	m.mu.Lock()
	fn(m)
	m.mu.Unlock()
}

func (m *mutableDoc) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ifNoneMatch = append(m.ifNoneMatch, r.Header.Get("If-None-Match"))
	if m.status != 0 && m.status != http.StatusOK {
		w.WriteHeader(m.status)
		return
	}
	if m.cc != "" {
		w.Header().Set("Cache-Control", m.cc)
	}
	if m.etag != "" {
		w.Header().Set("ETag", m.etag)
		if r.Header.Get("If-None-Match") == m.etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprint(w, m.body)
}

func serveMutable(e *env, body string) *mutableDoc {
	m := &mutableDoc{body: body, cc: "max-age=300"}
	e.host.handle(testClientID, m.ServeHTTP)
	return m
}

func mustResolve(t *testing.T, e *env) *oauth.Client {
	t.Helper()
	c, err := e.r.Resolve(bg, testClientID)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestTTLFromCacheControlThenRefetch(t *testing.T) {
	e := newEnv(t)
	m := serveMutable(e, doc(testClientID))
	mustResolve(t, e)
	e.clock.Advance(299 * time.Second)
	mustResolve(t, e)
	if n := e.host.hits(testClientID); n != 1 {
		t.Fatalf("%d fetches within max-age=300; want 1", n)
	}
	m.set(func(m *mutableDoc) { m.body = doc(testClientID, "http://127.0.0.1/new") })
	e.clock.Advance(2 * time.Second)
	c := mustResolve(t, e)
	if n := e.host.hits(testClientID); n != 2 || c.Metadata.RedirectURIs[0] != "http://127.0.0.1/new" {
		t.Fatalf("after expiry: %d fetches, redirects %v; want a refetch with the new document", n, c.Metadata.RedirectURIs)
	}
}

func TestNoStoreIsKeptForMinTTL(t *testing.T) {
	e := newEnv(t)
	m := serveMutable(e, doc(testClientID))
	m.set(func(m *mutableDoc) { m.cc = "no-store" })
	mustResolve(t, e)
	e.clock.Advance(29 * time.Second)
	mustResolve(t, e) // an authorization request and its token exchange share one fetch
	if n := e.host.hits(testClientID); n != 1 {
		t.Fatalf("%d fetches within min_ttl; want 1", n)
	}
	e.clock.Advance(2 * time.Second)
	mustResolve(t, e)
	if n := e.host.hits(testClientID); n != 2 {
		t.Fatalf("%d fetches after min_ttl; want 2", n)
	}
}

func TestETagRevalidation(t *testing.T) {
	e := newEnv(t)
	m := serveMutable(e, doc(testClientID))
	m.set(func(m *mutableDoc) { m.etag = `"v1"` })
	first := mustResolve(t, e)
	e.clock.Advance(301 * time.Second)
	second := mustResolve(t, e)
	if second != first {
		t.Fatal("a 304 must keep the same validated client")
	}
	if got := m.ifNoneMatch; len(got) != 2 || got[0] != "" || got[1] != `"v1"` {
		t.Fatalf("If-None-Match headers %q; want none, then \"v1\"", got)
	}
	if e.obs.fetch("document/not_modified") != 1 || e.obs.event("document/revalidated") != 1 {
		t.Fatalf("observer: %v %v", e.obs.fetches, e.obs.events)
	}
	// The 304 renewed the lifetime: no request for another 300 s.
	e.clock.Advance(299 * time.Second)
	mustResolve(t, e)
	if n := e.host.hits(testClientID); n != 2 {
		t.Fatalf("%d requests; the 304 did not renew the entry", n)
	}
	entries := e.r.Entries()
	if len(entries) != 1 || entries[0].ETag != `"v1"` || !entries[0].ExpiresAt.Equal(e.clock.Now().Add(time.Second)) {
		t.Fatalf("entries = %+v", entries)
	}
}

func TestStaleIfErrorWindow(t *testing.T) {
	e := newEnv(t) // stale_if_error 1h, backoff 30s doubling to 5m
	m := serveMutable(e, doc(testClientID))
	first := mustResolve(t, e)
	m.set(func(m *mutableDoc) { m.status = http.StatusServiceUnavailable })
	e.clock.Advance(301 * time.Second)
	c, err := e.r.Resolve(bg, testClientID)
	if err != nil || c != first {
		t.Fatalf("5xx on refresh: %v; want the last valid copy", err)
	}
	if e.obs.event("document/stale_served") != 1 {
		t.Fatal("stale serve not reported")
	}
	// During the backoff the stale copy is served without any request.
	hits := e.host.hits(testClientID)
	for range 5 {
		if _, err := e.r.Resolve(bg, testClientID); err != nil {
			t.Fatal(err)
		}
	}
	if e.host.hits(testClientID) != hits {
		t.Fatal("requests were made during the failure backoff")
	}
	// Past the window (expiry + 1h), the copy is no longer served.
	e.clock.Advance(time.Hour)
	_, err = e.r.Resolve(bg, testClientID)
	if OutcomeOf(err) != OutcomeThrottled || !strings.Contains(err.Error(), "503") {
		t.Fatalf("after the stale window: %v; want the 503", err)
	}
}

func TestNetworkErrorServesStale(t *testing.T) {
	e := newEnv(t)
	serveMutable(e, doc(testClientID))
	first := mustResolve(t, e)
	e.net.routes[publicIP] = "127.0.0.1:1" // the host goes away
	e.r.fetcher.CloseIdleConnections()
	e.clock.Advance(301 * time.Second)
	c, err := e.r.Resolve(bg, testClientID)
	if err != nil || c != first {
		t.Fatalf("network error on refresh: %v; want the stale copy", err)
	}
	if e.obs.fetch("document/network_error") != 1 {
		t.Fatalf("fetch outcomes %v", e.obs.fetches)
	}
}

func TestGoneAndNotFoundEvictAtOnce(t *testing.T) {
	for _, status := range []int{http.StatusNotFound, http.StatusGone} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			e := newEnv(t)
			m := serveMutable(e, doc(testClientID))
			mustResolve(t, e)
			m.set(func(m *mutableDoc) { m.status = status })
			e.clock.Advance(301 * time.Second)
			_, err := e.r.Resolve(bg, testClientID)
			if OutcomeOf(err) != OutcomeBadStatus {
				t.Fatalf("err = %v", err)
			}
			if len(e.r.Entries()) != 0 || e.obs.event("document/evicted") != 1 {
				t.Fatal("the client survived a 404/410")
			}
		})
	}
}

func TestInvalidRefreshEvicts(t *testing.T) {
	e := newEnv(t)
	m := serveMutable(e, doc(testClientID))
	mustResolve(t, e)
	m.set(func(m *mutableDoc) { m.body = `{"client_id":"` + testClientID + `","client_secret":"x"}` })
	e.clock.Advance(301 * time.Second)
	_, err := e.r.Resolve(bg, testClientID)
	if OutcomeOf(err) != OutcomeInvalidDocument || !strings.Contains(err.Error(), "client_secret") {
		t.Fatalf("err = %v", err)
	}
	if len(e.r.Entries()) != 0 {
		t.Fatal("an invalid document left the old copy cached")
	}
}

func TestFailureBackoffFailsFastAndGrows(t *testing.T) {
	e := newEnv(t)
	m := serveMutable(e, "")
	m.set(func(m *mutableDoc) { m.status = http.StatusInternalServerError })
	for range 3 {
		_, err := e.r.Resolve(bg, testClientID)
		if OutcomeOf(err) != OutcomeBadStatus {
			t.Fatalf("err = %v", err)
		}
	}
	if n := e.host.hits(testClientID); n != 1 {
		t.Fatalf("%d requests; the backoff should fail the next two fast", n)
	}
	_, err := e.r.Resolve(bg, testClientID)
	if !strings.Contains(err.Error(), "not retried for 30s (failure backoff)") {
		t.Fatalf("err = %v; want it to say when Gatehouse retries", err)
	}
	if oauth.Code(err) != oauth.ErrCodeInvalidClient || e.obs.event("document/backoff") != 3 {
		t.Fatalf("code %q, backoff events %d", oauth.Code(err), e.obs.event("document/backoff"))
	}
	steps := []struct {
		advance time.Duration
		fetches int
	}{
		{30 * time.Second, 2}, // first pause 30s: retry, fail again
		{30 * time.Second, 2}, // second pause is 60s: still waiting
		{30 * time.Second, 3}, // 60s later: retry
	}
	for i, s := range steps {
		e.clock.Advance(s.advance)
		e.r.Resolve(bg, testClientID)
		if n := e.host.hits(testClientID); n != s.fetches {
			t.Fatalf("step %d: %d requests; want %d", i, n, s.fetches)
		}
	}
	// Success clears the backoff.
	m.set(func(m *mutableDoc) { m.status = http.StatusOK; m.body = doc(testClientID) })
	e.clock.Advance(2 * time.Minute)
	mustResolve(t, e)
}

func TestPurgeAndRefresh(t *testing.T) {
	e := newEnv(t)
	m := serveMutable(e, doc(testClientID))
	mustResolve(t, e)
	m.set(func(m *mutableDoc) { m.body = doc(testClientID, "http://127.0.0.1/v2") })
	c, err := e.r.Refresh(bg, testClientID)
	if err != nil || c.Metadata.RedirectURIs[0] != "http://127.0.0.1/v2" {
		t.Fatalf("Refresh = %v, %v", c, err)
	}
	e.r.Purge(testClientID)
	if len(e.r.Entries()) != 0 {
		t.Fatal("Purge left the entry")
	}
	mustResolve(t, e)
	e.r.PurgeAll()
	if len(e.r.Entries()) != 0 {
		t.Fatal("PurgeAll left entries")
	}
	if n := e.host.hits(testClientID); n != 3 {
		t.Fatalf("%d requests; want 3", n)
	}
}

// 1000 concurrent resolutions of one uncached client_id: one request.
func TestStampedeMakesOneFetch(t *testing.T) {
	e := newEnv(t)
	release := make(chan struct{})
	var requests atomic.Int32
	e.host.handle(testClientID, func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		<-release
		jsonHandler(doc(testClientID))(w, r)
	})
	const n = 1000
	var started, done sync.WaitGroup
	clients := make([]*oauth.Client, n)
	errs := make([]error, n)
	for i := range n {
		started.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			started.Done()
			clients[i], errs[i] = e.r.Resolve(bg, testClientID)
		}()
	}
	started.Wait()
	for requests.Load() == 0 {
		time.Sleep(time.Millisecond) // wait for the one fetch to reach the host
	}
	close(release)
	done.Wait()
	for i := range n {
		if errs[i] != nil || clients[i] != clients[0] {
			t.Fatalf("goroutine %d: %v / different client", i, errs[i])
		}
	}
	if got := requests.Load(); got != 1 {
		t.Fatalf("%d requests reached the document host; want 1", got)
	}
}

// RFC 9111 §4.3.4: a 304 without caching headers renews the entry under
// the stored response's Cache-Control.
func TestNotModifiedWithoutHeadersKeepsStoredFreshness(t *testing.T) {
	e := newEnv(t)
	var requests atomic.Int32
	e.host.handle(testClientID, func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified) // no Cache-Control on the 304
			return
		}
		w.Header().Set("Cache-Control", "max-age=3600")
		w.Header().Set("ETag", `"v1"`)
		jsonHandler(doc(testClientID))(w, r)
	})
	mustResolve(t, e)
	e.clock.Advance(3601 * time.Second)
	mustResolve(t, e) // 304
	e.clock.Advance(3599 * time.Second)
	mustResolve(t, e)
	if n := requests.Load(); n != 2 {
		t.Fatalf("%d requests; the 304 should have renewed the entry for max-age=3600", n)
	}
	if r := e.r.Entries()[0].TTLReason; !strings.Contains(r, "max-age=3600") {
		t.Fatalf("TTL reason %q", r)
	}
}

// During a backoff, the last valid copy stands in only for transient
// failures: after a 403 it is not served past its freshness.
func TestBackoffServesStaleOnlyForTransientFailures(t *testing.T) {
	for _, tt := range []struct {
		status    int
		wantStale bool
	}{{http.StatusServiceUnavailable, true}, {http.StatusForbidden, false}} {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			e := newEnv(t, func(c *Config) { c.Cache.FailureBackoff = time.Minute })
			m := serveMutable(e, doc(testClientID))
			m.set(func(m *mutableDoc) { m.cc = "max-age=30" })
			first := mustResolve(t, e)
			m.set(func(m *mutableDoc) { m.status = tt.status })
			e.clock.Advance(time.Second)
			// A forced refetch (new redirect) fails: the fresh copy stays.
			if _, err := e.r.ResolveForRedirect(bg, testClientID, "http://127.0.0.1/other"); err == nil {
				t.Fatal("unregistered redirect accepted")
			}
			if c, err := e.r.Resolve(bg, testClientID); err != nil || c != first {
				t.Fatalf("fresh copy lost after a failed forced refetch: %v", err)
			}
			e.clock.Advance(39 * time.Second) // expired, still in backoff
			c, err := e.r.Resolve(bg, testClientID)
			if tt.wantStale && (err != nil || c != first) {
				t.Fatalf("503: %v; want the stale copy", err)
			}
			if !tt.wantStale && OutcomeOf(err) != OutcomeBadStatus {
				t.Fatalf("403: %v; want the 403 without a stale copy", err)
			}
			if n := e.host.hits(testClientID); n != 2 {
				t.Fatalf("%d requests; the backoff should have prevented the third", n)
			}
		})
	}
}
