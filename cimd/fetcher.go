package cimd

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"net/http/httptrace"
	"sync/atomic"
	"time"

	"github.com/gatehouse-dev/gatehouse/policy"
)

// Request is one fetch.
type Request struct {
	Kind Kind
	URL  string
	// ETag and LastModified, when set, make the request conditional
	// (If-None-Match / If-Modified-Since): a 304 answer is then a success.
	ETag         string
	LastModified string
}

// Response is a successful fetch: status 200 with a body that passed the
// kind's type and size checks, or 304 Not Modified (no body).
type Response struct {
	URL         string
	Status      int
	Header      http.Header
	Body        []byte
	ContentType string // the media type; for logos, the sniffed one
	RemoteAddr  string // the vetted address the connection went to
	FetchedAt   time.Time
	Duration    time.Duration
}

// Fetcher is the SSRF-safe HTTP client for documents, key sets and logos
// (CIMD -02 §5, §8.6). It is safe for concurrent use and keeps connections
// to document hosts alive.
type Fetcher struct {
	cfg         FetchConfig
	public      *http.Client // public addresses (plus private+loopback in development mode)
	trusted     *http.Client // also private addresses: only for TrustedPrivateURLs
	trustedURLs atomic.Pointer[map[string]bool]
	limits      *limiter
	now         func() time.Time
	obs         observer
	transports  []*http.Transport
}

// NewFetcher builds a fetcher from the configuration and dependencies.
func NewFetcher(cfg Config, deps Deps) *Fetcher {
	deps = deps.withDefaults()
	tlsConf := &tls.Config{RootCAs: rootPool(cfg.ExtraRootCAs), MinVersion: tls.VersionTLS12}
	f := &Fetcher{
		cfg:    cfg.Fetch,
		limits: newLimiter(cfg.Fetch.MaxConcurrent, cfg.Fetch.MaxPerHost),
		now:    deps.Now,
		obs:    observer{deps.Observer},
	}
	f.setTrusted(cfg.TrustedPrivateURLs)
	dev := cfg.AllowPrivateAddresses
	f.public = f.newClient(cfg.Fetch, tlsConf, deps, addrPolicy{allowPrivate: dev, allowLoopback: dev})
	// A separate client, so a connection opened to a private address for a
	// trusted URL is never reused for another URL on the same host.
	f.trusted = f.newClient(cfg.Fetch, tlsConf, deps, addrPolicy{allowPrivate: true, allowLoopback: dev})
	return f
}

// setTrusted replaces the exact URLs that may resolve to private addresses.
func (f *Fetcher) setTrusted(urls []string) {
	set := make(map[string]bool, len(urls))
	for _, u := range urls {
		set[u] = true
	}
	f.trustedURLs.Store(&set)
}

func rootPool(extra []*x509.Certificate) *x509.CertPool {
	pool, err := x509.SystemCertPool() // a copy: adding to it changes nothing else
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	for _, c := range extra {
		pool.AddCert(c)
	}
	return pool
}

