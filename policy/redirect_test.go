package policy

import (
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"testing"
)

func TestMatchRedirectURI(t *testing.T) {
	registered := []string{
		"https://app.example.com/callback",
		"https://app.example.com/cb?tenant=1",
		"http://localhost/callback",
		"http://127.0.0.1:33418/",
		"http://[::1]/cb",
		"com.example.app:/oauth",
	}
	tests := []struct {
		name      string
		requested string
		want      string // "" means no match
	}{
		{"exact https", "https://app.example.com/callback", "https://app.example.com/callback"},
		{"exact with query", "https://app.example.com/cb?tenant=1", "https://app.example.com/cb?tenant=1"},
		{"private-use scheme", "com.example.app:/oauth", "com.example.app:/oauth"},
		// RFC 8252 §7.3: any port on a loopback redirect.
		{"localhost ephemeral port", "http://localhost:53682/callback", "http://localhost/callback"},
		{"localhost without port", "http://localhost/callback", "http://localhost/callback"},
		{"127.0.0.1 other port", "http://127.0.0.1:1234/", "http://127.0.0.1:33418/"},
		{"127.0.0.1 no port", "http://127.0.0.1/", "http://127.0.0.1:33418/"},
		{"ipv6 loopback port", "http://[::1]:8080/cb", "http://[::1]/cb"},
		// Refused variants (RFC 9700 §4.1.3).
		{"trailing slash", "https://app.example.com/callback/", ""},
		{"case of host", "https://APP.example.com/callback", ""},
		{"case of path", "https://app.example.com/Callback", ""},
		{"userinfo", "https://evil@app.example.com/callback", ""},
		{"fragment", "https://app.example.com/callback#x", ""},
		{"extra query", "https://app.example.com/callback?x=1", ""},
		{"changed query", "https://app.example.com/cb?tenant=2", ""},
		{"explicit default port", "https://app.example.com:443/callback", ""},
		{"http for https", "http://app.example.com/callback", ""},
		{"open redirect suffix", "https://app.example.com/callback/../../evil", ""},
		{"host suffix", "https://app.example.com.evil.com/callback", ""},
		{"encoded path", "https://app.example.com/%63allback", ""},
		{"other loopback host", "http://127.0.0.1:53682/callback", ""},
		{"other loopback path", "http://localhost:53682/other", ""},
		{"loopback userinfo", "http://evil@localhost:1234/callback", ""},
		{"loopback fragment", "http://localhost:1234/callback#f", ""},
		{"loopback extra query", "http://localhost:1234/callback?x=1", ""},
		{"loopback empty port", "http://localhost:/callback", ""},
		{"loopback port zero", "http://localhost:0/callback", ""},
		{"loopback port too big", "http://localhost:65536/callback", ""},
		{"loopback port leading zero", "http://localhost:080/callback", ""},
		{"loopback port sign", "http://localhost:+80/callback", ""},
		{"https loopback is not port-flexible", "https://localhost:1234/callback", ""},
		{"127.1 spelling", "http://127.1:1234/", ""},
		{"mapped v6 spelling", "http://[::ffff:127.0.0.1]:1234/", ""},
		{"percent host", "http://local%68ost:1234/callback", ""},
		{"backslash", "http://localhost:1234\\@evil.com/callback", ""},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := MatchRedirectURI(registered, tt.requested)
			if ok != (tt.want != "") || got != tt.want {
				t.Fatalf("MatchRedirectURI(%q) = %q, %v; want %q", tt.requested, got, ok, tt.want)
			}
		})
	}
}

func FuzzMatchRedirectURI(f *testing.F) {
	f.Add("http://localhost/callback", "http://localhost:1234/callback")
	f.Add("https://a.example/cb", "https://a.example/cb")
	f.Add("http://[::1]/cb", "http://[::1]:1/cb")
	f.Fuzz(func(t *testing.T, registered, requested string) {
		got, ok := MatchRedirectURI([]string{registered}, requested)
		if !ok {
			return
		}
		if got != registered {
			t.Fatalf("matched %q, which is not the registered URI", got)
		}
		if requested == registered {
			return
		}
		// A non-exact match is only ever a loopback port variation: both
		// sides loopback, and equal once the ports are removed.
		r1, _, ok1 := splitLoopbackPort(registered)
		r2, _, ok2 := splitLoopbackPort(requested)
		if !ok1 || !ok2 || r1 != r2 {
			t.Fatalf("%q matched %q without being a loopback port variation", requested, registered)
		}
	})
}

