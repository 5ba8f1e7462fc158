package policy

import (
	"fmt"
	"net/netip"
	"strings"

	"golang.org/x/net/publicsuffix"
)

// RedirectMode is the operator's cimd.redirect_policy: how a CIMD client's
// https redirect URIs must relate to its client_id (CIMD -02 §8.1 allows
// the AS to require this; Gatehouse decision §6.6).
type RedirectMode string

const (
	// RedirectSameSite (the default) requires https redirect URIs on the
	// client_id host's registrable domain (eTLD+1 from the public suffix
	// list, ICANN and private sections: alice.github.io never vouches for
	// bob.github.io).
	RedirectSameSite RedirectMode = "same-site"
	// RedirectSameOrigin requires the https redirect URI's host and port to
	// equal the client_id's.
	RedirectSameOrigin RedirectMode = "same-origin"
	// RedirectAny accepts https redirect URIs on any host.
	RedirectAny RedirectMode = "any"
)

// ParseRedirectMode maps a configuration value onto a RedirectMode.
func ParseRedirectMode(s string) (RedirectMode, error) {
	switch m := RedirectMode(s); m {
	case RedirectSameSite, RedirectSameOrigin, RedirectAny:
		return m, nil
	}
	return "", ruleErr(RuleRedirectMode, SpecGatehouseDecide, fmt.Sprintf(
		"unknown redirect policy %q (want same-site, same-origin or any)", s))
}

// neverRedirectSchemes are schemes that are never private-use redirect
// schemes; they get a precise error instead of the reverse-domain one
// (CIMD -02 §8.6: "javascript:" is the draft's example).
var neverRedirectSchemes = []string{
	"javascript", "data", "file", "vbscript", "blob", "about", "filesystem",
	"ftp", "ws", "wss", "mailto", "tel", "sms", "intent", "view-source", "chrome",
}

// CheckRedirectURI decides whether a redirect URI listed in the metadata
// document of clientID is acceptable under mode. It returns nil or a
// *RuleError. In every mode:
//
//   - http is allowed only for loopback redirects (http://localhost,
//     http://127.0.0.1, http://[::1], any port; RFC 8252 §7.3, RFC 9700 §2.6);
//   - https URIs need a well-formed host, no userinfo;
//   - a private-use scheme must be the client_id host in reverse order
//     ("ai.claude:/cb" for https://claude.ai/...; RFC 8252 §7.1), so a
//     client can only claim its own app scheme;
//   - no fragment (OAuth 2.1 §2.3), no javascript:, data:, file: and the like;
//   - no authorization response parameter in the query (CheckRedirectQuery).
//
// The mode then constrains https hosts (see RedirectMode).
func CheckRedirectURI(mode RedirectMode, clientID, redirect string) error {
	if err := checkRedirectURI(mode, clientID, redirect); err != nil {
		return err
	}
	return nil
}

func checkRedirectURI(mode RedirectMode, clientID, redirect string) *RuleError {
	if _, err := ParseRedirectMode(string(mode)); err != nil {
		return err.(*RuleError)
	}
	client, ok := splitURI(clientID)
	if !ok || !client.hasAuthority || client.host == "" {
		return ruleErr(RuleClientIDHost, SpecRedirectOrigin, fmt.Sprintf("client_id %q has no host", clientID))
	}
	switch {
	case redirect == "":
		return ruleErr(RuleURISyntax, SpecURISyntax, "redirect URI is empty")
	case len(redirect) > MaxURLLength:
		return ruleErr(RuleMaxLength, SpecGatehouseDecide, fmt.Sprintf(
			"redirect URI is %d bytes long; at most %d are accepted", len(redirect), MaxURLLength))
	}
	if err := checkURIChars(redirect); err != nil {
		return err
	}
	u, ok := splitURI(redirect)
	if !ok {
		return ruleErr(RuleRedirectScheme, SpecURISyntax, "redirect URI must be absolute (scheme:...)")
	}
	if u.hasFragment {
		return ruleErr(RuleNoFragment, SpecRedirectNoFrag, "redirect URI must not contain a fragment ('#')")
	}
	if err := checkRedirectQuery(redirect); err != nil {
		return err
	}
	if u.scheme != strings.ToLower(u.scheme) {
		return ruleErr(RuleRedirectScheme, SpecGatehouseDecide, fmt.Sprintf(
			"redirect URI scheme %q must be lowercase", u.scheme))
	}
	switch u.scheme {
	case "http":
		if IsLoopbackRedirect(redirect) {
			return nil
		}
		return ruleErr(RuleRedirectScheme, SpecHTTPOnlyLoop,
			"http redirect URIs are only allowed on loopback (http://localhost, http://127.0.0.1, http://[::1]); use https")
	case "https":
		if err := checkAuthority(u, SpecURISyntax); err != nil {
			return err
		}
		return checkHTTPSRedirectHost(mode, client, u)
	}
	for _, s := range neverRedirectSchemes {
		if u.scheme == s {
			return ruleErr(RuleRedirectScheme, SpecSSRF, fmt.Sprintf(
				"scheme %q is never allowed in a redirect URI", s))
		}
	}
	return checkPrivateUseScheme(client.host, u)
}

