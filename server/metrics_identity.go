package server

import "github.com/prometheus/client_golang/prometheus"

// registerIdentity adds the metrics of upstream sign-in and ID-JAG.
func (m *Metrics) registerIdentity() {
	m.upstream = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gatehouse_upstream_logins_total",
		Help: "Sign-ins through an upstream identity provider (login.providers), by provider id and outcome (ok, refused, upstream_failed, upstream_error, state_mismatch, no_state, no_code)."},
		[]string{"provider", "outcome"})
	m.idJAG = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gatehouse_id_jag_total",
		Help: "Identity assertion grants (ID-JAG, jwt-bearer at /token), by outcome (ok or the failing rule)."},
		[]string{"outcome"})
	m.Registry.MustRegister(m.upstream, m.idJAG)
}

func (m *Metrics) upstreamLogin(provider, outcome string) {
	if m != nil {
		m.upstream.WithLabelValues(provider, outcome).Inc()
	}
}

func (m *Metrics) idJAGDone(outcome string) {
	if m != nil {
		m.idJAG.WithLabelValues(outcome).Inc()
	}
}
