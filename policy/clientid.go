package policy

import (
	"fmt"
	"strings"
)

// CheckClientIDURL applies the Client Identifier URL rules of CIMD -02 §3
// to the raw client_id string, before anything parses or fetches it. It
// returns nil or a *RuleError naming the first rule broken.
//
// The draft's MUSTs: https scheme, a host, no userinfo, a path, no "." or
// ".." path segments, no fragment. Gatehouse's decisions where the draft
// says SHOULD (NOT) or is silent:
//
//   - the scheme must be exactly "https" (lowercase): client_ids are
//     compared as exact strings (RFC 3986 §6.2.1), so "HTTPS://x/c" would be
//     a second identity for the same document;
//   - a bare "/" path is refused (NOT RECOMMENDED by -02; MCP SDKs refuse
//     it too): it makes the whole origin one client;
//   - a query is refused (SHOULD NOT);
//   - dot segments are refused in percent-encoded form too ("%2e", "%2E");
//   - a port is allowed, without leading zeros;
//   - the host follows CheckHost (lowercase ASCII, no trailing dot,
//     canonical IP literals only);
//   - at most MaxURLLength bytes.
//
// CheckClientIDURL does not allocate when the URL is valid: it runs on
// every authorization request, before the cache lookup.
func CheckClientIDURL(raw string) error {
	if err := checkClientIDURL(raw); err != nil {
		return err
	}
	return nil
}

func checkClientIDURL(raw string) *RuleError {
	switch {
	case raw == "":
		return ruleErr(RuleURISyntax, SpecClientIDURL, "must not be empty")
	case len(raw) > MaxURLLength:
		return ruleErr(RuleMaxLength, SpecGatehouseDecide, fmt.Sprintf(
			"is %d bytes long; at most %d are accepted", len(raw), MaxURLLength))
	}
	if err := checkURIChars(raw); err != nil {
		return err
	}
	u, ok := splitURI(raw)
	if !ok || u.scheme != "https" || !u.hasAuthority {
		return schemeError(raw)
	}
	if u.hasFragment {
		return ruleErr(RuleNoFragment, SpecClientIDURL, "must not contain a fragment ('#')")
	}
	if err := checkAuthority(u, SpecClientIDURL); err != nil {
		return err
	}
	switch u.path {
	case "":
		return ruleErr(RulePathRequired, SpecClientIDURL, "must have a path, e.g. https://example.com/oauth/client.json")
	case "/":
		return ruleErr(RulePathNotRoot, SpecClientIDURL,
			"must have a path other than \"/\" (a bare \"/\" is NOT RECOMMENDED; Gatehouse refuses it)")
	}
	if seg, found := findDotSegment(u.path); found {
		return ruleErr(RuleNoDotSegments, SpecClientIDURL, fmt.Sprintf(
			"must not contain dot segments (found %q)", seg))
	}
	if u.hasQuery {
		return ruleErr(RuleNoQuery, SpecClientIDURL, "must not contain a query ('?'); Gatehouse refuses what -02 says SHOULD NOT be used")
	}
	return nil
}

func schemeError(raw string) *RuleError {
	lower := strings.ToLower(raw)
	switch {
	case strings.HasPrefix(lower, "https://"):
		return ruleErr(RuleHTTPSScheme, SpecClientIDURL, "scheme must be lowercase \"https\"")
	case strings.HasPrefix(lower, "http://"):
		return ruleErr(RuleHTTPSScheme, SpecClientIDURL, "must use https, not http")
	}
	return ruleErr(RuleHTTPSScheme, SpecClientIDURL, "must be an https URL (https://host/path)")
}

// findDotSegment returns the first path segment that is "." or "..",
// including percent-encoded spellings such as "%2e" and ".%2E" (RFC 3986
// §2.3 says "%2E" is equivalent to "."; URL parsers decode and remove it).
func findDotSegment(path string) (string, bool) {
	for seg := range strings.SplitSeq(path, "/") {
		if isDotSegment(seg) {
			return seg, true
		}
	}
	return "", false
}

func isDotSegment(seg string) bool {
	dots := 0
	for i := 0; i < len(seg); {
		switch {
		case seg[i] == '.':
			i++
		case i+2 < len(seg) && seg[i] == '%' && seg[i+1] == '2' && (seg[i+2] == 'e' || seg[i+2] == 'E'):
			i += 3
		default:
			return false
		}
		dots++
	}
	return dots == 1 || dots == 2
}

// ClientIDHost returns the host of a client_id that passed
// CheckClientIDURL, without port and without IPv6 brackets. It returns ""
// for a string that is not an absolute URL with an authority.
func ClientIDHost(clientID string) string {
	u, ok := splitURI(clientID)
	if !ok || !u.hasAuthority {
		return ""
	}
	return strings.TrimSuffix(strings.TrimPrefix(u.host, "["), "]")
}
