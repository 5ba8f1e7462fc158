package oauth

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// MaxResourceLength caps a resource indicator. RFC 8707 sets no maximum;
// 2048 bytes is far above any real resource server's URI and keeps hostile
// input bounded.
const MaxResourceLength = 2048

// ErrNotResourceURI is wrapped by every error NormalizeResource returns.
var ErrNotResourceURI = errors.New("not a resource URI")

// NormalizeResource returns the normal form of a resource indicator (RFC
// 8707 §2): an absolute http or https URI, compared after RFC 3986 §6.2.2
// syntax-based and §6.2.3 scheme-based normalization. Two spellings name
// the same resource exactly when their normal forms are equal; this is the
// only place Gatehouse (and the resource kit) decides that.
//
// The normal form has
//   - the scheme and host in lowercase (§6.2.2.1);
//   - percent-encoded unreserved characters decoded and every other
//     percent-encoding in uppercase hex (§6.2.2.1, §6.2.2.2);
//   - no port when it is the scheme's default (443, 80) or empty, and
//     "/" for an empty path (§6.2.3).
//
// Nothing else changes: a different host, port, path or query is a
// different resource, "/mcp" and "/mcp/" differ, and dot segments are kept
// as they are (callers that accept resources refuse them rather than
// guess how a resource server resolves them).
//
// It refuses, wrapping ErrNotResourceURI: another scheme, a missing host,
// a fragment (RFC 8707 §2), userinfo, a host that is neither a name of
// unreserved characters nor a bracketed IP literal, a port that
// is not 1-65535 in decimal without leading zeros, bytes outside RFC 3986
// §2 (spaces, controls, non-ASCII, "<>\"{}|\\^`"), a '%' that does not
// start an encoded octet, and more than MaxResourceLength bytes.
func NormalizeResource(raw string) (string, error) {
	if raw == "" {
		return "", notResource("empty")
	}
	if len(raw) > MaxResourceLength {
		return "", notResource("longer than %d bytes", MaxResourceLength)
	}
	if err := checkResourceChars(raw); err != nil {
		return "", err
	}
	if strings.IndexByte(raw, '#') >= 0 {
		return "", notResource("must not contain a fragment (RFC 8707 §2)")
	}
	colon := strings.IndexByte(raw, ':')
	if colon <= 0 {
		return "", notResource("not an absolute URI")
	}
	scheme := strings.ToLower(raw[:colon])
	defaultPort := map[string]string{"https": "443", "http": "80"}[scheme]
	if defaultPort == "" {
		return "", notResource("the scheme must be https (or http)")
	}
	rest, ok := strings.CutPrefix(raw[colon+1:], "//")
	if !ok {
		return "", notResource("must have a host (scheme://host)")
	}
	end := strings.IndexAny(rest, "/?")
	if end < 0 {
		end = len(rest)
	}
	authority, pathQuery := rest[:end], rest[end:]
	host, port, err := resourceAuthority(authority)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.Grow(len(raw) + 1)
	b.WriteString(scheme)
	b.WriteString("://")
	b.WriteString(host)
	if port != "" && port != defaultPort {
		b.WriteByte(':')
		b.WriteString(port)
	}
	if pathQuery == "" || pathQuery[0] == '?' {
		b.WriteByte('/')
	}
	writePercentNormalized(&b, pathQuery)
	if b.Len() > MaxResourceLength {
		// The empty path's "/" can push a value at the limit over it: the
		// normal form must itself be a resource URI (idempotence).
		return "", notResource("longer than %d bytes", MaxResourceLength)
	}
	return b.String(), nil
}

// SameResource reports whether a and b name the same resource: equal
// strings, or equal normal forms (NormalizeResource). A value that is not
// a resource URI equals only itself.
func SameResource(a, b string) bool {
	if a == b {
		return true
	}
	na, err := NormalizeResource(a)
	if err != nil {
		return false
	}
	nb, err := NormalizeResource(b)
	return err == nil && na == nb
}

