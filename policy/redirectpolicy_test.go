package policy

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckRedirectURI(t *testing.T) {
	const claude = "https://claude.ai/oauth/claude-code-client-metadata"
	const mcpjam = "https://www.mcpjam.com/.well-known/oauth/client-metadata.json"
	const alice = "https://alice.github.io/client.json"
	const ported = "https://client.example:8443/meta"
	all := []RedirectMode{RedirectSameSite, RedirectSameOrigin, RedirectAny}
	tests := []struct {
		name     string
		modes    []RedirectMode
		clientID string
		redirect string
		rule     string // "" means accepted
	}{
		// Loopback: allowed in every mode, any port (RFC 8252 §7.3).
		{"localhost no port", all, claude, "http://localhost/callback", ""},
		{"127.0.0.1 port", all, claude, "http://127.0.0.1:33418/", ""},
		{"ipv6 loopback", all, claude, "http://[::1]/oauth_callback", ""},
		{"http non-loopback", all, claude, "http://claude.ai/cb", RuleRedirectScheme},
		{"http other 127 spelling", all, claude, "http://127.1/cb", RuleRedirectScheme},
		{"http loopback userinfo", all, claude, "http://a@localhost/cb", RuleRedirectScheme},
		{"http uppercase host", all, claude, "http://LOCALHOST/cb", RuleRedirectScheme},

		// same-site.
		{"same host", []RedirectMode{RedirectSameSite}, claude, "https://claude.ai/api/mcp/auth_callback", ""},
		{"sibling subdomain", []RedirectMode{RedirectSameSite}, mcpjam, "https://app.mcpjam.com/oauth/callback", ""},
		{"apex of client subdomain", []RedirectMode{RedirectSameSite}, mcpjam, "https://mcpjam.com/cb", ""},
		{"other site", []RedirectMode{RedirectSameSite}, claude, "https://evil.example/cb", RuleRedirectSite},
		{"suffix trick", []RedirectMode{RedirectSameSite}, claude, "https://claude.ai.evil.example/cb", RuleRedirectSite},
		{"private suffix neighbour", []RedirectMode{RedirectSameSite}, alice, "https://bob.github.io/cb", RuleRedirectSite},
		{"private suffix self", []RedirectMode{RedirectSameSite}, alice, "https://alice.github.io/cb", ""},
		{"public suffix itself", []RedirectMode{RedirectSameSite}, alice, "https://github.io/cb", RuleRedirectSite},
		{"same site other port", []RedirectMode{RedirectSameSite}, ported, "https://client.example/cb", ""},

		// same-origin.
		{"origin same host", []RedirectMode{RedirectSameOrigin}, claude, "https://claude.ai/cb", ""},
		{"origin explicit default port", []RedirectMode{RedirectSameOrigin}, claude, "https://claude.ai:443/cb", ""},
		{"origin sibling refused", []RedirectMode{RedirectSameOrigin}, mcpjam, "https://app.mcpjam.com/cb", RuleRedirectOrigin},
		{"origin port differs", []RedirectMode{RedirectSameOrigin}, ported, "https://client.example/cb", RuleRedirectOrigin},
		{"origin port equal", []RedirectMode{RedirectSameOrigin}, ported, "https://client.example:8443/cb", ""},

		// any.
		{"any host", []RedirectMode{RedirectAny}, claude, "https://evil.example/cb", ""},
		{"any https localhost", []RedirectMode{RedirectAny}, claude, "https://localhost/cb", ""},

		// https syntax in every mode.
		{"https userinfo", all, claude, "https://user@claude.ai/cb", RuleNoUserinfo},
		{"https no host", all, claude, "https:///cb", RuleHostSyntax},
		{"https bad host", all, claude, "https://claude..ai/cb", RuleHostSyntax},
		{"https bad port", all, claude, "https://claude.ai:99999/cb", RulePort},
		{"https numeric host", all, claude, "https://2130706433/cb", RuleIPSpelling},
		{"uppercase scheme", all, claude, "HTTPS://claude.ai/cb", RuleRedirectScheme},

		// Private-use schemes (RFC 8252 §7.1).
		{"reverse domain", all, claude, "ai.claude:/cb", ""},
		{"reverse domain with authority", all, claude, "ai.claude://oauth/cb", ""},
		{"not reverse domain", all, mcpjam, "mcpjam://oauth/callback", RulePrivateScheme},
		{"reverse of registrable domain only", all, mcpjam, "com.mcpjam://cb", RulePrivateScheme},
		{"exact reverse of www host", all, mcpjam, "com.mcpjam.www:/cb", ""},
		{"other app's scheme", all, claude, "com.evil.app:/cb", RulePrivateScheme},
		{"private scheme for ip client", all, "https://192.0.2.1/meta", "app.example:/cb", RulePrivateScheme},
		{"private scheme userinfo", all, claude, "ai.claude://u@x/cb", RuleNoUserinfo},
		{"javascript", all, claude, "javascript:alert(1)", RuleRedirectScheme},
		{"data", all, claude, "data:text/html,hi", RuleRedirectScheme},
		{"file", all, claude, "file:///etc/passwd", RuleRedirectScheme},
		{"vbscript", all, claude, "vbscript:x", RuleRedirectScheme},

		// Syntax in every mode.
		{"fragment", all, claude, "https://claude.ai/cb#x", RuleNoFragment},
		{"empty fragment", all, claude, "http://localhost/cb#", RuleNoFragment},
		{"relative", all, claude, "/callback", RuleRedirectScheme},
		{"empty", all, claude, "", RuleURISyntax},
		{"space", all, claude, "https://claude.ai/c b", RuleURISyntax},
		{"unicode", all, claude, "https://claudé.ai/cb", RuleURISyntax},
		{"too long", all, claude, "https://claude.ai/" + strings.Repeat("a", MaxURLLength), RuleMaxLength},
		{"bad client id", all, "urn:x", "https://claude.ai/cb", RuleClientIDHost},
	}
	for _, tt := range tests {
		for _, mode := range tt.modes {
			t.Run(string(mode)+"/"+tt.name, func(t *testing.T) {
				err := CheckRedirectURI(mode, tt.clientID, tt.redirect)
				if tt.rule == "" {
					if err != nil {
						t.Fatalf("CheckRedirectURI(%s, %q) = %v; want accepted", mode, tt.redirect, err)
					}
					return
				}
				var re *RuleError
				if !errors.As(err, &re) || re.Rule != tt.rule {
					t.Fatalf("CheckRedirectURI(%s, %q) = %v; want rule %q", mode, tt.redirect, err, tt.rule)
				}
			})
		}
	}
}

