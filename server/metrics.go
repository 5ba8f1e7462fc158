package server

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/gatehouse-dev/gatehouse/cimd"
	"github.com/gatehouse-dev/gatehouse/dcr"
)

// Metrics are Gatehouse's Prometheus metrics: every name has the
// gatehouse_ prefix, counters end in _total, durations are in seconds and
// sizes in bytes. They are served at /metrics on the admin listener.
type Metrics struct {
	Registry *prometheus.Registry

	httpRequests  *prometheus.CounterVec
	httpDuration  *prometheus.HistogramVec
	tokensIssued  *prometheus.CounterVec
	refreshReuse  prometheus.Counter
	refreshGrace  prometheus.Counter
	pending       *prometheus.CounterVec
	codeReplay    prometheus.Counter
	loginFailures *prometheus.CounterVec
	loginSlowed   prometheus.Counter
	trustedDevs   *prometheus.CounterVec
	cimdFetches   *prometheus.CounterVec
	cimdDuration  *prometheus.HistogramVec
	cimdCache     *prometheus.CounterVec
	upstream      *prometheus.CounterVec
	idJAG         *prometheus.CounterVec
	profiles      profileMetrics
}

// NewMetrics registers every metric (and the Go runtime and process
// collectors) in a fresh registry.
func NewMetrics() *Metrics {
	m := &Metrics{Registry: prometheus.NewRegistry()}
	m.httpRequests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gatehouse_http_requests_total",
		Help: "HTTP requests on the public listener, by route, method and status."}, []string{"route", "method", "status"})
	m.httpDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "gatehouse_http_request_duration_seconds",
		Help:    "Latency of HTTP requests on the public listener, by route and method.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}}, []string{"route", "method"})
	m.tokensIssued = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gatehouse_tokens_issued_total",
		Help: "Access tokens issued, by grant type."}, []string{"grant_type"})
	m.refreshReuse = prometheus.NewCounter(prometheus.CounterOpts{Name: "gatehouse_refresh_token_reuse_total",
		Help: "Rotated refresh tokens presented again; each revoked its grant."})
	m.refreshGrace = prometheus.NewCounter(prometheus.CounterOpts{Name: "gatehouse_refresh_token_grace_total",
		Help: "Rotated refresh tokens accepted again by their client within tokens.refresh_token_grace_period; none revoked anything."})
	m.pending = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gatehouse_authorize_pending_requests_total",
		Help: "Authorization requests too long for the sign-in URL, kept in the store during sign-in, by outcome: stored, resumed, expired (the handle was unknown or past its 15 minutes), throttled (too many from one address or in all)."},
		[]string{"outcome"})
	m.codeReplay = prometheus.NewCounter(prometheus.CounterOpts{Name: "gatehouse_authorization_code_replay_total",
		Help: "Authorization codes redeemed twice with a valid verifier; each revoked what it issued."})
	m.loginFailures = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gatehouse_login_failures_total",
		Help: "Failed sign-ins, by reason (bad_credentials, throttled, csrf)."}, []string{"reason"})
	m.loginSlowed = prometheus.NewCounter(prometheus.CounterOpts{Name: "gatehouse_login_slowed_total",
		Help: "Sign-in attempts paced because their account is past login.max_failures_per_account (one check per login.account_slowdown)."})
	m.trustedDevs = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gatehouse_login_trusted_devices_total",
		Help: "Trusted-device cookies (login.trusted_device_ttl), by event: issued at a password sign-in; exempted, a sign-in from a trusted browser that skipped the slowdown of an account under attack; exhausted, a cookie refused that because its own failures used up its allowance."}, []string{"event"})
	m.cimdFetches = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gatehouse_cimd_fetches_total",
		Help: "Fetches of client metadata documents, key sets and logos, by kind and outcome (ok, not_modified, timeout, too_large, blocked_address, bad_status, throttled, invalid_document, policy_denied, network_error). " +
			"throttled is a host rate limiting or challenging Gatehouse (429, 503, an HTML 403): the last valid copy is served within cimd.cache.stale_if_error. " +
			"Each fetch counts once, after its body is validated: a 200 whose document, key set or logo fails Gatehouse's rules is invalid_document. " +
			"policy_denied counts client_ids refused before any fetch (cimd.enabled, cimd.hosts.allow/deny, client_id URL rules); addresses refused at dial time are blocked_address."},
		[]string{"kind", "outcome"})
	m.cimdDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "gatehouse_cimd_fetch_duration_seconds",
		Help: "Latency of CIMD fetches (network time, not validation), by kind; policy_denied refusals send nothing and are not observed.", Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}}, []string{"kind"})
	m.cimdCache = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gatehouse_cimd_cache_events_total",
		Help: "CIMD cache events, by cache (document, jwks, logo) and event (hit, miss, revalidated, stale_served, evicted, backoff, dropped)."},
		[]string{"cache", "event"})
	m.registerIdentity()
	m.Registry.MustRegister(m.httpRequests, m.httpDuration, m.tokensIssued, m.refreshReuse, m.refreshGrace, m.pending, m.codeReplay,
		m.loginFailures, m.loginSlowed, m.trustedDevs, m.cimdFetches, m.cimdDuration, m.cimdCache,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.profiles = newProfileMetrics(m.Registry)
	return m
}

