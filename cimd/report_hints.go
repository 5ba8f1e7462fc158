package cimd

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gatehouse-dev/gatehouse/policy"
)

// nextSteps turns failed and narrowed findings into advice for the client
// developer, failures first, each piece of advice once.
func (r *Report) nextSteps() []string {
	var out []string
	add := func(h string) {
		if h != "" && !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	for _, status := range []FindingStatus{StatusFailed, StatusNarrowed} {
		for _, f := range r.Findings {
			if f.Status == status {
				add(r.hint(f))
			}
		}
	}
	return out
}

func (r *Report) hint(f Finding) string {
	failed := f.Status == StatusFailed
	switch f.Rule {
	case "enabled":
		return "The operator has turned CIMD off (cimd.enabled); this client must register at the registration endpoint instead."
	case "client-id-url":
		return "Publish the document at an https URL with a path and no query, fragment, userinfo or dot segments, " +
			"e.g. https://example.com/oauth/client.json."
	case "host-policy":
		return "The operator's cimd.hosts.allow / cimd.hosts.deny lists decide which hosts may act as clients; " +
			"ask them to allow this host."
	case "fetch":
		return r.fetchHint()
	case "json":
		return "Serve exactly one JSON object in UTF-8, without duplicate keys and nested at most 10 levels."
	case "client-id":
		return fmt.Sprintf("Set \"client_id\" to exactly the URL the document is served at: %s", r.ClientID)
	case "no-client-secret":
		return "Remove client_secret and client_secret_expires_at: a metadata document is public. " +
			"Authenticate with \"none\" or \"private_key_jwt\"."
	case "client-name":
		return "Set \"client_name\" to the plain name users should see (at most 100 characters, no control, bidirectional or invisible characters)."
	case "auth-method":
		if failed {
			return "Use token_endpoint_auth_method \"none\" (public client) or \"private_key_jwt\" with jwks or jwks_uri."
		}
	case "jwks", "jwks-uri", "signing-alg", "jwks-uri-keys":
		if failed {
			return "Publish only public signing keys (RSA of 2048 bits or more, EC P-256/384/521, Ed25519) " +
				"in \"jwks\" or at an https \"jwks_uri\", and sign assertions with RS*, PS*, ES* or EdDSA."
		}
	case "grant-types":
		if failed {
			return "Include \"authorization_code\" in grant_types (client_credentials only with private_key_jwt)."
		}
		return "Nothing to do for the dropped grant types: Gatehouse ignores what it does not support."
	case "response-types":
		return "Include \"code\" in response_types, or leave it out."
	case "redirect-uris", "redirect-uri":
		return r.redirectHint(f)
	case "client-uri", "logo-uri", "tos-uri", "policy-uri":
		return "Use absolute https URLs for client_uri, logo_uri, tos_uri and policy_uri (they may be on any host)."
	case "logo":
		return "Serve the logo as a PNG, JPEG, GIF or WebP image (not SVG) over https with 200 OK."
	}
	return ""
}

func (r *Report) fetchHint() string {
	switch OutcomeOf(r.Err) {
	case OutcomeBlockedAddress:
		return "The host resolves to a non-public address; Gatehouse fetches only from public addresses. " +
			"For an internal client the operator can list this exact URL in cimd.trusted_private_urls."
	case OutcomeBadStatus:
		return "Serve the document with 200 OK at exactly this URL: redirects are not followed (CIMD -02 §5.1)."
	case OutcomeThrottled:
		return "The host rate-limits or challenges automated requests (429, 503 or an HTML 403): let Gatehouse's " +
			"User-Agent (cimd.fetch.user_agent) through the CDN or firewall. Gatehouse serves the last valid copy " +
			"meanwhile (cimd.cache.stale_if_error) and honours Retry-After."
	case OutcomeTooLarge:
		return "Keep the document under 5 KB (CIMD -02 §5): drop fields Gatehouse does not need."
	case OutcomeTimeout:
		return "The host must answer quickly (cimd.fetch.timeout, 5 s by default)."
	case OutcomeInvalidDocument:
		return "Serve the document uncompressed with Content-Type: application/json."
	case OutcomeNetworkError:
		return "Check DNS, that the host is reachable from the server, and that its TLS certificate chains to a trusted root."
	}
	return ""
}

// redirectHint says which redirect URIs the policy accepts for this client.
func (r *Report) redirectHint(f Finding) string {
	host := policy.ClientIDHost(r.ClientID)
	var sites string
	switch r.RedirectPolicy {
	case policy.RedirectSameOrigin:
		sites = "https on " + host + " (same port)"
	case policy.RedirectAny:
		sites = "https on any host"
	default:
		sites = "https on " + host + "'s site (same registrable domain)"
	}
	if f.Rule == "redirect-uri" && strings.Contains(f.Detail, "is not registered") {
		return "Add the redirect URI to redirect_uris; Gatehouse refetches the document once when it sees a new one."
	}
	if strings.Contains(f.Detail, policy.SpecNoRepeatParam) {
		return "Remove " + strings.Join(policy.ResponseParams, ", ") + " from the redirect URIs' queries: " +
			"Gatehouse adds them to the authorization response, and no parameter may appear twice (RFC 6749 §3.1)."
	}
	hint := fmt.Sprintf("Under the %s redirect policy, redirect URIs must be %s, or http://localhost, "+
		"http://127.0.0.1 or http://[::1] (any port)", r.RedirectPolicy, sites)
	if scheme := policy.PrivateUseScheme(r.ClientID); scheme != "" {
		hint += fmt.Sprintf(", or use the private-use scheme %q", scheme+":")
	}
	return hint + "."
}