func (f *Fetcher) newClient(cfg FetchConfig, tlsConf *tls.Config, deps Deps, p addrPolicy) *http.Client {
	d := &vettedDialer{resolver: deps.Resolver, dial: deps.Dial, connectTimeout: cfg.ConnectTimeout, policy: p}
	t := &http.Transport{
		// Never a proxy: it would resolve the name itself, after our check.
		Proxy:                  nil,
		DialContext:            d.DialContext,
		TLSClientConfig:        tlsConf.Clone(),
		TLSHandshakeTimeout:    cfg.TLSHandshakeTimeout,
		ResponseHeaderTimeout:  cfg.Timeout,
		MaxResponseHeaderBytes: 16 << 10,
		// No transparent gzip: bodies arrive as sent and the byte cap
		// applies to what the host sends, so a gzip bomb cannot expand.
		DisableCompression:  true,
		ForceAttemptHTTP2:   true,
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: cfg.MaxPerHost,
		IdleConnTimeout:     90 * time.Second,
	}
	f.transports = append(f.transports, t)
	return &http.Client{
		Transport: t,
		// CIMD -02 §5.1: redirects MUST NOT be followed. The 3xx comes back
		// as the response and fails the status check.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// CloseIdleConnections drops kept-alive connections (tests, shutdown).
func (f *Fetcher) CloseIdleConnections() {
	for _, t := range f.transports {
		t.CloseIdleConnections()
	}
}

// Fetch performs one GET with every guard of the package doc and reports
// it to the Observer: a 200 as ok, a 304 as not_modified, a failure under
// its outcome. Errors are *FetchError values classified by outcome.
func (f *Fetcher) Fetch(ctx context.Context, req Request) (*Response, error) {
	return f.fetchValidated(ctx, req, nil)
}

// fetchValidated is Fetch for callers that validate what they fetched: the
// outcome is reported only after validate has judged a 200 response, and
// a body it refuses is reported as invalid_document rather than ok, so the
// metric counts each fetch exactly once under its final outcome. validate
// runs only for a 200; the error returned is the fetch's own (the caller's
// closure keeps validate's). The latency reported excludes validation.
func (f *Fetcher) fetchValidated(ctx context.Context, req Request, validate func(*Response) error) (*Response, error) {
	start := f.now()
	resp, err := f.fetch(ctx, req, start)
	took := f.now().Sub(start)
	outcome := OutcomeOf(err)
	switch {
	case err != nil:
	case resp.Status == http.StatusNotModified:
		outcome = OutcomeNotModified
	case validate != nil && validate(resp) != nil:
		outcome = OutcomeInvalidDocument
	}
	f.obs.fetchDone(req.Kind, outcome, took)
	return resp, err
}

// fetch is one GET, unreported.
func (f *Fetcher) fetch(ctx context.Context, req Request, start time.Time) (*Response, error) {
	if err := policy.CheckMetadataURL(string(req.Kind)+" URL", req.URL); err != nil {
		outcome := OutcomePolicyDenied
		if OutcomeOf(err) == OutcomeBlockedAddress {
			outcome = OutcomeBlockedAddress
		}
		return nil, fetchErr(outcome, req.URL, "", err, "%s", err)
	}
	ctx, cancel := context.WithTimeout(ctx, f.cfg.Timeout)
	defer cancel()
	httpReq, err := f.newRequest(ctx, req)
	if err != nil {
		return nil, err
	}
	release, err := f.limits.acquire(ctx, httpReq.URL.Host)
	if err != nil {
		return nil, fetchErr(OutcomeTimeout, req.URL, specFetch, err,
			"no fetch slot for %s within %s (cimd.fetch.max_concurrent / max_per_host)", httpReq.URL.Host, f.cfg.Timeout)
	}
	defer release()

	client := f.public
	if (*f.trustedURLs.Load())[req.URL] {
		client = f.trusted
	}
	var remote string
	httpReq = httpReq.WithContext(httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) { remote = addrOnly(info.Conn.RemoteAddr()) },
	}))
	httpResp, err := client.Do(httpReq)
	if err != nil {
		return nil, classifyTransportError(ctx, req.URL, httpReq.URL.Hostname(), err)
	}
	defer httpResp.Body.Close()
	resp, err := f.readResponse(ctx, req, httpResp)
	if err != nil {
		return nil, err
	}
	resp.RemoteAddr = remote
	resp.FetchedAt = start
	resp.Duration = f.now().Sub(start)
	return resp, nil
}

func (f *Fetcher) newRequest(ctx context.Context, req Request) (*http.Request, error) {
	httpReq, err := http.NewRequestWithContext(ctx, http.MethodGet, req.URL, nil)
	if err != nil {
		return nil, fetchErr(OutcomePolicyDenied, req.URL, specFetch, err, "%s URL cannot be requested", req.Kind)
	}
	httpReq.Header.Set("User-Agent", f.cfg.UserAgent)
	httpReq.Header.Set("Accept", acceptHeader(req.Kind))
	httpReq.Header.Set("Accept-Encoding", "identity")
	if req.ETag != "" {
		httpReq.Header.Set("If-None-Match", req.ETag)
	}
	if req.LastModified != "" {
		httpReq.Header.Set("If-Modified-Since", req.LastModified)
	}
	return httpReq, nil
}

func acceptHeader(kind Kind) string {
	switch kind {
	case KindJWKS:
		return "application/jwk-set+json, application/json"
	case KindLogo:
		return "image/png, image/jpeg, image/gif, image/webp"
	}
	return "application/json"
}

func (f *Fetcher) maxBytes(kind Kind) int64 {
	switch kind {
	case KindJWKS:
		return f.cfg.MaxJWKSBytes
	case KindLogo:
		return f.cfg.MaxLogoBytes
	}
	return f.cfg.MaxBytes
}

func addrOnly(a net.Addr) string {
	if a == nil {
		return ""
	}
	if host, _, err := net.SplitHostPort(a.String()); err == nil {
		return host
	}
	return a.String()
}

// classifyTransportError maps what http.Client.Do returned onto an outcome.
func classifyTransportError(ctx context.Context, url, host string, err error) *FetchError {
	var fe *FetchError
	if errors.As(err, &fe) {
		fe.URL = url
		return fe
	}
	if errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil || isTimeout(err) {
		return fetchErr(OutcomeTimeout, url, specFetch, err, "fetching from %s timed out", host)
	}
	var certErr *tls.CertificateVerificationError
	if errors.As(err, &certErr) {
		return fetchErr(OutcomeNetworkError, url, specFetch, err, "TLS certificate of %s is not trusted", host)
	}
	return fetchErr(OutcomeNetworkError, url, specFetch, err, "could not fetch from %s (connection or protocol error)", host)
}
