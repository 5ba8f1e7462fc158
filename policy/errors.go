package policy

// RuleError reports which rule a value broke. Rule is a stable, short
// identifier (for tests, metrics and the `gatehouse cimd check` report),
// Detail says what was wrong in words a client developer can act on, and
// Spec names the section that imposes the rule.
//
// Error() renders "Detail (Spec)"; callers add the subject, for example
// "client_id URL: " + err.Error().
type RuleError struct {
	Rule   string
	Detail string
	Spec   string
}

func (e *RuleError) Error() string {
	if e.Spec == "" {
		return e.Detail
	}
	return e.Detail + " (" + e.Spec + ")"
}

// Spec references cited by the rules in this package.
const (
	SpecClientIDURL     = "CIMD -02 §3"
	SpecSSRF            = "CIMD -02 §8.6"
	SpecRedirectOrigin  = "CIMD -02 §8.1"
	SpecTrustPolicy     = "CIMD -02 §8.9"
	SpecPrivateUse      = "RFC 8252 §7.1"
	SpecLoopback        = "RFC 8252 §7.3"
	SpecRedirectNoFrag  = "OAuth 2.1 §2.3"
	SpecHTTPOnlyLoop    = "RFC 9700 §2.6"
	SpecURISyntax       = "RFC 3986 §3"
	SpecMetadataURL     = "RFC 7591 §2"
	SpecGatehouseDecide = "Gatehouse decision"
)

// Rule identifiers. They are part of the report vocabulary: keep them stable.
const (
	RuleMaxLength      = "max-length"
	RuleURISyntax      = "uri-syntax"
	RuleHTTPSScheme    = "https-scheme"
	RuleHostSyntax     = "host-syntax"
	RuleIPSpelling     = "ip-spelling"
	RulePort           = "port"
	RuleNoUserinfo     = "no-userinfo"
	RulePathRequired   = "path-required"
	RulePathNotRoot    = "path-not-root"
	RuleNoDotSegments  = "no-dot-segments"
	RuleNoQuery        = "no-query"
	RuleNoFragment     = "no-fragment"
	RuleHostDenied     = "host-denied"
	RuleHostNotAllowed = "host-not-allowed"
	RuleHostPattern    = "host-pattern"
	RuleRedirectMode   = "redirect-mode"
	RuleRedirectScheme = "redirect-scheme"
	RuleRedirectSite   = "redirect-same-site"
	RuleRedirectOrigin = "redirect-same-origin"
	RulePrivateScheme  = "private-use-scheme"
	RuleClientIDHost   = "client-id-host"
)

func ruleErr(rule, spec, detail string) *RuleError {
	return &RuleError{Rule: rule, Detail: detail, Spec: spec}
}
