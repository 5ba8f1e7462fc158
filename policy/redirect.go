package policy

import (
	"net/netip"
	"strconv"
	"strings"
)

// MatchRedirectURI finds the registered redirect URI that requested
// matches, and reports whether there is one.
//
// Matching is simple string comparison (OAuth 2.1 §4.1.1, RFC 9700
// §4.1.3): no case folding, no path or query normalisation, no trailing
// slash tolerance. The one exception is RFC 8252 §7.3: for a registered
// http loopback URI (127.0.0.1, [::1] or localhost) the port may differ,
// or be absent from the registration, because native clients listen on an
// ephemeral port. Host, path and query must still match exactly, so
// another loopback host or path is refused.
func MatchRedirectURI(registered []string, requested string) (string, bool) {
	for _, r := range registered {
		if r == requested {
			return r, true
		}
	}
	reqNoPort, reqPort, ok := splitLoopbackPort(requested)
	if !ok || (reqPort != "" && !validPort(reqPort)) {
		return "", false
	}
	for _, r := range registered {
		regNoPort, _, ok := splitLoopbackPort(r)
		if ok && regNoPort == reqNoPort {
			return r, true
		}
	}
	return "", false
}

// IsLoopbackRedirect reports whether uri is an http redirect URI on a
// loopback host (RFC 8252 §7.3), the kind whose port may vary.
func IsLoopbackRedirect(uri string) bool {
	_, _, ok := splitLoopbackPort(uri)
	return ok
}

// splitLoopbackPort splits an http loopback URI into the URI without its
// port and the port. It works on the raw string so that nothing but the
// port is ever ignored. ok is false for anything that is not an http URI
// with a loopback host and no userinfo.
func splitLoopbackPort(uri string) (noPort, port string, ok bool) {
	const scheme = "http://"
	if !strings.HasPrefix(uri, scheme) {
		return "", "", false
	}
	rest := uri[len(scheme):]
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	authority, tail := rest[:end], rest[end:]
	if strings.ContainsAny(authority, "@%\\") || strings.Contains(tail, "#") {
		return "", "", false
	}
	host := authority
	if i := strings.LastIndexByte(authority, ':'); i >= 0 && !strings.HasSuffix(authority, "]") {
		host, port = authority[:i], authority[i+1:]
		if port == "" {
			return "", "", false // "http://localhost:/cb" is not a port variation
		}
	}
	if !isLoopbackHost(host) {
		return "", "", false
	}
	return scheme + host + tail, port, true
}

// isLoopbackHost accepts exactly "localhost", "127.0.0.1" and "[::1]":
// the spellings RFC 8252 and MCP clients use. Other 127/8 addresses and
// other spellings (0x7f000001, [::ffff:127.0.0.1]) are not loopback
// redirect hosts: they only invite parser confusion.
func isLoopbackHost(host string) bool {
	switch host {
	case "localhost", "127.0.0.1", "[::1]":
		return true
	}
	return false
}

func validPort(p string) bool {
	if len(p) > 5 || strings.TrimLeft(p, "0123456789") != "" || (len(p) > 1 && p[0] == '0') {
		return false
	}
	n, err := strconv.Atoi(p)
	return err == nil && n >= 1 && n <= 65535
}

// IsLoopbackIP reports whether host is a loopback IP literal (any 127/8 or
// ::1 spelling netip accepts). Used where a URL's host is checked as an
// address rather than matched as a redirect.
func IsLoopbackIP(host string) bool {
	a, err := netip.ParseAddr(strings.Trim(host, "[]"))
	return err == nil && a.Unmap().IsLoopback()
}
