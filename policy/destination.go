package policy

import (
	"net/url"
	"strings"

	"golang.org/x/net/idna"
)

// DestinationKind says what a redirect URI sends the browser to.
type DestinationKind string

const (
	// DestinationWeb is an https (or http) site on the network.
	DestinationWeb DestinationKind = "web"
	// DestinationLoopback is a program on the user's own computer
	// (http://127.0.0.1, [::1] or localhost; RFC 8252 §7.3).
	DestinationLoopback DestinationKind = "loopback"
	// DestinationApp is whatever application on the device claims the
	// private-use scheme (RFC 8252 §7.1). What follows the scheme, even
	// when it looks like a host name, is the app's own data: nothing
	// checks it, so it names no site.
	DestinationApp DestinationKind = "app"
)

// Destination is how the consent page names where a redirect URI goes.
type Destination struct {
	Kind DestinationKind
	// Host is the web or loopback host in ASCII: an internationalized
	// name in its punycode form (xn--...), so that look-alike characters
	// ("аccounts.google.com" with a Cyrillic а) cannot pass for another
	// name. Empty for an app.
	Host string
	// Scheme is the private-use scheme an app registered ("cursor",
	// "com.example.app"); empty for web and loopback destinations.
	Scheme string
	// Punycode reports that Host has an internationalized label (xn--),
	// which the page points out: such a name may imitate another.
	Punycode bool
}

// RedirectDestination describes where redirectURI (already verified
// against the client's registration) sends the browser, in terms that
// cannot lie (UTS #46 ToASCII for hosts, RFC 8252 §7.1 for schemes). A
// host that cannot be converted is shown as the raw string, escaped: it
// is never dropped.
func RedirectDestination(redirectURI string) Destination {
	u, err := url.Parse(redirectURI)
	if err != nil {
		return Destination{Kind: DestinationWeb, Host: asciiOnly(redirectURI)}
	}
	switch u.Scheme {
	case "http", "https":
		kind := DestinationWeb
		if IsLoopbackRedirect(redirectURI) {
			kind = DestinationLoopback
		}
		host := asciiHost(u.Host)
		lower := strings.ToLower(host)
		return Destination{Kind: kind, Host: host, Punycode: strings.HasPrefix(lower, "xn--") || strings.Contains(lower, ".xn--")}
	}
	return Destination{Kind: DestinationApp, Scheme: asciiOnly(u.Scheme)}
}

// asciiHost converts host[:port] to its ASCII form.
func asciiHost(hostport string) string {
	host, port := hostport, ""
	if i := strings.LastIndexByte(hostport, ':'); i >= 0 && !strings.HasSuffix(hostport, "]") {
		host, port = hostport[:i], hostport[i:]
	}
	if a, err := idna.Lookup.ToASCII(host); err == nil && a != "" {
		return a + port
	}
	return asciiOnly(hostport)
}

// asciiOnly replaces every non-ASCII or control byte by its %XX escape,
// so nothing invisible or look-alike survives.
func asciiOnly(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= 0x20 || c >= 0x7f || c == '%' {
			b.WriteString(url.PathEscape(string([]byte{c})))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// DisplayRedirect renders a redirect URI for a person in ASCII: for a web
// or loopback destination, scheme://host (punycode) and the escaped path
// and query; for an app, "an app link (scheme:)".
func DisplayRedirect(redirectURI string) string {
	d := RedirectDestination(redirectURI)
	if d.Kind == DestinationApp {
		return "an app link (" + d.Scheme + ":)"
	}
	u, err := url.Parse(redirectURI)
	if err != nil {
		return asciiOnly(redirectURI)
	}
	rest := u.EscapedPath()
	if u.RawQuery != "" {
		rest += "?" + u.RawQuery
	}
	return u.Scheme + "://" + d.Host + asciiOnly(rest)
}
