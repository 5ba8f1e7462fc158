package main

// Client ID Metadata Document hosts that come and go: TLS servers on
// loopback, each with a behaviour that changes phase by phase (slow,
// failing, gone, changing documents), serving documents for a few
// clients each.

import (
	"crypto/tls"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// Host behaviours.
const (
	hostSteady   = "steady"   // always serves valid documents: its clients must always work
	hostSlow     = "slow"     // answers after up to 3 s (some past the fetch deadline)
	hostFlaky    = "flaky"    // cycles through ok, 500, gone (connection refused), 404
	hostChanging = "changing" // a new client_name in every phase (consent asked again)
)

// docHost is one metadata host.
type docHost struct {
	kind  string
	addr  string // 127.0.0.1:PORT, fixed while the host comes and goes
	phase atomic.Int64
	tls   *tls.Config
	log   func(string, ...any)

	mu  sync.Mutex
	srv *http.Server // nil while the host is gone
}

// docHosts are every host of a soak, with the CA file Gatehouse trusts.
type docHosts struct {
	hosts  []*docHost
	caFile string
	stop   chan struct{}
	wg     sync.WaitGroup
}

// clientsPerHost is how many client documents each host serves.
const clientsPerHost = 5

func startDocHosts(dir string, kinds []string, log func(string, ...any)) (*docHosts, error) {
	// httptest's certificate is valid for 127.0.0.1; every host serves it.
	ts := httptest.NewTLSServer(http.NotFoundHandler())
	cert := ts.TLS.Certificates[0]
	d := &docHosts{caFile: filepath.Join(dir, "dochost-ca.pem"), stop: make(chan struct{})}
	err := writePEM(d.caFile, ts.Certificate().Raw)
	ts.Close()
	if err != nil {
		return nil, err
	}
	for _, k := range kinds {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		h := &docHost{kind: k, addr: fmt.Sprintf("127.0.0.1:%d", port), log: log,
			tls: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}}
		if err := h.up(); err != nil {
			return nil, err
		}
		d.hosts = append(d.hosts, h)
	}
	return d, nil
}

// writePEM saves a DER certificate as PEM (for cimd.extra_ca_file).
func writePEM(path string, der []byte) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

// run advances every host's phase every period until close.
func (d *docHosts) run(period time.Duration) {
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			select {
			case <-d.stop:
				return
			case <-t.C:
				for _, h := range d.hosts {
					h.next()
				}
			}
		}
	}()
}

func (d *docHosts) close() {
	close(d.stop)
	d.wg.Wait()
	for _, h := range d.hosts {
		h.down()
	}
}

// clientID is the URL of client k's document on the host.
func (h *docHost) clientID(k int) string { return fmt.Sprintf("https://%s/clients/%d.json", h.addr, k) }

// flakyPhases is the flaky host's cycle.
var flakyPhases = []string{"ok", "error", "gone", "ok", "missing"}

// state is what the host does in its current phase.
func (h *docHost) state() string {
	if h.kind == hostFlaky {
		return flakyPhases[h.phase.Load()%int64(len(flakyPhases))]
	}
	return "ok"
}

func (h *docHost) next() {
	h.phase.Add(1)
	if h.kind != hostFlaky {
		return
	}
	if h.state() == "gone" {
		h.down()
	} else if err := h.up(); err != nil {
		h.log("dochost %s: %v", h.addr, err)
	}
}

// up starts serving (again) on the host's address.
func (h *docHost) up() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.srv != nil {
		return nil
	}
	var ln net.Listener
	var err error
	for range 50 { // the port may linger briefly after a close
		if ln, err = net.Listen("tcp", h.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		return err
	}
	h.srv = &http.Server{Handler: http.HandlerFunc(h.serve), TLSConfig: h.tls, ReadHeaderTimeout: 5 * time.Second}
	go func(s *http.Server) { _ = s.ServeTLS(ln, "", "") }(h.srv)
	return nil
}

// down stops listening and drops every connection: the host is gone.
func (h *docHost) down() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.srv != nil {
		_ = h.srv.Close()
		h.srv = nil
	}
}

func (h *docHost) serve(w http.ResponseWriter, r *http.Request) {
	var k int
	if _, err := fmt.Sscanf(r.URL.Path, "/clients/%d.json", &k); err != nil || k < 0 || k >= clientsPerHost {
		http.NotFound(w, r)
		return
	}
	switch h.state() {
	case "error":
		http.Error(w, "upstream trouble", http.StatusInternalServerError)
		return
	case "missing":
		http.NotFound(w, r)
		return
	}
	if h.kind == hostSlow {
		select {
		case <-time.After(time.Duration(rand.Int64N(int64(3 * time.Second)))):
		case <-r.Context().Done():
			return
		}
	}
	name := fmt.Sprintf("Soak %s client %d", h.kind, k)
	if h.kind == hostChanging {
		name = fmt.Sprintf("%s, edition %d", name, h.phase.Load())
	}
	doc := map[string]any{"client_id": h.clientID(k), "client_name": name, "redirect_uris": []string{redirectURI},
		"token_endpoint_auth_method": "none", "grant_types": []string{"authorization_code", "refresh_token"},
		"response_types": []string{"code"}}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "max-age=2")
	_ = json.NewEncoder(w).Encode(doc)
}

// cimdSettings point Gatehouse at the hosts, with short cache lifetimes
// so that documents are fetched again and again during a soak.
func (d *docHosts) cimdSettings() settings {
	return settings{"cimd:\n  allow_private_addresses: true\n  extra_ca_file: " + d.caFile +
		"\n  fetch:\n    timeout: 2s\n  cache:\n    min_ttl: 1s\n    default_ttl: 2s\n    max_ttl: 5s\n    stale_if_error: 3s" +
		"\n    failure_backoff: 1s\n    failure_backoff_max: 4s\n    redirect_refetch_interval: 1s"}
}

// pick returns a random host and client index.
func (d *docHosts) pick(rng *rand.Rand) (*docHost, int) {
	if len(d.hosts) == 0 {
		return nil, 0
	}
	return d.hosts[rng.IntN(len(d.hosts))], rng.IntN(clientsPerHost)
}
