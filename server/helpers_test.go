package server

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/cimd"
	"github.com/gatehouse-dev/gatehouse/dcr"
	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/store/boltstore"
	"github.com/gatehouse-dev/gatehouse/store/storetest"
)

// cheapPasswords keeps argon2 fast in tests; the algorithm is the same.
var cheapPasswords = PasswordParams{Time: 1, MemoryKiB: 64, Threads: 1}

// testEnv is a real server on a real bbolt file, behind a real HTTP
// listener, with a manual clock.
type testEnv struct {
	t      *testing.T
	srv    *Server
	store  *boltstore.Store
	clock  *storetest.Clock
	http   *httptest.Server
	client *http.Client // keeps cookies, never follows redirects
	dir    string
	// clients are the static clients the server resolves.
	clients []*oauth.Client
	// dcr, when set, configures dynamic registration.
	dcr *dcr.Config
	reg *dcr.Service
	// metadata, when set, resolves https client IDs (CIMD).
	metadata *cimd.Resolver
	// logs, when set, receives the server's log as JSON lines.
	logs *syncBuffer
	// metrics, when set, records Prometheus metrics.
	metrics *Metrics
	// sleep, when set, replaces the server's real waits.
	sleep func(ctx context.Context, d time.Duration) error
}

// generousDeadline bounds real waits whose length is not under test (a
// CIMD fetch, a logo for the consent page), far above what a loaded CI
// machine needs on loopback, so that no test fails because it was slow.
const generousDeadline = 2 * time.Minute

func testConfig() Config {
	return Config{
		Issuer:         "http://localhost:8080",
		AccessTokenTTL: 10 * time.Minute,
		SessionTTL:     time.Hour,
		Login:          LoginLimits{MaxFailuresAccountIP: 5, MaxFailuresIP: 20, Window: 15 * time.Minute},
		BodyLimit:      64 << 10,
	}
}

func newTestEnv(t *testing.T, mutate ...func(*Config)) *testEnv {
	t.Helper()
	cfg := testConfig()
	for _, m := range mutate {
		m(&cfg)
	}
	env := &testEnv{t: t, clock: storetest.NewClock(), dir: t.TempDir()}
	env.openStore()
	env.start(cfg)
	return env
}

func (e *testEnv) openStore() {
	st, err := boltstore.Open(e.dir, boltstore.Options{Now: e.clock.Now, NoSync: true})
	if err != nil {
		e.t.Fatal(err)
	}
	e.store = st
	e.t.Cleanup(func() {
		if err := st.Check(); err != nil && !strings.Contains(err.Error(), "database not open") {
			e.t.Errorf("consistency check: %v", err)
		}
		st.Close()
	})
}

func (e *testEnv) start(cfg Config) {
	static, err := NewStaticClients(e.clients)
	if err != nil {
		e.t.Fatal(err)
	}
	chain := &ClientChain{Static: static}
	deps := Deps{Store: e.store, Now: e.clock.Now, Passwords: NewPasswordHasher(cheapPasswords), Clients: chain, Metrics: e.metrics, Sleep: e.sleep,
		LogoWait: generousDeadline}
	if e.logs != nil {
		deps.Logger = slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if e.dcr != nil {
		dc := *e.dcr
		dc.RegistrationURL = func(id string) string { return cfg.Issuer + registerPath + "/" + id }
		e.reg = dcr.New(dc, e.store, e.clock.Now, nil)
		chain.DCR, deps.Registration = e.reg, e.reg
	}
	if e.metadata != nil {
		chain.CIMD, deps.ClientKeys, deps.Logos, cfg.CIMD = e.metadata, e.metadata, e.metadata, true
		deps.IssuerKeys = e.metadata
	}
	if cfg.Register.MaxBody == 0 {
		cfg.Register = RegisterLimits{PerIPPerMinute: 1000, GlobalPerSecond: 1000, MaxBody: 16 << 10}
	}
	srv, err := New(context.Background(), cfg, deps)
	if err != nil {
		e.t.Fatal(err)
	}
	e.srv = srv
	e.http = httptest.NewServer(srv.Handler())
	e.t.Cleanup(e.http.Close)
	jar, _ := cookiejar.New(nil)
	e.client = &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// addUser creates an account through the same code path as the CLI.
func (e *testEnv) addUser(name, password string) {
	e.t.Helper()
	a := &Accounts{Store: e.store, Hasher: e.srv.passwords, Now: e.clock.Now}
	if _, err := a.Add(context.Background(), name, password); err != nil {
		e.t.Fatal(err)
	}
}

func (e *testEnv) get(path string, header ...string) (*http.Response, string) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.http.URL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return e.do(req)
}

func (e *testEnv) postForm(path string, form url.Values, header ...string) (*http.Response, string) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.http.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return e.do(req)
}

func (e *testEnv) do(req *http.Request) (*http.Response, string) {
	e.t.Helper()
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp, string(body)
}

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// csrfFrom extracts the CSRF token from a rendered form.
func csrfFrom(t *testing.T, body string) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no csrf_token in page:\n%s", body)
	}
	return m[1]
}

// login signs the env's browser in and returns the final response.
func (e *testEnv) login(username, password string, header ...string) (*http.Response, string) {
	e.t.Helper()
	_, page := e.get(loginPath)
	return e.postForm(loginPath, url.Values{
		"csrf_token": {csrfFrom(e.t, page)}, "username": {username}, "password": {password},
	}, header...)
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

func itoa(n int) string { return strconv.Itoa(n) }

func bufioReader(r io.Reader) *bufio.Reader { return bufio.NewReader(r) }

func newStartClock() *storetest.Clock { return storetest.NewClock() }

// syncBuffer collects log output written from many goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *syncBuffer) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Reset()
}
