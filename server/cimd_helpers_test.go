package server

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/cimd"
	"github.com/gatehouse-dev/gatehouse/store/storetest"
)

// docHost serves client metadata documents, key sets and logos over real
// TLS on 127.0.0.1, and counts what is fetched.
type docHost struct {
	srv   *httptest.Server
	mu    sync.Mutex
	files map[string]hostedFile
	hits  sync.Map // path -> *atomic.Int64
	// delay holds every response, so concurrent resolutions pile up.
	delay time.Duration
}

type hostedFile struct {
	body   []byte
	ctype  string
	header http.Header
	status int
}

func newDocHost(t testing.TB) *docHost {
	t.Helper()
	h := &docHost{files: map[string]hostedFile{}}
	h.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := h.hits.LoadOrStore(r.URL.Path, new(atomic.Int64))
		n.(*atomic.Int64).Add(1)
		h.mu.Lock()
		f, ok := h.files[r.URL.Path]
		delay := h.delay
		h.mu.Unlock()
		time.Sleep(delay)
		if !ok {
			http.NotFound(w, r)
			return
		}
		for k, v := range f.header {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Type", f.ctype)
		status := f.status
		if status == 0 {
			status = http.StatusOK
		}
		w.WriteHeader(status)
		w.Write(f.body)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *docHost) url(path string) string { return h.srv.URL + path }

// publish serves a metadata document at path; client_id defaults to the
// URL it is served at.
func (h *docHost) publish(path string, doc map[string]any) string {
	if _, ok := doc["client_id"]; !ok {
		doc["client_id"] = h.url(path)
	}
	body, _ := json.Marshal(doc)
	h.serve(path, body, "application/json", nil)
	return h.url(path)
}

func (h *docHost) serve(path string, body []byte, ctype string, header http.Header) {
	h.mu.Lock()
	h.files[path] = hostedFile{body: body, ctype: ctype, header: header}
	h.mu.Unlock()
}

func (h *docHost) fetches(path string) int64 {
	n, ok := h.hits.Load(path)
	if !ok {
		return 0
	}
	return n.(*atomic.Int64).Load()
}

// cimdResolver builds a resolver that trusts the host's certificate and
// may fetch from loopback (cimd.allow_private_addresses, development),
// with generous fetch deadlines: no server test is about them.
func cimdResolver(t *testing.T, host *docHost, mutate ...func(*cimd.Config)) func(*storetest.Clock) *cimd.Resolver {
	return func(clock *storetest.Clock) *cimd.Resolver {
		cfg := cimd.DefaultConfig()
		cfg.AllowPrivateAddresses = true
		cfg.ExtraRootCAs = []*x509.Certificate{host.srv.Certificate()}
		cfg.Fetch.Timeout = generousDeadline
		cfg.Fetch.ConnectTimeout = generousDeadline
		cfg.Fetch.TLSHandshakeTimeout = generousDeadline
		for _, m := range mutate {
			m(&cfg)
		}
		r, err := cimd.NewResolver(cfg, cimd.Deps{Now: clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(r.Close)
		return r
	}
}

// newCIMDEnv is an OAuth env whose server resolves https client IDs from
// documents on host.
func newCIMDEnv(t *testing.T, host *docHost, mutate ...func(*cimd.Config)) *oauthEnv {
	t.Helper()
	return newOAuthEnvFull(t, envOptions{CIMD: cimdResolver(t, host, mutate...)})
}

// publicDoc is a public CIMD client like Claude Code's: portless loopback
// redirect URIs, authorization_code and refresh_token, auth none.
func publicDoc() map[string]any {
	return map[string]any{
		"client_name": "Agent CLI", "redirect_uris": []string{"http://127.0.0.1/callback", "http://localhost/callback"},
		"grant_types":    []string{"authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:jwt-bearer"},
		"response_types": []string{"code"}, "token_endpoint_auth_method": "none",
	}
}

// tinyPNG is a 1x1 PNG, a raster logo.
var tinyPNG, _ = base64.StdEncoding.DecodeString("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")
