package oauth

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

// Spellings real clients send for one resource (../shared/spec/round2.md §4:
// URL parsers add "/" to a path-less origin) and the normal form they share.
func TestNormalizeResourceEquivalentSpellings(t *testing.T) {
	for _, tc := range []struct{ raw, want string }{
		{"https://mcp.example.com", "https://mcp.example.com/"},
		{"https://mcp.example.com/", "https://mcp.example.com/"},
		{"HTTPS://MCP.Example.COM", "https://mcp.example.com/"},
		{"https://mcp.example.com:443", "https://mcp.example.com/"},
		{"https://mcp.example.com:443/", "https://mcp.example.com/"},
		{"https://mcp.example.com:/", "https://mcp.example.com/"},
		{"https://mcp.example.com/mcp", "https://mcp.example.com/mcp"},
		{"https://mcp.example.com/%6Dcp", "https://mcp.example.com/mcp"},
		{"https://mcp.example.com/%6dc%70", "https://mcp.example.com/mcp"},
		{"https://mcp.example.com/a%7Eb%2D%5F%2E", "https://mcp.example.com/a~b-_."},
		{"https://mcp.example.com/a%2fb", "https://mcp.example.com/a%2Fb"},
		{"https://mcp.example.com/caf%c3%a9", "https://mcp.example.com/caf%C3%A9"},
		{"https://mcp.example.com/MCP", "https://mcp.example.com/MCP"}, // the path keeps its case
		{"https://mcp.example.com:8443", "https://mcp.example.com:8443/"},
		{"https://mcp.example.com:80/", "https://mcp.example.com:80/"}, // 80 is not https's default
		{"http://127.0.0.1:80/mcp", "http://127.0.0.1/mcp"},
		{"http://LOCALHOST:3000", "http://localhost:3000/"},
		{"http://[::1]:3000/mcp", "http://[::1]:3000/mcp"},
		{"http://[::A]:3000", "http://[::a]:3000/"},
		{"https://mcp.example.com?x=%7e", "https://mcp.example.com/?x=~"},
		{"https://mcp.example.com/a/./b", "https://mcp.example.com/a/./b"}, // kept: callers refuse dot segments
	} {
		got, err := NormalizeResource(tc.raw)
		if err != nil || got != tc.want {
			t.Errorf("NormalizeResource(%q) = %q, %v; want %q", tc.raw, got, err, tc.want)
		}
	}
}

// Different resources stay different.
func TestSameResourceKeepsResourcesApart(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		same bool
	}{
		{"https://host", "https://host/", true},
		{"https://Host:443", "https://host/", true},
		{"https://host/mcp", "https://host/%6Dcp", true},
		{"https://host/mcp", "https://host/mcp/", false},
		{"https://host/mcp", "https://host/MCP", false},
		{"https://host/", "http://host/", false},
		{"https://host/", "https://host:8443/", false},
		{"https://host/", "https://host.example/", false},
		{"https://host/a%2Fb", "https://host/a/b", false},
		{"https://host/a", "https://host/a?", false},
		{"https://host/#x", "https://host/", false},
		{"not a uri", "not a uri", true}, // equal strings are always the same
		{"not a uri", "not%20a%20uri", false},
	} {
		if got := SameResource(tc.a, tc.b); got != tc.same {
			t.Errorf("SameResource(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.same)
		}
		if got := SameResource(tc.b, tc.a); got != tc.same {
			t.Errorf("SameResource(%q, %q) = %v, want %v (not symmetric)", tc.b, tc.a, got, tc.same)
		}
	}
}

