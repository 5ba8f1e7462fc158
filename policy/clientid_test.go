package policy

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckClientIDURL(t *testing.T) {
	tests := []struct {
		name string
		url  string
		rule string // "" means accepted
	}{
		// Real client_ids (spec/vendor-documents/SOURCES.md).
		{"claude code", "https://claude.ai/oauth/claude-code-client-metadata", ""},
		{"vscode", "https://vscode.dev/oauth/client-metadata.json", ""},
		{"chatgpt connector", "https://chatgpt.com/oauth/ZoZTx6U8hji2/client.json", ""},
		{"mcpjam well-known", "https://www.mcpjam.com/.well-known/oauth/client-metadata.json", ""},
		{"github pages", "https://teamsparkai.github.io/mcp-inspect/.well-known/auth/client-metadata.json", ""},
		{"port", "https://client.example:8443/meta", ""},
		{"ipv4 literal", "https://192.0.2.1/meta", ""},
		{"ipv6 literal", "https://[2001:db8::1]/meta", ""},
		{"punycode host", "https://xn--bcher-kva.example/meta", ""},
		{"sub-delims and pct in path", "https://a.example/c;v=1/%7Euser/a:b@c!$&'()*+,=", ""},
		{"dots inside a segment", "https://a.example/client.v1..json/...", ""},
		{"trailing slash path", "https://a.example/client/", ""},
		{"single-label host", "https://intranet/client", ""},

		// CIMD -02 §3 MUSTs.
		{"empty", "", RuleURISyntax},
		{"http", "http://a.example/meta", RuleHTTPSScheme},
		{"uppercase scheme", "HTTPS://a.example/meta", RuleHTTPSScheme},
		{"mixed-case scheme", "Https://a.example/meta", RuleHTTPSScheme},
		{"no scheme", "a.example/meta", RuleHTTPSScheme},
		{"scheme relative", "//a.example/meta", RuleHTTPSScheme},
		{"https without slashes", "https:a.example/meta", RuleHTTPSScheme},
		{"other scheme", "ftp://a.example/meta", RuleHTTPSScheme},
		{"javascript", "javascript:alert(1)//a.example/meta", RuleHTTPSScheme},
		{"no host", "https:///meta", RuleHostSyntax},
		{"userinfo", "https://user@a.example/meta", RuleNoUserinfo},
		{"userinfo with password", "https://user:pw@a.example/meta", RuleNoUserinfo},
		{"empty userinfo", "https://@a.example/meta", RuleNoUserinfo},
		{"no path", "https://a.example", RulePathRequired},
		{"no path with port", "https://a.example:8443", RulePathRequired},
		{"root path", "https://a.example/", RulePathNotRoot},
		{"dot segment", "https://a.example/./meta", RuleNoDotSegments},
		{"dot-dot segment", "https://a.example/x/../meta", RuleNoDotSegments},
		{"trailing dot-dot", "https://a.example/x/..", RuleNoDotSegments},
		{"trailing dot", "https://a.example/x/.", RuleNoDotSegments},
		{"encoded dot lower", "https://a.example/%2e/meta", RuleNoDotSegments},
		{"encoded dot upper", "https://a.example/%2E%2E/meta", RuleNoDotSegments},
		{"mixed encoded dot", "https://a.example/x/.%2e/meta", RuleNoDotSegments},
		{"mixed encoded dot 2", "https://a.example/x/%2E./meta", RuleNoDotSegments},
		{"fragment", "https://a.example/meta#x", RuleNoFragment},
		{"empty fragment", "https://a.example/meta#", RuleNoFragment},
		{"fragment before path", "https://a.example#/meta", RuleNoFragment},
		{"query", "https://a.example/meta?x=1", RuleNoQuery},
		{"empty query", "https://a.example/meta?", RuleNoQuery},
		{"too long", "https://a.example/" + strings.Repeat("a", MaxURLLength), RuleMaxLength},

		// Characters.
		{"space", "https://a.example/me ta", RuleURISyntax},
		{"tab", "https://a.example/\tmeta", RuleURISyntax},
		{"newline", "https://a.example/meta\n", RuleURISyntax},
		{"nul", "https://a.example/meta\x00", RuleURISyntax},
		{"unicode host", "https://bücher.example/meta", RuleURISyntax},
		{"unicode path", "https://a.example/métà", RuleURISyntax},
		{"backslash", "https://a.example\\@evil.example/meta", RuleURISyntax},
		{"angle brackets", "https://a.example/<meta>", RuleURISyntax},
		{"bad percent", "https://a.example/%zz", RuleURISyntax},
		{"truncated percent", "https://a.example/meta%2", RuleURISyntax},
		{"percent-encoded host", "https://%61.example/meta", RuleHostSyntax},

		// Hosts (Gatehouse decisions).
		{"uppercase host", "https://A.example/meta", RuleHostSyntax},
		{"trailing dot host", "https://a.example./meta", RuleHostSyntax},
		{"empty label", "https://a..example/meta", RuleHostSyntax},
		{"leading hyphen", "https://-a.example/meta", RuleHostSyntax},
		{"underscore", "https://a_b.example/meta", RuleHostSyntax},
		{"long label", "https://" + strings.Repeat("a", 64) + ".example/meta", RuleHostSyntax},
		{"decimal ip", "https://2130706433/meta", RuleIPSpelling},
		{"octal ip", "https://0177.0.0.1/meta", RuleIPSpelling},
		{"hex ip", "https://0x7f.1/meta", RuleIPSpelling},
		{"hex ip full", "https://0x7f000001/meta", RuleIPSpelling},
		{"short ip", "https://127.1/meta", RuleIPSpelling},
		{"five-part ip", "https://1.2.3.4.5/meta", RuleIPSpelling},
		{"name ending in number", "https://a.example.123/meta", RuleIPSpelling},
		{"ipv6 zone", "https://[fe80::1%25eth0]/meta", RuleIPSpelling},
		{"ipv6 uppercase", "https://[2001:DB8::1]/meta", RuleIPSpelling},
		{"ipv6 long form", "https://[2001:db8:0:0:0:0:0:1]/meta", RuleIPSpelling},
		{"ipv6 unclosed", "https://[2001:db8::1/meta", RuleHostSyntax},
		{"ipv6 junk after bracket", "https://[::1]x/meta", RuleHostSyntax},
		{"ipv4 in brackets", "https://[127.0.0.1]/meta", RuleHostSyntax},
		{"empty port", "https://a.example:/meta", RulePort},
		{"port zero", "https://a.example:0/meta", RulePort},
		{"port leading zero", "https://a.example:0443/meta", RulePort},
		{"port too big", "https://a.example:65536/meta", RulePort},
		{"port not numeric", "https://a.example:https/meta", RulePort},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckClientIDURL(tt.url)
			if tt.rule == "" {
				if err != nil {
					t.Fatalf("CheckClientIDURL(%q) = %v; want accepted", tt.url, err)
				}
				return
			}
			var re *RuleError
			if !errors.As(err, &re) {
				t.Fatalf("CheckClientIDURL(%q) = %v; want a *RuleError with rule %q", tt.url, err, tt.rule)
			}
			if re.Rule != tt.rule {
				t.Fatalf("CheckClientIDURL(%q) broke rule %q (%v); want %q", tt.url, re.Rule, err, tt.rule)
			}
			if re.Detail == "" || re.Spec == "" {
				t.Fatalf("rule error without detail or spec: %#v", re)
			}
		})
	}
}

