//go:build e2e

package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// docHost serves Client ID Metadata Documents over real TLS on loopback,
// with a certificate from a CA made for this run. Gatehouse trusts that CA
// through cimd.extra_ca_file, as an operator would trust a private CA.
type docHost struct {
	origin string // https://127.0.0.1:PORT
	host   string // 127.0.0.1:PORT, what the consent page shows
	caFile string
	srv    *http.Server
	logf   func(format string, args ...any)

	mu      sync.Mutex
	docs    map[string][]byte  // path -> document
	fetches map[string]int     // path -> GETs received (found or not)
	refusal map[string]refusal // path -> how the host refuses it for now
}

// refusal is how a document host that stopped serving a document answers.
type refusal struct {
	status      int
	contentType string
	retryAfter  string
	body        string
}

func startDocHost(t *testing.T) *docHost {
	t.Helper()
	caCert, caKey := newCA(t)
	leafCert, leafKey := newLeaf(t, caCert, caKey)
	dir := t.TempDir()
	d := &docHost{caFile: filepath.Join(dir, "e2e-ca.pem"), docs: map[string][]byte{}, fetches: map[string]int{}, refusal: map[string]refusal{}}
	if err := os.WriteFile(d.caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caCert.Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d.host = ln.Addr().String()
	d.origin = "https://" + d.host
	logFile, err := os.Create(filepath.Join(artifactsDir, "cimd-dochost.log"))
	if err != nil {
		t.Fatal(err)
	}
	var logMu sync.Mutex
	d.logf = func(format string, args ...any) {
		logMu.Lock()
		defer logMu.Unlock()
		fmt.Fprintf(logFile, time.Now().Format(time.RFC3339Nano)+" "+format+"\n", args...)
	}
	d.srv = &http.Server{
		Handler:           http.HandlerFunc(d.serve),
		ReadHeaderTimeout: 10 * time.Second,
		TLSConfig: &tls.Config{
			MinVersion:   tls.VersionTLS12,
			Certificates: []tls.Certificate{{Certificate: [][]byte{leafCert.Raw, caCert.Raw}, PrivateKey: leafKey, Leaf: leafCert}},
		},
	}
	go d.srv.ServeTLS(ln, "", "")
	t.Cleanup(func() {
		d.srv.Close()
		logFile.Close()
	})
	return d
}

func (d *docHost) serve(w http.ResponseWriter, r *http.Request) {
	d.mu.Lock()
	doc, ok := d.docs[r.URL.Path]
	ref, refused := d.refusal[r.URL.Path]
	if r.Method == http.MethodGet {
		d.fetches[r.URL.Path]++
	}
	d.mu.Unlock()
	d.logf("%s %s ua=%q accept=%q -> found=%v refused=%d", r.Method, r.URL.RequestURI(), r.UserAgent(), r.Header.Get("Accept"), ok, ref.status)
	if refused {
		if ref.contentType != "" {
			w.Header().Set("Content-Type", ref.contentType)
		}
		if ref.retryAfter != "" {
			w.Header().Set("Retry-After", ref.retryAfter)
		}
		w.WriteHeader(ref.status)
		w.Write([]byte(ref.body))
		return
	}
	if !ok {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "max-age=300")
	w.Write(doc)
}

// addClient publishes a client's metadata document at /oauth/<name>.json
// and returns its URL, which is the client_id.
func (d *docHost) addClient(t testing.TB, name string, redirectURIs ...string) string {
	t.Helper()
	return d.addClientAt(t, d.origin, name, redirectURIs...)
}

// addClientAt is addClient with a client_id on another origin that
// reaches this host: https://localhost:PORT names the same listener as
// https://127.0.0.1:PORT, yet it is another client_id host.
func (d *docHost) addClientAt(t testing.TB, origin, name string, redirectURIs ...string) string {
	t.Helper()
	return d.addClientDoc(t, origin, name, map[string]any{
		"redirect_uris": redirectURIs,
		// What real agents declare: the scope they use first. It is no
		// ceiling, so the TS SDK v2 steps up past it.
		"scope": mcpScope,
	})
}

// addClientDoc publishes a public client's document at
// origin/oauth/<name>.json, with fields added or replaced, and returns
// its URL, the client_id.
func (d *docHost) addClientDoc(t testing.TB, origin, name string, fields map[string]any) string {
	t.Helper()
	path := "/oauth/" + name + ".json"
	clientID := origin + path
	m := map[string]any{
		"client_id":                  clientID,
		"client_name":                "Gatehouse e2e " + name,
		"client_uri":                 origin + "/",
		"grant_types":                []string{"authorization_code", "refresh_token"},
		"response_types":             []string{"code"},
		"token_endpoint_auth_method": "none",
	}
	for k, v := range fields {
		m[k] = v
	}
	doc, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	d.mu.Lock()
	d.docs[path] = doc
	d.mu.Unlock()
	writeArtifact(t, "cimd-doc-"+strings.ReplaceAll(name, "/", "_")+".json", doc)
	return clientID
}

// refuse makes the host answer the document of clientID with ref from now
// on; a zero ref serves it again.
func (d *docHost) refuse(clientID string, ref refusal) {
	path := strings.TrimPrefix(clientID, d.origin)
	d.mu.Lock()
	defer d.mu.Unlock()
	if ref.status == 0 {
		delete(d.refusal, path)
		return
	}
	d.refusal[path] = ref
}

// fetchCount is how many times Gatehouse fetched the document of clientID.
func (d *docHost) fetchCount(clientID string) int {
	path := clientID
	if u, err := url.Parse(clientID); err == nil {
		path = u.Path
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.fetches[path]
}

func newCA(t testing.TB) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "Gatehouse e2e test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

func newLeaf(t testing.TB, ca *x509.Certificate, caKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}
