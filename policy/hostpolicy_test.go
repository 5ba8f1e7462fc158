package policy

import (
	"errors"
	"strings"
	"testing"
)

func TestMatchHostPattern(t *testing.T) {
	tests := []struct {
		pattern, host string
		want          bool
	}{
		{"claude.ai", "claude.ai", true},
		{"claude.ai", "CLAUDE.AI", true},
		{"Claude.AI", "claude.ai", true},
		{"claude.ai", "www.claude.ai", false},
		{"claude.ai", "claude.ai.evil.example", false},
		{"claude.ai", "evilclaude.ai", false},
		{"*.example.com", "a.example.com", true},
		{"*.example.com", "a.b.c.example.com", true},
		{"*.example.com", "A.Example.COM", true},
		{"*.example.com", "example.com", false}, // the apex is not a subdomain
		{"*.example.com", "badexample.com", false},
		{"*.example.com", "example.com.evil.net", false},
		{"*.example.com", ".example.com", false},
		{"*.example.com", "a..example.com", false},
		{"*.example.com", "", false},
		{"10.1.2.3", "10.1.2.3", true},
		{"10.1.2.3", "10.1.2.30", false},
		{"::1", "::1", true},
		{"*example.com", "aexample.com", false}, // not a valid pattern, never matches by accident
		{"", "", false},
	}
	for _, tt := range tests {
		if got := MatchHostPattern(tt.pattern, tt.host); got != tt.want {
			t.Errorf("MatchHostPattern(%q, %q) = %v; want %v", tt.pattern, tt.host, got, tt.want)
		}
	}
}

func TestHostPolicyCheck(t *testing.T) {
	tests := []struct {
		name   string
		policy HostPolicy
		host   string
		rule   string
	}{
		{"empty policy allows any host", HostPolicy{}, "claude.ai", ""},
		{"allow-listed", HostPolicy{Allow: []string{"claude.ai", "*.vscode.dev"}}, "claude.ai", ""},
		{"allow-listed subdomain", HostPolicy{Allow: []string{"*.vscode.dev"}}, "insiders.vscode.dev", ""},
		{"wildcard does not allow apex", HostPolicy{Allow: []string{"*.vscode.dev"}}, "vscode.dev", RuleHostNotAllowed},
		{"not allow-listed", HostPolicy{Allow: []string{"claude.ai"}}, "evil.example", RuleHostNotAllowed},
		{"denied", HostPolicy{Deny: []string{"*.evil.example"}}, "a.evil.example", RuleHostDenied},
		{"deny wins over allow", HostPolicy{Allow: []string{"*.example.com"}, Deny: []string{"bad.example.com"}},
			"bad.example.com", RuleHostDenied},
		{"deny wildcard wins over exact allow", HostPolicy{Allow: []string{"a.example.com"}, Deny: []string{"*.example.com"}},
			"a.example.com", RuleHostDenied},
		{"deny other host leaves allow", HostPolicy{Allow: []string{"*.example.com"}, Deny: []string{"bad.example.com"}},
			"good.example.com", ""},
		{"case-insensitive deny", HostPolicy{Deny: []string{"EVIL.example"}}, "evil.example", RuleHostDenied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.policy.Check(tt.host)
			if tt.rule == "" {
				if err != nil {
					t.Fatalf("Check(%q) = %v; want allowed", tt.host, err)
				}
				return
			}
			var re *RuleError
			if !errors.As(err, &re) || re.Rule != tt.rule {
				t.Fatalf("Check(%q) = %v; want rule %q", tt.host, err, tt.rule)
			}
			if !strings.Contains(re.Detail, tt.host) {
				t.Fatalf("detail %q does not name the host", re.Detail)
			}
		})
	}
}

func TestHostPolicyCheckDoesNotAllocate(t *testing.T) {
	p := HostPolicy{Allow: []string{"*.example.com", "claude.ai"}, Deny: []string{"bad.example.com"}}
	if n := testing.AllocsPerRun(100, func() { _ = p.Check("claude.ai") }); n != 0 {
		t.Fatalf("Check allocates %.0f times for an allowed host", n)
	}
}

func TestValidatePattern(t *testing.T) {
	valid := []string{"claude.ai", "*.example.com", "*.a.b.example.com", "Claude.AI", "10.1.2.3", "::1",
		"2001:db8::1", "[2001:db8::1]", "xn--bcher-kva.example", "intranet"}
	for _, p := range valid {
		if err := ValidatePattern(p); err != nil {
			t.Errorf("ValidatePattern(%q) = %v; want valid", p, err)
		}
	}
	invalid := []string{"", "*", "*.", "**.example.com", "*.*.example.com", "a.*.example.com", "example.*",
		"*example.com", "https://claude.ai", "claude.ai/oauth", "user@claude.ai", "claude.ai:443",
		"*.10.0.0.1", "*.1.2", "claude.ai.", "bad_host.example", "2001:db8:0::1", "fe80::1%eth0",
		"0x7f.1", "127.1", "bücher.example", "a b.example"}
	for _, p := range invalid {
		err := ValidatePattern(p)
		var re *RuleError
		if !errors.As(err, &re) || re.Rule != RuleHostPattern {
			t.Errorf("ValidatePattern(%q) = %v; want a host-pattern error", p, err)
		}
	}
}

func TestHostPolicyValidateReportsEveryProblem(t *testing.T) {
	err := HostPolicy{Allow: []string{"ok.example", "*"}, Deny: []string{"https://x.example", "fine.example"}}.Validate()
	if err == nil {
		t.Fatal("want errors")
	}
	msg := err.Error()
	for _, want := range []string{"cimd.hosts.allow", `"*"`, "cimd.hosts.deny", "https://x.example"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %q", msg, want)
		}
	}
	if (HostPolicy{Allow: []string{"a.example"}}).Validate() != nil {
		t.Error("valid policy refused")
	}
}

func FuzzMatchHostPattern(f *testing.F) {
	f.Add("*.example.com", "a.example.com")
	f.Add("*.example.com", "example.com")
	f.Add("claude.ai", "CLAUDE.ai")
	f.Add("*.", ".")
	f.Fuzz(func(t *testing.T, pattern, host string) {
		got := MatchHostPattern(pattern, host)
		if !got {
			return
		}
		lp, lh := strings.ToLower(pattern), strings.ToLower(host)
		if base, ok := strings.CutPrefix(lp, "*."); ok {
			// A wildcard match is a strict subdomain: a non-empty label
			// followed by "." + base.
			if !strings.HasSuffix(lh, "."+base) || lh == base || strings.HasPrefix(lh, ".") ||
				strings.HasSuffix(lh[:len(lh)-len(base)-1], ".") {
				t.Fatalf("%q matched %q but is not a strict subdomain", pattern, host)
			}
			return
		}
		if len(pattern) == len(host) && strings.EqualFold(pattern, host) {
			return
		}
		t.Fatalf("%q matched %q without being equal", pattern, host)
	})
}
