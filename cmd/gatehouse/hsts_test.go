package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeSelfSignedCert writes a certificate for 127.0.0.1 and its key as
// PEM files and returns their paths and a pool trusting the certificate.
func writeSelfSignedCert(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestHSTSWhenGatehouseTerminatesTLS runs the real serve command with
// tls.cert_file and checks Strict-Transport-Security on every kind of
// response: a page, a JSON document, an OAuth error, an unknown path and a
// wrong method. Without TLS (a proxy terminates it) the header is absent
// whatever tls.hsts_max_age says, and 0s turns it off.
func TestHSTSWhenGatehouseTerminatesTLS(t *testing.T) {
	certFile, keyFile, pool := writeSelfSignedCert(t)
	client := &http.Client{
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	probe := func(base string) map[string]string {
		t.Helper()
		out := map[string]string{}
		for _, r := range []struct{ method, path string }{
			{"GET", "/login"}, {"GET", "/.well-known/oauth-authorization-server"}, {"POST", "/token"},
			{"GET", "/no-such-page"}, {"DELETE", "/jwks.json"}, {"GET", "/authorize?client_id=nobody"}, {"GET", "/healthz"},
		} {
			req, _ := http.NewRequest(r.method, base+r.path, strings.NewReader(""))
			resp, err := client.Do(req)
			if err != nil {
				t.Fatalf("%s %s: %v", r.method, r.path, err)
			}
			resp.Body.Close()
			out[r.method+" "+r.path] = resp.Header.Get("Strict-Transport-Security")
		}
		return out
	}
	withTLS := func(maxAge time.Duration) func(*Config) {
		return func(c *Config) {
			c.Issuer, c.TLS.CertFile, c.TLS.KeyFile, c.TLS.HSTSMaxAge = "https://localhost:8443", certFile, keyFile, maxAge
		}
	}

	base, stop := startServe(t, t.TempDir(), withTLS(Defaults().TLS.HSTSMaxAge))
	for req, h := range probe(base) {
		if h != "max-age=31536000" {
			t.Errorf("TLS, default max-age: %s: Strict-Transport-Security = %q, want max-age=31536000", req, h)
		}
	}
	stop()

	base, stop = startServe(t, t.TempDir(), withTLS(90*time.Second))
	for req, h := range probe(base) {
		if h != "max-age=90" {
			t.Errorf("TLS, 90s: %s: Strict-Transport-Security = %q", req, h)
		}
	}
	stop()

	base, stop = startServe(t, t.TempDir(), withTLS(0))
	for req, h := range probe(base) {
		if h != "" {
			t.Errorf("TLS, 0s: %s: Strict-Transport-Security = %q, want none", req, h)
		}
	}
	stop()

	base, stop = startServe(t, t.TempDir(), func(c *Config) { c.TLS.HSTSMaxAge = time.Hour })
	defer stop()
	for req, h := range probe(base) {
		if h != "" {
			t.Errorf("plain HTTP behind a proxy: %s: Strict-Transport-Security = %q, want none", req, h)
		}
	}
}

func TestHSTSMaxAgeValidation(t *testing.T) {
	for _, tc := range []struct {
		v  time.Duration
		ok bool
	}{{0, true}, {time.Second, true}, {365 * 24 * time.Hour, true}, {-time.Second, false}, {1500 * time.Millisecond, false}} {
		cfg := Defaults()
		cfg.TLS.HSTSMaxAge = tc.v
		var found bool
		for _, p := range cfg.Validate() {
			found = found || p.Key == "tls.hsts_max_age"
		}
		if found == tc.ok {
			t.Errorf("tls.hsts_max_age = %s: problem reported = %v, want %v", tc.v, found, !tc.ok)
		}
	}
}

func TestLoginLimitValidation(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*LoginConfig)
		key    string
	}{
		{"no per-address-and-account allowance", func(l *LoginConfig) { l.MaxFailuresAccountIP = 0 }, "login.max_failures_per_account_ip"},
		{"account limit below one address's", func(l *LoginConfig) { l.MaxFailuresAccount = 5 }, "login.max_failures_per_account"},
		{"no slowdown", func(l *LoginConfig) { l.AccountSlowdown = 0 }, "login.account_slowdown"},
		{"slowdown past the queue bound", func(l *LoginConfig) { l.AccountSlowdown = time.Minute }, "login.account_slowdown"},
		{"negative trusted-device lifetime", func(l *LoginConfig) { l.TrustedDeviceTTL = -time.Hour }, "login.trusted_device_ttl"},
		{"trusted device past what browsers keep", func(l *LoginConfig) { l.TrustedDeviceTTL = 500 * 24 * time.Hour }, "login.trusted_device_ttl"},
	} {
		cfg := Defaults()
		tc.mutate(&cfg.Login)
		var found bool
		for _, p := range cfg.Validate() {
			found = found || p.Key == tc.key
		}
		if !found {
			t.Errorf("%s: no problem reported for %s", tc.name, tc.key)
		}
	}
}
