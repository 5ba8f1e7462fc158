//go:build e2e

package e2e

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// balancer is the load balancer in front of several gatehouse instances:
// round robin, or pinned to one instance for a step of a test, and routing
// around an instance whose connection is refused (as a health-checking
// balancer does after it notices). It buffers each request body so that a
// request refused before reaching a dead instance can go to the next.
type balancer struct {
	url      string
	backends []string
	pin      atomic.Int32 // -1: round robin
	next     atomic.Uint32
	down     []atomic.Bool
	client   *http.Client
	srv      *http.Server
}

func startBalancer(t *testing.T, backends ...string) *balancer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &balancer{url: "http://" + ln.Addr().String(), backends: backends, down: make([]atomic.Bool, len(backends)),
		client: &http.Client{
			Timeout:       30 * time.Second,
			Transport:     &http.Transport{MaxIdleConnsPerHost: 64},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}}
	b.pin.Store(-1)
	b.srv = &http.Server{Handler: b, ReadHeaderTimeout: 5 * time.Second}
	go b.srv.Serve(ln)
	t.Cleanup(func() { b.srv.Close() })
	return b
}

// pinTo sends every request to instance i (-1: round robin again).
func (b *balancer) pinTo(i int) { b.pin.Store(int32(i)) }

func (b *balancer) choose() int {
	if p := int(b.pin.Load()); p >= 0 {
		return p
	}
	for range b.backends {
		i := int(b.next.Add(1)) % len(b.backends)
		if !b.down[i].Load() {
			return i
		}
	}
	return 0
}

func (b *balancer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	first := b.choose()
	for attempt := range len(b.backends) {
		i := (first + attempt) % len(b.backends)
		if attempt > 0 && (b.down[i].Load() || b.pin.Load() >= 0) {
			continue
		}
		req, err := http.NewRequestWithContext(r.Context(), r.Method, b.backends[i]+r.URL.RequestURI(), bytes.NewReader(body))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		req.Header = r.Header.Clone()
		resp, err := b.client.Do(req)
		if err != nil {
			if errors.Is(err, syscall.ECONNREFUSED) {
				b.down[i].Store(true) // never reached the instance: try the next
				continue
			}
			// The instance died with the request in flight: its outcome is
			// unknown, as a real balancer would report.
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.Header().Set("X-Served-By", b.backends[i])
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
		resp.Body.Close()
		return
	}
	http.Error(w, "no instance available", http.StatusBadGateway)
}
