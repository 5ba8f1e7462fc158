package policy

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"golang.org/x/net/idna"
)

// MaxRedirectURILen bounds a registered redirect URI.
const MaxRedirectURILen = 2000

// CheckRegisteredRedirectURI decides whether a redirect URI may be
// registered by an operator or through DCR (OAuth 2.1 §2.3, RFC 8252 §7,
// RFC 9700 §2.6): an https URL; an http URL on a loopback host (native
// apps, any port at use); or a private-use scheme for native apps
// (RFC 8252 §7.1), never one of the schemes that are not redirects
// (neverRedirectSchemes). It must be absolute, without fragment or
// userinfo, and its query must not hold an authorization response
// parameter (CheckRedirectQuery).
func CheckRegisteredRedirectURI(raw string) error {
	if raw == "" || len(raw) > MaxRedirectURILen {
		return fmt.Errorf("must be 1 to %d characters", MaxRedirectURILen)
	}
	if strings.ContainsAny(raw, "#\\ \t\r\n") || strings.ContainsFunc(raw, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return fmt.Errorf("%q must not contain a fragment, backslashes, spaces or control characters", raw)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return fmt.Errorf("%q is not an absolute URI", raw)
	}
	if u.User != nil {
		return fmt.Errorf("%q must not contain userinfo", raw)
	}
	if err := CheckRedirectQuery(raw); err != nil {
		return fmt.Errorf("%q: %w", raw, err)
	}
	scheme := u.Scheme // url.Parse lower-cases the scheme
	switch {
	case scheme == "https":
		if u.Host == "" {
			return fmt.Errorf("%q has no host", raw)
		}
		return checkRegisteredHost(raw, u)
	case scheme == "http":
		if IsLoopbackRedirect(raw) {
			return nil
		}
		return fmt.Errorf("%q uses http on a non-loopback host; use https (http only for localhost, 127.0.0.1 and [::1])", raw)
	case slices.Contains(neverRedirectSchemes, scheme):
		// One list with metadata documents (CheckRedirectURI): schemes
		// that run code, read local data or are not navigations at all
		// (mailto:, tel:, sms: open another program with attacker text).
		return fmt.Errorf("%q uses the forbidden scheme %s:", raw, scheme)
	}
	// A private-use scheme (RFC 8252 §7.1): the scheme names the app.
	if u.Host == "" && u.Opaque == "" && u.Path == "" {
		return fmt.Errorf("%q has nothing after the scheme", raw)
	}
	return nil
}

// checkRegisteredHost applies the host rule of metadata documents
// (checkHost) to an https redirect host, after converting an
// internationalized name to its ASCII form (UTS #46, as browsers do): a
// host must be a DNS name or an IP literal in canonical form. A spelling
// such as "2130706433" or "0x7f.1" is refused: browsers read it as
// 127.0.0.1, so the consent page would name a web host where the answer
// really goes to the user's own computer; and a name that does not
// convert (bidirectional controls, disallowed characters) names nothing a
// browser would reach.
func checkRegisteredHost(raw string, u *url.URL) error {
	host := u.Hostname()
	if strings.Contains(u.Host, "[") {
		host = "[" + host + "]"
	} else {
		ascii, err := idna.Lookup.ToASCII(host)
		if err != nil {
			return fmt.Errorf("%q: the host is not a valid (internationalized) domain name", raw)
		}
		host = ascii
	}
	if err := checkHost(host); err != nil {
		return fmt.Errorf("%q: %s", raw, err.Detail)
	}
	return nil
}