func TestCheckRedirectURIUnknownMode(t *testing.T) {
	err := CheckRedirectURI("off", "https://claude.ai/x", "https://claude.ai/cb")
	var re *RuleError
	if !errors.As(err, &re) || re.Rule != RuleRedirectMode {
		t.Fatalf("got %v; want redirect-mode error", err)
	}
	if _, err := ParseRedirectMode("same-site"); err != nil {
		t.Fatal(err)
	}
	if _, err := ParseRedirectMode("Same-Site"); err == nil {
		t.Fatal("mode names are exact")
	}
}

func TestPrivateSchemeMessageNamesExpectedScheme(t *testing.T) {
	err := CheckRedirectURI(RedirectSameSite, "https://www.mcpjam.com/x", "mcpjam://oauth/callback")
	if err == nil || !strings.Contains(err.Error(), `"com.mcpjam.www"`) {
		t.Fatalf("error %v does not tell the developer which scheme would work", err)
	}
}

func FuzzCheckRedirectURI(f *testing.F) {
	f.Add("same-site", "https://claude.ai/x", "http://localhost:1/cb")
	f.Add("same-origin", "https://a.example:8443/x", "https://a.example:8443/cb")
	f.Add("any", "https://a.example/x", "ai.claude:/cb")
	f.Add("same-site", "https://alice.github.io/x", "https://bob.github.io/cb")
	f.Fuzz(func(t *testing.T, mode, clientID, redirect string) {
		err := CheckRedirectURI(RedirectMode(mode), clientID, redirect)
		if err != nil {
			var re *RuleError
			if !errors.As(err, &re) || re.Rule == "" {
				t.Fatalf("not a *RuleError: %#v", err)
			}
			return
		}
		// Whatever is accepted is never a fragment, never http off
		// loopback, never userinfo, never a dangerous scheme.
		if strings.Contains(redirect, "#") {
			t.Fatalf("accepted %q with a fragment", redirect)
		}
		lower := strings.ToLower(redirect)
		for _, bad := range []string{"javascript:", "data:", "file:"} {
			if strings.HasPrefix(lower, bad) {
				t.Fatalf("accepted %q", redirect)
			}
		}
		if strings.HasPrefix(redirect, "http:") && !IsLoopbackRedirect(redirect) {
			t.Fatalf("accepted non-loopback http %q", redirect)
		}
		if mode == string(RedirectSameOrigin) && strings.HasPrefix(redirect, "https://") {
			host := ClientIDHost(redirect)
			if host != ClientIDHost(clientID) {
				t.Fatalf("same-origin accepted %q for %q", redirect, clientID)
			}
		}
	})
}

func TestPrivateUseScheme(t *testing.T) {
	for in, want := range map[string]string{
		"https://claude.ai/oauth/x":     "ai.claude",
		"https://www.mcpjam.com/x":      "com.mcpjam.www",
		"https://client.example:8443/x": "example.client",
		"https://192.0.2.1/x":           "",
		"https://[2001:db8::1]/x":       "",
		"not a url":                     "",
	} {
		if got := PrivateUseScheme(in); got != want {
			t.Errorf("PrivateUseScheme(%q) = %q; want %q", in, got, want)
		}
	}
}
