package server

import (
	"slices"
	"testing"
)

// Hostile resource indicators (RFC 8707 §2): each is refused before any
// matching, whatever resources are configured.
func TestCheckResourceURIRefusesHostileIndicators(t *testing.T) {
	for _, raw := range []string{
		"https://../", "https://./mcp", "https://mcp..example.com/x", // hosts that are not names (fuzzing found the first)
		"https://0x7f.1/mcp", "https://[fe80::1%25eth0]/", "https://[0:0::1]/",
		"https://a/b/../c", "https://a/%2e%2e/c", "https://a/%2E%2e/c", "https://a/b%2fc", "https://a/./c", "https://a/%2E/c",
		"https://mcp.example.com/mcp#frag", "https://mcp.example.com/mcp?x=1", "https://mcp.example.com?", "https://user@mcp.example.com/",
		"https://mcp.example.com\\@evil/", "http://mcp.example.com/mcp", "mcp.example.com/mcp", "urn:x:y", "",
		"https://mcp.example.com:0443/", "https://mcp.example.com./",
	} {
		if key, err := checkResourceURI(raw); err == nil {
			t.Errorf("accepted %q as %q", raw, key)
		}
	}
	for _, tc := range []struct{ raw, key string }{
		{"https://mcp.example.com/mcp", "https://mcp.example.com/mcp"},
		{"https://MCP.example.com/mcp", "https://mcp.example.com/mcp"},
		{"https://mcp.example.com:8443/", "https://mcp.example.com:8443/"},
		{"https://mcp.example.com:443", "https://mcp.example.com/"},
		{"http://127.0.0.1:3000/mcp", "http://127.0.0.1:3000/mcp"},
		{"http://localhost/mcp", "http://localhost/mcp"},
		{"HTTP://LocalHost:80/mcp", "http://localhost/mcp"},
		{"http://[::1]:3000/mcp", "http://[::1]:3000/mcp"},
		{"https://xn--bcher-kva.example/", "https://xn--bcher-kva.example/"},
	} {
		if key, err := checkResourceURI(tc.raw); err != nil || key != tc.key {
			t.Errorf("checkResourceURI(%q) = %q, %v; want %q", tc.raw, key, err, tc.key)
		}
	}
}

// A resource is a URI, not a string (issue 10 item 1): equivalent
// spellings match the configured entry, and the audience is always the
// configured spelling; different hosts, ports and paths stay different.
func TestResolveResourceSpellings(t *testing.T) {
	rs, err := NewResources([]Resource{
		{URI: "https://mcp.example.com", Scopes: []string{"mcp"}},
		{URI: "https://files.example.com/mcp/", Scopes: []string{"files"}},
		{URI: "http://127.0.0.1:9000/mcp"},
		{Prefix: "https://Tenants.example.com/t/"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		requested []string
		aud       []string // nil: invalid_target
	}{
		{[]string{"https://mcp.example.com/"}, []string{"https://mcp.example.com"}},
		{[]string{"https://mcp.example.com"}, []string{"https://mcp.example.com"}},
		{[]string{"HTTPS://MCP.EXAMPLE.COM:443"}, []string{"https://mcp.example.com"}},
		{[]string{"https://mcp.example.com:443/"}, []string{"https://mcp.example.com"}},
		{[]string{"https://mcp.example.com/", "https://mcp.example.com"}, []string{"https://mcp.example.com"}}, // one audience
		{[]string{"https://files.example.com/%6Dcp/"}, []string{"https://files.example.com/mcp/"}},
		{[]string{"http://127.0.0.1:80/mcp"}, nil},        // another port
		{[]string{"http://localhost:9000/mcp"}, nil},      // another host
		{[]string{"https://files.example.com/mcp"}, nil},  // another path ("/mcp" is not "/mcp/")
		{[]string{"https://mcp.example.com/mcp"}, nil},    // another path
		{[]string{"https://mcp.example.com:8443/"}, nil},  // another port
		{[]string{"http://mcp.example.com/"}, nil},        // another scheme
		{[]string{"https://mcp.example.com/#x"}, nil},     // a fragment is still refused
		{[]string{"https://tenants.example.com/t/"}, nil}, // the prefix itself names nothing
		{[]string{"https://tenants.example.com/tx"}, nil}, // not under the prefix
		{[]string{"https://TENANTS.example.com/t/%61"}, []string{"https://Tenants.example.com/t/a"}},
	} {
		aud, _, err := rs.resolve(tc.requested)
		switch {
		case tc.aud == nil && err == nil:
			t.Errorf("resolve(%q) = %q, want invalid_target", tc.requested, aud)
		case tc.aud != nil && (err != nil || !slices.Equal(aud, tc.aud)):
			t.Errorf("resolve(%q) = %q, %v; want %q", tc.requested, aud, err, tc.aud)
		}
	}
}

// Two entries one request could not tell apart are a configuration error.
func TestNewResourcesRefusesEquivalentEntries(t *testing.T) {
	for _, list := range [][]Resource{
		{{URI: "https://mcp.example.com"}, {URI: "https://mcp.example.com/"}},
		{{URI: "https://mcp.example.com/a"}, {URI: "https://MCP.example.com:443/%61"}},
		{{Prefix: "https://t.example.com/"}, {Prefix: "https://t.example.com:443/"}},
	} {
		if _, err := NewResources(list); err == nil {
			t.Errorf("NewResources(%+v) accepted equivalent entries", list)
		}
	}
}

// At /token the requested resource is compared with the grant as a URI,
// and the token names the grant's spelling.
func TestNarrowResourcesComparesURIs(t *testing.T) {
	granted := []string{"https://mcp.example.com", "https://files.example.com/mcp"}
	for _, tc := range []struct {
		requested, want []string
	}{
		{nil, granted},
		{[]string{"https://mcp.example.com/"}, []string{"https://mcp.example.com"}},
		{[]string{"https://MCP.example.com:443/", "https://mcp.example.com"}, []string{"https://mcp.example.com"}},
		{[]string{"https://files.example.com/%6dcp"}, []string{"https://files.example.com/mcp"}},
		{[]string{"https://files.example.com/mcp/"}, nil},
		{[]string{"https://other.example.com/"}, nil},
	} {
		got, err := narrowResources(tc.requested, granted)
		switch {
		case tc.want == nil && err == nil:
			t.Errorf("narrowResources(%q) = %q, want invalid_target", tc.requested, got)
		case tc.want != nil && (err != nil || !slices.Equal(got, tc.want)):
			t.Errorf("narrowResources(%q) = %q, %v; want %q", tc.requested, got, err, tc.want)
		}
	}
}