// resourceAuthority splits and normalizes host[:port]: the host in
// lowercase, the port without the colon ("" when absent or empty).
func resourceAuthority(authority string) (host, port string, err error) {
	switch {
	case authority == "":
		return "", "", notResource("must have a host")
	case strings.IndexByte(authority, '@') >= 0:
		return "", "", notResource("must not contain userinfo")
	case strings.IndexByte(authority, '%') >= 0:
		return "", "", notResource("the host must not be percent-encoded")
	}
	host = authority
	if strings.HasPrefix(authority, "[") {
		end := strings.IndexByte(authority, ']')
		if end < 0 {
			return "", "", notResource("malformed IPv6 literal")
		}
		host, port = authority[:end+1], authority[end+1:]
		if port != "" && port[0] != ':' {
			return "", "", notResource("malformed IPv6 literal")
		}
		port = strings.TrimPrefix(port, ":")
	} else if i := strings.LastIndexByte(authority, ':'); i >= 0 {
		host, port = authority[:i], authority[i+1:]
	}
	if host == "" || host == "[]" {
		return "", "", notResource("must have a host")
	}
	if !validHostChars(host) {
		return "", "", notResource("the host %q is not a name or an IP literal", truncateString(host, 64))
	}
	if port != "" && !validPort(port) {
		return "", "", notResource("port %q must be a decimal number from 1 to 65535 without leading zeros", truncateString(port, 16))
	}
	return strings.ToLower(host), port, nil
}

// validHostChars accepts a reg-name of unreserved characters (RFC 3986
// §3.2.2 also allows sub-delims, which no DNS name holds) or an IP literal
// in brackets that is an IPv6 address (RFC 3986 §3.2.2 IP-literal; IPvFuture
// is refused, as by net/url, so "[1]" or "[1.2.3.4]" is no host).
func validHostChars(host string) bool {
	if host[0] == '[' {
		for i := 1; i < len(host)-1; i++ {
			if c := host[i]; !isHexDigit(c) && c != ':' && c != '.' {
				return false
			}
		}
		addr, err := netip.ParseAddr(host[1 : len(host)-1])
		return err == nil && addr.Is6()
	}
	for i := 0; i < len(host); i++ {
		if !isUnreserved(host[i]) {
			return false
		}
	}
	return true
}

func validPort(port string) bool {
	if len(port) > 5 || port[0] == '0' {
		return false
	}
	n := 0
	for i := 0; i < len(port); i++ {
		if port[i] < '0' || port[i] > '9' {
			return false
		}
		n = n*10 + int(port[i]-'0')
	}
	return n <= 65535
}

// writePercentNormalized copies s, decoding percent-encoded unreserved
// characters and upper-casing the hex of the others (RFC 3986 §6.2.2.1,
// §6.2.2.2). checkResourceChars has verified every '%' has two hex digits.
func writePercentNormalized(b *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		c := unhex(s[i+1])<<4 | unhex(s[i+2])
		if isUnreserved(c) {
			b.WriteByte(c)
		} else {
			b.WriteByte('%')
			b.WriteByte(upperHex[c>>4])
			b.WriteByte(upperHex[c&15])
		}
		i += 2
	}
}

const upperHex = "0123456789ABCDEF"

// isUnreserved: RFC 3986 §2.3 ALPHA / DIGIT / "-" / "." / "_" / "~".
func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

func isHexDigit(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// checkResourceChars refuses bytes that cannot appear in a URI (RFC 3986
// §2) and a '%' not followed by two hex digits.
func checkResourceChars(raw string) error {
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c < 0x21 || c > 0x7e:
			return notResource("contains a space, control or non-ASCII byte at offset %d", i)
		case strings.IndexByte("\"<>\\^`{|}", c) >= 0:
			return notResource("character %q at offset %d is not allowed in a URI", c, i)
		case c == '%' && (i+2 >= len(raw) || !isHexDigit(raw[i+1]) || !isHexDigit(raw[i+2])):
			return notResource("'%%' at offset %d does not start a percent-encoded octet", i)
		}
	}
	return nil
}

func notResource(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrNotResourceURI, fmt.Sprintf(format, args...))
}

func truncateString(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
