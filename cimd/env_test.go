package cimd

import (
	"crypto/x509"
	"fmt"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/store/storetest"
)

// recorder is an Observer that counts what it is told.
type recorder struct {
	mu       sync.Mutex
	fetches  map[string]int // "kind/outcome"
	events   map[string]int // "kind/event"
	lastKind Kind
}

func newRecorder() *recorder {
	return &recorder{fetches: map[string]int{}, events: map[string]int{}}
}

func (r *recorder) FetchDone(kind Kind, outcome string, d time.Duration) {
	r.mu.Lock()
	r.fetches[string(kind)+"/"+outcome]++
	r.lastKind = kind
	r.mu.Unlock()
}

func (r *recorder) CacheEvent(kind Kind, event string) {
	r.mu.Lock()
	r.events[string(kind)+"/"+event]++
	r.mu.Unlock()
}

func (r *recorder) fetch(key string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.fetches[key]
}

// fetchCounts is a copy of every fetch count, for exact comparisons.
func (r *recorder) fetchCounts() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.fetches)
}

func (r *recorder) event(key string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.events[key]
}

// env is a resolver wired to the test network, host, clock and observer.
type env struct {
	host  *docHost
	net   *testNet
	clock *storetest.Clock // injected: tests advance it instead of sleeping
	obs   *recorder
	cfg   Config
	r     *Resolver
}

// testConfig is DefaultConfig trusting the test CA, with fetch deadlines
// far above anything a loaded CI machine needs for a TLS handshake on
// loopback: a test whose subject is a deadline sets its own, so no other
// test can fail because the machine was slow.
func testConfig() Config {
	cfg := DefaultConfig()
	cfg.ExtraRootCAs = []*x509.Certificate{testCA().ca}
	cfg.Fetch.Timeout = generousDeadline
	cfg.Fetch.ConnectTimeout = generousDeadline
	cfg.Fetch.TLSHandshakeTimeout = generousDeadline
	return cfg
}

// generousDeadline bounds fetches whose deadline is not under test.
const generousDeadline = 2 * time.Minute

func newEnv(t testing.TB, mutate ...func(*Config)) *env {
	t.Helper()
	e := &env{host: newDocHost(t), clock: storetest.NewClock(), obs: newRecorder(), cfg: testConfig()}
	e.net = newTestNet(e.host)
	for _, m := range mutate {
		m(&e.cfg)
	}
	r, err := NewResolver(e.cfg, e.deps())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	e.r = r
	return e
}

func (e *env) deps() Deps {
	return Deps{Now: e.clock.Now, Resolver: e.net, Dial: e.net.Dial, Observer: e.obs}
}

// fetcher builds a standalone fetcher on the same network and config.
func (e *env) fetcher(mutate ...func(*Config)) *Fetcher {
	cfg := e.cfg
	for _, m := range mutate {
		m(&cfg)
	}
	return NewFetcher(cfg, e.deps())
}

// doc is a minimal valid public-client document for clientID.
func doc(clientID string, redirects ...string) string {
	if len(redirects) == 0 {
		redirects = []string{"http://localhost/callback"}
	}
	list := ""
	for i, r := range redirects {
		if i > 0 {
			list += ","
		}
		list += fmt.Sprintf("%q", r)
	}
	return fmt.Sprintf(`{"client_id":%q,"client_name":"Test Client","redirect_uris":[%s]}`, clientID, list)
}