func TestCheckRegisteredRedirectURI(t *testing.T) {
	ok := []string{
		"https://app.example.com/cb", "https://app.example.com/cb?x=1", "http://localhost/callback",
		"http://127.0.0.1:33418/", "http://[::1]/cb", "com.example.app:/oauth", "cursor://anysphere.cursor-mcp/oauth/callback",
		// Internationalized hosts are registered (the consent page shows
		// their punycode), and so are canonical IP literals.
		"https://\u0430pple.com/cb", "https://%D0%B0pple.com/cb", "https://XN--PPLE-43D.com/cb", "https://fa\u00df.de/cb",
		"https://192.0.2.7/cb", "https://[2001:db8::7]:8443/cb", "https://APP.example.com/cb",
	}
	bad := []string{
		"", "javascript:alert(1)", "JavaScript:alert(1)", "data:text/html,x", "file:///etc/passwd", "http://app.example.com/cb",
		"http://10.0.0.1/cb", "https://app.example.com/cb#frag", "https://user@app.example.com/cb", "https:///cb", "/relative",
		"https://app.example.com/c b", "https://app.example.com\\@evil", "vbscript:x", "ftp://x/y", "com.example.app:",
		"https://app.example.com/\x00", "ws://x/y", "http://127.1/cb", "http://localhost.evil.com/cb",
		// Schemes that are not redirects at all: refused in DCR as in
		// metadata documents (one list).
		"mailto:victim@example.com", "MAILTO:x@example.com", "tel:+15555550100", "sms:+15555550100?body=x", "sms://x",
		"data:,x", "javascript://accounts.google.com/%0aalert(1)", "intent://x#Intent;end", "view-source:https://x",
		// Hosts a browser reads as another address than they spell (the
		// consent page would name a web host for the user's own
		// computer), and names no browser would reach.
		"https://2130706433/cb", "https://0x7f.1/cb", "https://127.1/cb", "https://0177.0.0.1/cb", "https://0xd8.0x3a.0xd6.0xe3/cb",
		"https://[::FFFF:7F00:1]/cb", "https://[0:0:0:0:0:0:0:1]/cb", "https://[fe80::1%25eth0]/cb",
		"https://exa\u202emple.com/cb", "https://\u202eelgoog.com/cb", "https://a..b.example/cb", "https://-a.example/cb",
	}
	for _, u := range ok {
		if err := CheckRegisteredRedirectURI(u); err != nil {
			t.Errorf("%q refused: %v", u, err)
		}
	}
	for _, u := range bad {
		if err := CheckRegisteredRedirectURI(u); err == nil {
			t.Errorf("%q accepted", u)
		}
	}
}

func FuzzCheckRegisteredRedirectURI(f *testing.F) {
	f.Add("https://a.example/cb")
	f.Add("javascript:x")
	f.Add("http://localhost:1/cb")
	f.Add("https://0x7f.1/cb")
	f.Add("https://\u0430pple.com/cb")
	f.Add("https://[::ffff:127.0.0.1]/cb")
	f.Fuzz(func(t *testing.T, raw string) {
		if CheckRegisteredRedirectURI(raw) != nil {
			return
		}
		u, err := url.Parse(raw)
		if err != nil || u.User != nil || strings.Contains(raw, "#") || slices.Contains(neverRedirectSchemes, u.Scheme) {
			t.Fatalf("accepted %q", raw)
		}
		if u.Scheme == "http" && !IsLoopbackRedirect(raw) {
			t.Fatalf("accepted non-loopback http %q", raw)
		}
		if u.Scheme == "https" {
			// What the consent page names is what the browser reaches:
			// never an IPv4 address in another spelling.
			if h := RedirectDestination(raw).Host; endsInNumber(strings.TrimSuffix(h, ":"+u.Port())) && !strings.HasPrefix(h, "[") {
				if a, err := netip.ParseAddr(strings.TrimSuffix(h, ":"+u.Port())); err != nil || a.String() != strings.TrimSuffix(h, ":"+u.Port()) {
					t.Fatalf("accepted %q, shown as %q", raw, h)
				}
			}
		}
	})
}
