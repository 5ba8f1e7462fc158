package server

import (
	"github.com/prometheus/client_golang/prometheus"
)

// profileMetrics count what client profiles and the approval queue
// decide; the label values come from the configuration (profile names)
// or fixed lists, so their cardinality is bounded.
type profileMetrics struct {
	authorizations *prometheus.CounterVec
	ceilings       *prometheus.CounterVec
	approvals      *prometheus.CounterVec
	webhook        *prometheus.CounterVec
}

func newProfileMetrics(r *prometheus.Registry) profileMetrics {
	m := profileMetrics{
		authorizations: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gatehouse_profile_authorizations_total",
			Help: "Authorization codes issued, by client profile and how consent was settled (asked, remembered, skipped)."}, []string{"profile", "consent"}),
		ceilings: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gatehouse_profile_ceilings_total",
			Help: "Requests a client profile's ceiling changed or refused, by profile and ceiling (scopes, resources, access_token_ttl, refresh_tokens, refresh_token_max_ttl, client_credentials)."}, []string{"profile", "ceiling"}),
		approvals: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gatehouse_client_approvals_total",
			Help: "Approval queue decisions: queued (a new client waits), requeued (an approved client's metadata changed), approved, blocked, refused_pending and refused_blocked (a request turned away)."}, []string{"decision"}),
		webhook: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gatehouse_approval_webhook_total",
			Help: "approvals.webhook_url notices, by outcome (sent, retried, failed, dropped)."}, []string{"outcome"}),
	}
	r.MustRegister(m.authorizations, m.ceilings, m.approvals, m.webhook)
	return m
}

func (m *Metrics) authorizationIssued(profile, consent string) {
	if m != nil {
		m.profiles.authorizations.WithLabelValues(profile, consent).Inc()
	}
}

func (m *Metrics) ceilingApplied(profile, ceiling string) {
	if m != nil {
		m.profiles.ceilings.WithLabelValues(profile, ceiling).Inc()
	}
}

func (m *Metrics) approvalDecision(decision string) {
	if m != nil {
		m.profiles.approvals.WithLabelValues(decision).Inc()
	}
}

// WebhookOutcome counts one approval webhook outcome (notify.Deps.Observe).
func (m *Metrics) WebhookOutcome(outcome string) {
	if m != nil {
		m.profiles.webhook.WithLabelValues(outcome).Inc()
	}
}