func TestCheckClientIDURLMessage(t *testing.T) {
	err := CheckClientIDURL("https://a.example/x/../meta")
	want := `must not contain dot segments (found "..") (CIMD -02 §3)`
	if err == nil || err.Error() != want {
		t.Fatalf("got %v; want %q", err, want)
	}
}

func TestCheckClientIDURLDoesNotAllocate(t *testing.T) {
	url := "https://claude.ai/oauth/claude-code-client-metadata"
	allocs := testing.AllocsPerRun(100, func() {
		if CheckClientIDURL(url) != nil {
			t.Fatal("refused")
		}
	})
	if allocs != 0 {
		t.Fatalf("CheckClientIDURL allocates %.0f times per valid URL; the cache-hit path needs 0", allocs)
	}
}

func TestClientIDHost(t *testing.T) {
	for in, want := range map[string]string{
		"https://claude.ai/oauth/x":  "claude.ai",
		"https://a.example:8443/x":   "a.example",
		"https://[2001:db8::1]:8/x":  "2001:db8::1",
		"not a url":                  "",
		"urn:ietf:params:oauth:x:yz": "",
	} {
		if got := ClientIDHost(in); got != want {
			t.Errorf("ClientIDHost(%q) = %q; want %q", in, got, want)
		}
	}
}

func FuzzCheckClientIDURL(f *testing.F) {
	for _, s := range []string{
		"https://claude.ai/oauth/claude-code-client-metadata", "https://a.example/%2e%2E/x",
		"https://[fe80::1%25eth0]/x", "https://0x7f.1/x", "https://a.example:0443/x", "https://a@b/x",
		"https://a.example/x?y#z", "HTTPS://A/", "https://[::ffff:127.0.0.1]/x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		err := CheckClientIDURL(raw)
		if err == nil {
			assertAcceptedClientID(t, raw)
			return
		}
		var re *RuleError
		if !errors.As(err, &re) || re.Rule == "" || re.Detail == "" {
			t.Fatalf("error for %q is not a complete *RuleError: %#v", raw, err)
		}
	})
}

// assertAcceptedClientID re-checks the invariants of an accepted client_id
// independently of the implementation.
func assertAcceptedClientID(t *testing.T, raw string) {
	t.Helper()
	if !strings.HasPrefix(raw, "https://") || len(raw) > MaxURLLength {
		t.Fatalf("accepted %q: not https or too long", raw)
	}
	if strings.ContainsAny(raw, "#? \\") {
		t.Fatalf("accepted %q containing a fragment, query, space or backslash", raw)
	}
	rest := raw[len("https://"):]
	slash := strings.IndexByte(rest, '/')
	if slash <= 0 || rest[slash:] == "/" {
		t.Fatalf("accepted %q without a host or path", raw)
	}
	if strings.Contains(rest[:slash], "@") {
		t.Fatalf("accepted %q with userinfo", raw)
	}
	host := ClientIDHost(raw)
	if host == "" || strings.ToLower(host) != host || strings.HasSuffix(host, ".") {
		t.Fatalf("accepted %q with host %q", raw, host)
	}
	for _, seg := range strings.Split(strings.ToLower(rest[slash:]), "/") {
		seg = strings.ReplaceAll(seg, "%2e", ".")
		if seg == "." || seg == ".." {
			t.Fatalf("accepted %q with a dot segment", raw)
		}
	}
}

func BenchmarkCheckClientIDURL(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if CheckClientIDURL("https://claude.ai/oauth/claude-code-client-metadata") != nil {
			b.Fatal("refused")
		}
	}
}
