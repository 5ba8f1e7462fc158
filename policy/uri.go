package policy

import (
	"fmt"
	"strings"
)

// MaxURLLength caps every URL this package accepts (client_id, redirect
// URIs, metadata URLs). CIMD -02 §3 sets no maximum; 2048 bytes is far above
// any real client_id and keeps hostile input bounded.
const MaxURLLength = 2048

// rawURI is a URI split on its raw string (RFC 3986 §3), without decoding
// or normalising anything: net/url silently removes dot segments and
// accepts spellings we want to refuse, so every rule here looks at the
// bytes the client published.
type rawURI struct {
	scheme       string
	hasAuthority bool
	authority    string // everything between "//" and the path
	host         string // IPv6 literals keep their brackets
	port         string
	hasPort      bool
	path         string
	query        string
	hasQuery     bool
	hasFragment  bool
}

// splitURI splits raw into its components. It fails only when raw has no
// scheme; every other problem is left to the rules that inspect the parts.
func splitURI(raw string) (rawURI, bool) {
	var u rawURI
	colon := strings.IndexByte(raw, ':')
	if colon <= 0 || !validScheme(raw[:colon]) {
		return u, false
	}
	u.scheme = raw[:colon]
	rest := raw[colon+1:]
	if i := strings.IndexByte(rest, '#'); i >= 0 {
		u.hasFragment = true
		rest = rest[:i]
	}
	if i := strings.IndexByte(rest, '?'); i >= 0 {
		u.hasQuery = true
		u.query = rest[i+1:]
		rest = rest[:i]
	}
	if strings.HasPrefix(rest, "//") {
		u.hasAuthority = true
		rest = rest[2:]
		end := strings.IndexByte(rest, '/')
		if end < 0 {
			end = len(rest)
		}
		u.authority, rest = rest[:end], rest[end:]
		u.host, u.port, u.hasPort = splitHostPort(u.authority)
	}
	u.path = rest
	return u, true
}

// validScheme reports whether s is an RFC 3986 §3.1 scheme:
// ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ).
func validScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return s != ""
}

// splitHostPort splits an authority (without userinfo handling: callers
// refuse '@' first) into host and port. "[::1]:8443" gives "[::1]", "8443".
func splitHostPort(authority string) (host, port string, hasPort bool) {
	if strings.HasPrefix(authority, "[") {
		end := strings.IndexByte(authority, ']')
		if end < 0 {
			return authority, "", false
		}
		host, rest := authority[:end+1], authority[end+1:]
		if strings.HasPrefix(rest, ":") {
			return host, rest[1:], true
		}
		if rest != "" {
			// Garbage after "]": keep it in the host so the host rule fails.
			return authority, "", false
		}
		return host, "", false
	}
	if i := strings.LastIndexByte(authority, ':'); i >= 0 {
		return authority[:i], authority[i+1:], true
	}
	return authority, "", false
}

// checkURIChars refuses bytes that cannot appear in a URI (RFC 3986 §2):
// controls, spaces, non-ASCII (IDNs must be published as punycode), the
// characters RFC 3986 excludes, and '%' not followed by two hex digits.
func checkURIChars(raw string) *RuleError {
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if uriByteOK[c] {
			continue
		}
		switch {
		case c < 0x21 || c > 0x7e:
			return ruleErr(RuleURISyntax, SpecURISyntax, fmt.Sprintf(
				"contains a space, control or non-ASCII byte at offset %d (internationalised names must be punycode)", i))
		case strings.IndexByte("\"<>\\^`{|}", c) >= 0:
			return ruleErr(RuleURISyntax, SpecURISyntax, fmt.Sprintf(
				"character %q at offset %d is not allowed in a URI", c, i))
		case c == '%':
			if i+2 >= len(raw) || !isHex(raw[i+1]) || !isHex(raw[i+2]) {
				return ruleErr(RuleURISyntax, SpecURISyntax, fmt.Sprintf(
					"'%%' at offset %d does not start a percent-encoded octet", i))
			}
		}
	}
	return nil
}

// uriByteOK marks the bytes checkURIChars accepts without a closer look:
// printable ASCII except '%' and the characters RFC 3986 excludes. It is a
// table because this runs on every authorization request.
var uriByteOK = func() (t [256]bool) {
	for c := 0x21; c <= 0x7e; c++ {
		t[c] = strings.IndexByte("\"<>\\^`{|}%", byte(c)) < 0
	}
	return t
}()

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// checkPort accepts a decimal port 1-65535 without leading zeros, so that
// one port has exactly one spelling ("https://x:0443/" would otherwise be a
// second client_id for the same document).
func checkPort(port string) *RuleError {
	bad := port == "" || len(port) > 5 || (len(port) > 1 && port[0] == '0')
	n := 0
	for i := 0; i < len(port) && !bad; i++ {
		if port[i] < '0' || port[i] > '9' {
			bad = true
			break
		}
		n = n*10 + int(port[i]-'0')
	}
	if bad || n < 1 || n > 65535 {
		return ruleErr(RulePort, SpecURISyntax, fmt.Sprintf(
			"port %q must be a decimal number from 1 to 65535 without leading zeros", port))
	}
	return nil
}

// checkAuthority applies the rules shared by every https URL: an authority
// with a host, no userinfo, a well-formed host and port.
func checkAuthority(u rawURI, spec string) *RuleError {
	if !u.hasAuthority || u.authority == "" {
		return ruleErr(RuleHostSyntax, spec, "must have a host")
	}
	if strings.IndexByte(u.authority, '@') >= 0 {
		return ruleErr(RuleNoUserinfo, spec, "must not contain userinfo (user@ or user:password@)")
	}
	if err := checkHost(u.host); err != nil {
		return err
	}
	if u.hasPort {
		return checkPort(u.port)
	}
	return nil
}