// Hostile and malformed indicators are refused with ErrNotResourceURI.
func TestNormalizeResourceRefusesHostileInput(t *testing.T) {
	for _, raw := range []string{
		"", "mcp.example.com/mcp", "//mcp.example.com/", "urn:ietf:x", "ftp://mcp.example.com/",
		"javascript://mcp.example.com/%0aalert(1)", "https:mcp.example.com", "https:///mcp",
		"https://mcp.example.com/mcp#frag", "https://mcp.example.com#", "https://user@mcp.example.com/",
		"https://user:pw@mcp.example.com/", "https://mcp.example.com@evil.example/",
		"https://m%63p.example.com/", "https://mcp.example.com:0/", "https://mcp.example.com:0443/",
		"https://mcp.example.com:65536/", "https://mcp.example.com:44a/", "https://mcp.example.com:443:443/",
		"https://[::1/", "https://[::1]x/", "https://[]/", "https://:443/", "HTTP://[1]:8/q", "https://[1.2.3.4]/",
		"https://[::1:]/", "https://[1::2::3]/",
		"https://mcp.example.com/a b", "https://mcp.example.com/\x00", "https://mcp.example.com/é",
		"https://mcp.example.com\\@evil/", "https://mcp.example.com/%", "https://mcp.example.com/%4",
		"https://mcp.example.com/%zz", "https://mcp.example.com/<x>", "https://mcp.example.com/{x}",
		"https://mcp.example.com/" + strings.Repeat("a", MaxResourceLength),
		// At the limit, but its normal form adds the empty path's "/".
		"https://" + strings.Repeat("a", MaxResourceLength-len("https://")),
	} {
		got, err := NormalizeResource(raw)
		if err == nil || !errors.Is(err, ErrNotResourceURI) {
			t.Errorf("NormalizeResource(%q) = %q, %v; want ErrNotResourceURI", raw, got, err)
		}
	}
}

// FuzzNormalizeResource: the normal form is idempotent, names the same
// resource as the input, and keeps what a URL parser reads from the input
// (host, port, decoded path and query) apart from the §6.2.3 defaults.
func FuzzNormalizeResource(f *testing.F) {
	for _, s := range []string{"https://mcp.example.com", "HTTP://[::1]:80/%7e?q=%2f", "https://a:443/%41%2f",
		"https://a/./b", "https://a@b/", "https://a#b", "https://a:/", "https://a:0443/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		n, err := NormalizeResource(raw)
		if err != nil {
			if !errors.Is(err, ErrNotResourceURI) {
				t.Fatalf("error %v does not wrap ErrNotResourceURI", err)
			}
			return
		}
		if again, err := NormalizeResource(n); err != nil || again != n {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", raw, n, again, err)
		}
		if !SameResource(raw, n) || !SameResource(n, raw) {
			t.Fatalf("%q and its normal form %q are not the same resource", raw, n)
		}
		ur, err1 := url.Parse(raw)
		un, err2 := url.Parse(n)
		if err1 != nil || err2 != nil {
			t.Fatalf("accepted %q (normal form %q) that net/url cannot parse: %v, %v", raw, n, err1, err2)
		}
		if un.Scheme != "https" && un.Scheme != "http" || un.User != nil || un.Fragment != "" || un.Host == "" {
			t.Fatalf("normal form %q of %q is not a plain http(s) URI", n, raw)
		}
		if strings.ToLower(ur.Hostname()) != un.Hostname() {
			t.Fatalf("host changed: %q -> %q", ur.Hostname(), un.Hostname())
		}
		wantPort := ur.Port()
		if wantPort == map[string]string{"https": "443", "http": "80"}[un.Scheme] {
			wantPort = ""
		}
		if un.Port() != wantPort {
			t.Fatalf("port changed: %q -> %q", ur.Port(), un.Port())
		}
		wantPath := ur.Path
		if wantPath == "" {
			wantPath = "/"
		}
		if un.Path != wantPath || un.RawQuery != "" && mustUnescape(t, un.RawQuery) != mustUnescape(t, ur.RawQuery) {
			t.Fatalf("path or query changed: %q -> %q", raw, n)
		}
	})
}

func mustUnescape(t *testing.T, s string) string {
	out, err := url.PathUnescape(s)
	if err != nil {
		t.Fatalf("unescape %q: %v", s, err)
	}
	return out
}

// BenchmarkNormalizeResource: the comparison key of a resource indicator,
// computed once per requested resource at /authorize and /token.
func BenchmarkNormalizeResource(b *testing.B) {
	for _, raw := range []string{"https://mcp.example.com/mcp", "HTTPS://MCP.Example.com:443/%6Dcp"} {
		b.Run(raw, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := NormalizeResource(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