// FetchDone implements cimd.Observer. A policy refusal is counted but not
// timed: it sends nothing, and as it happens on every request for a refused
// host (no cache, no backoff) its zeros would drown the fetch latencies.
func (m *Metrics) FetchDone(kind cimd.Kind, outcome string, d time.Duration) {
	m.cimdFetches.WithLabelValues(string(kind), outcome).Inc()
	if outcome != cimd.OutcomePolicyDenied {
		m.cimdDuration.WithLabelValues(string(kind)).Observe(d.Seconds())
	}
}

// CacheEvent implements cimd.Observer.
func (m *Metrics) CacheEvent(kind cimd.Kind, event string) {
	m.cimdCache.WithLabelValues(string(kind), event).Inc()
}

// WatchCIMD exports the resolver's cache sizes, read at scrape time.
func (m *Metrics) WatchCIMD(r *cimd.Resolver) {
	m.Registry.MustRegister(&cacheCollector{r: r,
		entries:  prometheus.NewDesc("gatehouse_cimd_cache_entries", "Entries in each CIMD cache.", []string{"cache"}, nil),
		bytes:    prometheus.NewDesc("gatehouse_cimd_cache_bytes", "Bytes accounted to each CIMD cache.", []string{"cache"}, nil),
		maxBytes: prometheus.NewDesc("gatehouse_cimd_cache_max_bytes", "Byte bound of each CIMD cache (cimd.cache.*max_bytes).", []string{"cache"}, nil),
	})
}

// WatchDCR exports the registration counters, read at scrape time (they
// live in the service, which survives reloads).
func (m *Metrics) WatchDCR(s *dcr.Service) {
	st := s.Stats()
	m.Registry.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "gatehouse_dcr_registrations_total",
			Help: "Dynamic client registrations accepted (RFC 7591)."}, func() float64 { return float64(st.Registrations.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "gatehouse_dcr_registrations_deduplicated_total",
			Help: "Registrations merged into an identical unused one."}, func() float64 { return float64(st.Deduplicated.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "gatehouse_dcr_shared_updates_forked_total",
			Help: "Updates of a shared (deduplicated) client that moved the caller to a registration of its own instead of changing the client for everyone."}, func() float64 { return float64(st.Forked.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "gatehouse_dcr_first_tokens_total",
			Help: "Registered clients that obtained their first token (registrations that converted)."}, func() float64 { return float64(st.Converted.Load()) }),
	)
}

type cacheCollector struct {
	r                        *cimd.Resolver
	entries, bytes, maxBytes *prometheus.Desc
}

func (c *cacheCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.entries
	ch <- c.bytes
	ch <- c.maxBytes
}

func (c *cacheCollector) Collect(ch chan<- prometheus.Metric) {
	for _, info := range c.r.Caches() {
		kind := string(info.Kind)
		ch <- prometheus.MustNewConstMetric(c.entries, prometheus.GaugeValue, float64(info.Entries), kind)
		ch <- prometheus.MustNewConstMetric(c.bytes, prometheus.GaugeValue, float64(info.Stats.CostUsed), kind)
		ch <- prometheus.MustNewConstMetric(c.maxBytes, prometheus.GaugeValue, float64(info.Stats.MaxCost), kind)
	}
}

// The hooks below are nil-safe, so a server without metrics runs the same
// code.

func (m *Metrics) request(route, method string, status int, d time.Duration) {
	if m == nil {
		return
	}
	if route == "" {
		route = "unmatched"
	}
	m.httpRequests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.httpDuration.WithLabelValues(route, method).Observe(d.Seconds())
}

func (m *Metrics) tokenIssued(grantType string) {
	if m != nil {
		m.tokensIssued.WithLabelValues(grantType).Inc()
	}
}

func (m *Metrics) refreshReused() {
	if m != nil {
		m.refreshReuse.Inc()
	}
}

func (m *Metrics) refreshGraceUsed() {
	if m != nil {
		m.refreshGrace.Inc()
	}
}

func (m *Metrics) pendingRequest(outcome string) {
	if m != nil {
		m.pending.WithLabelValues(outcome).Inc()
	}
}

func (m *Metrics) codeReplayed() {
	if m != nil {
		m.codeReplay.Inc()
	}
}

func (m *Metrics) loginFailed(reason string) {
	if m != nil {
		m.loginFailures.WithLabelValues(reason).Inc()
	}
}

func (m *Metrics) trustedDevice(event string) {
	if m != nil {
		m.trustedDevs.WithLabelValues(event).Inc()
	}
}

func (m *Metrics) loginPaced() {
	if m != nil {
		m.loginSlowed.Inc()
	}
}
