package policy

import (
	"strings"
	"testing"
)

func TestRedirectDestination(t *testing.T) {
	tests := []struct {
		uri  string
		want Destination
	}{
		{"https://app.example.com/cb", Destination{Kind: DestinationWeb, Host: "app.example.com"}},
		{"https://APP.Example.com:8443/cb", Destination{Kind: DestinationWeb, Host: "app.example.com:8443"}},
		// Cyrillic а in place of the Latin a: shown as punycode, flagged.
		{"https://\u0430ccounts.google.com/cb", Destination{Kind: DestinationWeb, Host: "xn--ccounts-1fg.google.com", Punycode: true}},
		{"https://xn--ccounts-1fg.google.com/cb", Destination{Kind: DestinationWeb, Host: "xn--ccounts-1fg.google.com", Punycode: true}},
		{"https://\u4f8b\u3048.jp/x", Destination{Kind: DestinationWeb, Host: "xn--r8jz45g.jp", Punycode: true}},
		// A label in punycode form that does not decode, in capitals:
		// shown as written, and still flagged.
		{"https://XN--A.example/cb", Destination{Kind: DestinationWeb, Host: "XN--A.example", Punycode: true}},
		// Full-width letters fold to ASCII (UTS #46 mapping).
		{"https://\uff47oogle.com/cb", Destination{Kind: DestinationWeb, Host: "google.com"}},
		{"https://[2001:db8::1]:8443/cb", Destination{Kind: DestinationWeb, Host: "[2001:db8::1]:8443"}},
		{"http://127.0.0.1:4000/callback", Destination{Kind: DestinationLoopback, Host: "127.0.0.1:4000"}},
		{"http://localhost/cb", Destination{Kind: DestinationLoopback, Host: "localhost"}},
		// A private-use scheme names an app; what looks like a host is
		// the app's own data.
		{"myapp://accounts.google.com/cb", Destination{Kind: DestinationApp, Scheme: "myapp"}},
		{"cursor://anysphere.cursor-retrieval/oauth/user/callback", Destination{Kind: DestinationApp, Scheme: "cursor"}},
		{"com.example.app:/oauth", Destination{Kind: DestinationApp, Scheme: "com.example.app"}},
		{"ai.claude:/cb", Destination{Kind: DestinationApp, Scheme: "ai.claude"}},
	}
	for _, tt := range tests {
		if got := RedirectDestination(tt.uri); got != tt.want {
			t.Errorf("%q: got %+v, want %+v", tt.uri, got, tt.want)
		}
	}
}

// FuzzRedirectDestination: whatever the URI, what the page shows is
// printable ASCII without spaces, and an app destination never names a
// host.
func FuzzRedirectDestination(f *testing.F) {
	for _, s := range []string{"https://app.example.com/cb", "https://\u0430ccounts.google.com/cb", "myapp://accounts.google.com/cb",
		"https://exa\u200bmple.com/", "https://a\u202eb.com/", "http://[::1]/cb", "%zz", "https://\xff/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, uri string) {
		d := RedirectDestination(uri)
		for _, s := range []string{d.Host, d.Scheme} {
			if strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r >= 0x7f }) {
				t.Fatalf("%q shows %q", uri, s)
			}
		}
		if d.Kind == DestinationApp && d.Host != "" {
			t.Fatalf("%q: app destination with host %q", uri, d.Host)
		}
	})
}
