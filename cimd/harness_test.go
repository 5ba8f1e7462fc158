package cimd

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// testHosts are the names the test CA certifies; the test resolver maps
// each to a public-looking address, the test dialer routes that address
// to the local TLS server.
var testHosts = []string{
	"client.example", "other.example", "internal.example", "keys.example", "cdn.example", "redirect-target.example",
	"claude.ai", "chatgpt.com", "vscode.dev", "zed.dev", "goose-docs.ai", "opencode.ai", "www.mcpjam.com",
	"atpaste.github.io", "beta.twitchat.fr", "app.example.com", "persistent.oaistatic.com",
}

// publicIP is what every test host resolves to unless a test says
// otherwise: globally routable, so the address policy passes it.
var publicIP = netip.MustParseAddr("93.184.215.14")

// testCA issues the certificate of the document host. It is created once
// per test binary: key generation is the slow part.
var testCA = sync.OnceValue(func() *caBundle {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Gatehouse test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	ca, _ := x509.ParseCertificate(der)
	leafKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "document host"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		DNSNames: testHosts, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &leafKey.PublicKey, key)
	if err != nil {
		panic(err)
	}
	return &caBundle{ca: ca, leaf: tls.Certificate{Certificate: [][]byte{leafDER}, PrivateKey: leafKey}}
})

type caBundle struct {
	ca   *x509.Certificate
	leaf tls.Certificate
}

// docHost is a real TLS server hosting documents for every test host,
// routed by Host header and path. It counts requests.
type docHost struct {
	srv *httptest.Server
	mu  sync.Mutex
	fns map[string]http.HandlerFunc // "host/path" -> handler
	hit map[string]int
}

func newDocHost(t testing.TB) *docHost {
	h := &docHost{fns: map[string]http.HandlerFunc{}, hit: map[string]int{}}
	h.srv = httptest.NewUnstartedServer(http.HandlerFunc(h.serve))
	h.srv.TLS = &tls.Config{Certificates: []tls.Certificate{testCA().leaf}}
	h.srv.EnableHTTP2 = true
	// Hostile-client tests end handshakes on purpose; keep the log quiet.
	h.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	h.srv.StartTLS()
	t.Cleanup(h.srv.Close)
	return h
}

func (h *docHost) serve(w http.ResponseWriter, r *http.Request) {
	key := r.Host + r.URL.Path
	h.mu.Lock()
	h.hit[key]++
	fn := h.fns[key]
	h.mu.Unlock()
	if fn == nil {
		http.NotFound(w, r)
		return
	}
	fn(w, r)
}

// handle installs a handler for an absolute URL ("https://host/path").
func (h *docHost) handle(url string, fn http.HandlerFunc) {
	key := hostPath(url)
	h.mu.Lock()
	h.fns[key] = fn
	h.mu.Unlock()
}

// serveJSON serves body with status 200, Content-Type application/json and
// the given extra header pairs.
func (h *docHost) serveJSON(url, body string, headerPairs ...string) {
	h.handle(url, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		for i := 0; i+1 < len(headerPairs); i += 2 {
			w.Header().Set(headerPairs[i], headerPairs[i+1])
		}
		fmt.Fprint(w, body)
	})
}

func (h *docHost) hits(url string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.hit[hostPath(url)]
}

func (h *docHost) totalHits() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, c := range h.hit {
		n += c
	}
	return n
}

func hostPath(url string) string {
	const p = "https://"
	if len(url) > len(p) && url[:len(p)] == p {
		return url[len(p):]
	}
	return url
}

// testNet is the injected DNS and dialer. Names resolve through answers
// (each lookup pops the next answer when a name has several, which is how
// the rebinding resolver works); dials to a routed address go to the local
// server, and the connection reports the routed (public) address as its
// peer, as a real connection to it would.
type testNet struct {
	mu      sync.Mutex
	answers map[string][][]netip.Addr
	routes  map[netip.Addr]string // address -> local listener "127.0.0.1:port"
	lookups map[string]int
	dials   []string
}

func newTestNet(server *docHost) *testNet {
	n := &testNet{answers: map[string][][]netip.Addr{}, routes: map[netip.Addr]string{}, lookups: map[string]int{}}
	for _, h := range testHosts {
		n.answers[h] = [][]netip.Addr{{publicIP}}
	}
	if server != nil {
		n.routes[publicIP] = server.srv.Listener.Addr().String()
	}
	return n
}

// resolveTo makes name answer with the given address lists, one per lookup
// (the last one repeats).
func (n *testNet) resolveTo(name string, answers ...[]netip.Addr) {
	n.mu.Lock()
	n.answers[name] = answers
	n.mu.Unlock()
}

func (n *testNet) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.lookups[host]++
	answers, ok := n.answers[host]
	if !ok || len(answers) == 0 {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	a := answers[0]
	if len(answers) > 1 {
		n.answers[host] = answers[1:]
	}
	return a, nil
}

func (n *testNet) Dial(ctx context.Context, network, address string) (net.Conn, error) {
	n.mu.Lock()
	n.dials = append(n.dials, address)
	ap, err := netip.ParseAddrPort(address)
	local, routed := n.routes[ap.Addr()]
	n.mu.Unlock()
	if err != nil || !routed {
		return nil, &net.OpError{Op: "dial", Net: network, Err: fmt.Errorf("test network: no route to %s", address)}
	}
	conn, err := (&net.Dialer{}).DialContext(ctx, network, local)
	if err != nil {
		return nil, err
	}
	return &routedConn{Conn: conn, remote: net.TCPAddrFromAddrPort(ap)}, nil
}

func (n *testNet) dialCount() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.dials)
}

func (n *testNet) lookupCount(host string) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.lookups[host]
}

type routedConn struct {
	net.Conn
	remote net.Addr
}

func (c *routedConn) RemoteAddr() net.Addr { return c.remote }