func checkHTTPSRedirectHost(mode RedirectMode, client, u rawURI) *RuleError {
	switch mode {
	case RedirectSameOrigin:
		if u.host != client.host || effectivePort(u) != effectivePort(client) {
			return ruleErr(RuleRedirectOrigin, SpecRedirectOrigin, fmt.Sprintf(
				"redirect host %s is not the client_id's origin https://%s (redirect policy same-origin)",
				u.authority, client.authority))
		}
	case RedirectSameSite:
		rs, cs := site(u.host), site(client.host)
		if rs != cs {
			return ruleErr(RuleRedirectSite, SpecRedirectOrigin, fmt.Sprintf(
				"redirect host %s is not on the client_id's site %s (redirect policy same-site)", u.host, cs))
		}
	}
	return nil
}

func effectivePort(u rawURI) string {
	if !u.hasPort {
		return "443"
	}
	return u.port
}

// site is the registrable domain (eTLD+1) of host, or host itself for IP
// literals, single labels and public suffixes, which are their own site.
func site(host string) string {
	if strings.HasPrefix(host, "[") {
		return host
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return host
	}
	s, err := publicsuffix.EffectiveTLDPlusOne(host)
	if err != nil {
		return host
	}
	return s
}

func checkPrivateUseScheme(clientHost string, u rawURI) *RuleError {
	want := reverseDomain(clientHost)
	if want == "" {
		return ruleErr(RulePrivateScheme, SpecPrivateUse, fmt.Sprintf(
			"private-use scheme %q cannot belong to a client_id whose host is an IP address", u.scheme))
	}
	if u.scheme != want {
		return ruleErr(RulePrivateScheme, SpecPrivateUse, fmt.Sprintf(
			"private-use scheme %q must be the client_id host in reverse order (%q)", u.scheme, want))
	}
	if u.hasAuthority && strings.IndexByte(u.authority, '@') >= 0 {
		return ruleErr(RuleNoUserinfo, SpecURISyntax, "redirect URI must not contain userinfo")
	}
	return nil
}

// PrivateUseScheme is the only private-use redirect scheme a client_id may
// use: its host in reverse order ("https://www.mcpjam.com/x" gives
// "com.mcpjam.www"). It is "" for IP-literal hosts and non-URLs.
func PrivateUseScheme(clientID string) string {
	u, ok := splitURI(clientID)
	if !ok || !u.hasAuthority {
		return ""
	}
	return reverseDomain(u.host)
}

// reverseDomain turns "www.mcpjam.com" into "com.mcpjam.www"; it returns ""
// for IP literals, which have no reverse-domain scheme.
func reverseDomain(host string) string {
	if strings.HasPrefix(host, "[") || endsInNumber(host) {
		return ""
	}
	labels := strings.Split(host, ".")
	for i, j := 0, len(labels)-1; i < j; i, j = i+1, j-1 {
		labels[i], labels[j] = labels[j], labels[i]
	}
	return strings.Join(labels, ".")
}
