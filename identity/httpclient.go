package identity

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"
)

// Timeouts for calls to an upstream: the browser is waiting on the
// callback, so a stuck upstream must fail quickly with a clear page.
const (
	upstreamTimeout     = 10 * time.Second
	upstreamDialTimeout = 5 * time.Second
	// maxUpstreamBody bounds what an upstream answer may hold.
	maxUpstreamBody = 1 << 20
)

// NewHTTPClient returns the client used to reach an upstream: system roots
// plus the PEM bundle in caFile (for a provider behind a private CA), TLS
// 1.2 at least, timeouts on every phase. Redirects are not followed: no
// endpoint Gatehouse calls (token, userinfo, keys, REST API) redirects.
func NewHTTPClient(caFile string) (*http.Client, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("ca_file: %w", err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca_file %s holds no PEM certificate", caFile)
		}
	}
	t := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment, // the operator's network, the operator's proxy
		DialContext:           (&net.Dialer{Timeout: upstreamDialTimeout}).DialContext,
		TLSClientConfig:       &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:   upstreamDialTimeout,
		ResponseHeaderTimeout: upstreamTimeout,
		MaxIdleConnsPerHost:   8,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	return &http.Client{
		Transport:     t,
		Timeout:       upstreamTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}, nil
}
