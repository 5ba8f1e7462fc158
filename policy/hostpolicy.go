package policy

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// HostPolicy is the operator's domain policy for CIMD client_id hosts
// (cimd.hosts.allow / cimd.hosts.deny; CIMD -02 §8.9 trust policy,
// Gatehouse decision §6.9).
//
// A pattern is either an exact host ("claude.ai", "10.1.2.3", "::1") or a
// wildcard "*.example.com", which matches every subdomain at any depth
// ("a.example.com", "a.b.example.com") but NOT the apex "example.com":
// list the apex separately if it should match too. Matching is
// case-insensitive and ignores the port.
//
// Deny wins over allow. An empty Allow list means "any host" (subject to
// the SSRF rules, which are not this policy's business); a non-empty Allow
// list means "only these".
type HostPolicy struct {
	Allow []string
	Deny  []string
}

// Check reports whether host (without port or IPv6 brackets) may act as a
// CIMD client host. It returns nil or a *RuleError ("host-denied",
// "host-not-allowed"). It performs no I/O and does not allocate when the
// host is accepted.
func (p HostPolicy) Check(host string) error {
	for _, d := range p.Deny {
		if MatchHostPattern(d, host) {
			return ruleErr(RuleHostDenied, SpecTrustPolicy, fmt.Sprintf(
				"host %q is denied by the operator (cimd.hosts.deny pattern %q)", host, d))
		}
	}
	if len(p.Allow) == 0 {
		return nil
	}
	for _, a := range p.Allow {
		if MatchHostPattern(a, host) {
			return nil
		}
	}
	return ruleErr(RuleHostNotAllowed, SpecTrustPolicy, fmt.Sprintf(
		"host %q is not in the operator's allow list (cimd.hosts.allow)", host))
}

// MatchHostPattern reports whether host matches pattern (see HostPolicy),
// ignoring ASCII case.
func MatchHostPattern(pattern, host string) bool {
	if host == "" {
		return false
	}
	if base, ok := strings.CutPrefix(pattern, "*."); ok {
		// host must be "<labels>." + base with non-empty labels.
		n := len(host) - len(base) - 1
		return base != "" && n > 0 && host[n] == '.' &&
			strings.EqualFold(host[n+1:], base) &&
			host[0] != '.' && host[n-1] != '.'
	}
	return strings.EqualFold(pattern, host)
}

// ValidatePattern checks one allow/deny pattern from the configuration, so
// that a typo fails at start-up instead of silently matching nothing.
func ValidatePattern(pattern string) error {
	if pattern == "" {
		return ruleErr(RuleHostPattern, SpecTrustPolicy, "empty host pattern")
	}
	if pattern == "*" || pattern == "*." {
		return ruleErr(RuleHostPattern, SpecTrustPolicy,
			"pattern \"*\" matches everything; leave cimd.hosts.allow empty to allow every public host")
	}
	if strings.ContainsAny(pattern, "/@") || strings.Contains(pattern, "://") {
		return ruleErr(RuleHostPattern, SpecTrustPolicy, fmt.Sprintf(
			"pattern %q must be a host name such as \"claude.ai\" or \"*.example.com\", not a URL", pattern))
	}
	lower := strings.ToLower(pattern)
	if base, ok := strings.CutPrefix(lower, "*."); ok {
		if strings.Contains(base, "*") {
			return ruleErr(RuleHostPattern, SpecTrustPolicy, fmt.Sprintf(
				"pattern %q: only one leading \"*.\" wildcard is supported", pattern))
		}
		if _, err := netip.ParseAddr(base); err == nil || endsInNumber(base) {
			return ruleErr(RuleHostPattern, SpecTrustPolicy, fmt.Sprintf(
				"pattern %q: a wildcard cannot apply to an IP address", pattern))
		}
		return patternHostError(pattern, checkDNSName(base))
	}
	if strings.Contains(lower, "*") {
		return ruleErr(RuleHostPattern, SpecTrustPolicy, fmt.Sprintf(
			"pattern %q: a wildcard is only allowed as a leading \"*.\"", pattern))
	}
	if a, err := netip.ParseAddr(strings.Trim(lower, "[]")); err == nil {
		if a.Zone() != "" || a.String() != strings.Trim(lower, "[]") {
			return ruleErr(RuleHostPattern, SpecTrustPolicy, fmt.Sprintf(
				"pattern %q: write IP addresses in canonical form without zone (%s)", pattern, a.WithZone("")))
		}
		return nil
	}
	if strings.Contains(lower, ":") {
		return ruleErr(RuleHostPattern, SpecTrustPolicy, fmt.Sprintf(
			"pattern %q must not contain a port", pattern))
	}
	return patternHostError(pattern, checkHost(lower))
}

func patternHostError(pattern string, err *RuleError) error {
	if err == nil {
		return nil
	}
	return ruleErr(RuleHostPattern, SpecTrustPolicy, fmt.Sprintf("pattern %q: %s", pattern, err.Detail))
}

// Validate checks every pattern and reports all problems at once.
func (p HostPolicy) Validate() error {
	var errs []error
	for _, list := range []struct {
		key      string
		patterns []string
	}{{"cimd.hosts.allow", p.Allow}, {"cimd.hosts.deny", p.Deny}} {
		for _, pat := range list.patterns {
			if err := ValidatePattern(pat); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", list.key, err))
			}
		}
	}
	return errors.Join(errs...)
}
