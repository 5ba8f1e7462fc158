package policy

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// problems returns the keys and messages NewProfiles refused list with.
func problems(t *testing.T, list []Profile) []ProfileProblem {
	t.Helper()
	_, err := NewProfiles(list, testDefaults)
	if err == nil {
		return nil
	}
	var out []ProfileProblem
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var p ProfileProblem
		if !errors.As(e, &p) {
			t.Fatalf("problem %v is not a ProfileProblem", e)
		}
		out = append(out, p)
	}
	return out
}

func TestProfileValidationHostileAndInvalid(t *testing.T) {
	for _, tc := range []struct {
		name    string
		profile Profile
		key     string
		msg     string
	}{
		{"no name", Profile{Match: ProfileMatch{Registered: true}}, "client_profiles[0].name", "required"},
		{"reserved name", Profile{Name: "default", Match: ProfileMatch{Registered: true}}, "client_profiles[0].name", "built-in"},
		{"name with spaces", Profile{Name: "my profile", Match: ProfileMatch{Registered: true}}, "client_profiles[0].name", "a-z"},
		{"name with a newline (log forging)", Profile{Name: "x\nevent=admin", Match: ProfileMatch{Registered: true}}, "client_profiles[0].name", "a-z"},
		{"empty match", Profile{Name: "p"}, "client_profiles[0].match", "names no client"},
		{"star host", Profile{Name: "p", Match: ProfileMatch{Hosts: []string{"*"}}}, "client_profiles[0].match.hosts[0]", "matches everything"},
		{"URL as host", Profile{Name: "p", Match: ProfileMatch{Hosts: []string{"https://claude.ai"}}}, "client_profiles[0].match.hosts[0]", "not a URL"},
		{"inner wildcard", Profile{Name: "p", Match: ProfileMatch{Hosts: []string{"a.*.com"}}}, "client_profiles[0].match.hosts[0]", "wildcard"},
		{"uppercase host", Profile{Name: "p", Match: ProfileMatch{Hosts: []string{"Claude.AI"}}}, "client_profiles[0].match.hosts[0]", "lowercase"},
		{"bad CIMD URL", Profile{Name: "p", Match: ProfileMatch{ClientIDs: []string{"https://claude.ai/../x"}}}, "client_profiles[0].match.client_ids[0]", "not a valid CIMD client_id"},
		{"client_id with a space", Profile{Name: "p", Match: ProfileMatch{ClientIDs: []string{"a b"}}}, "client_profiles[0].match.client_ids[0]", "without spaces"},
		{"duplicate client_id", Profile{Name: "p", Match: ProfileMatch{ClientIDs: []string{"a", "a"}}}, "client_profiles[0].match.client_ids[1]", "twice"},
		{"software_id with bidi", Profile{Name: "p", Match: ProfileMatch{SoftwareIDs: []string{"cli\u202e"}}}, "client_profiles[0].match.software_ids[0]", "display text"},
		{"unknown approval", Profile{Name: "p", Match: ProfileMatch{Registered: true}, Approval: "later"}, "client_profiles[0].approval", "none, admin"},
		{"unknown consent", Profile{Name: "p", Match: ProfileMatch{Registered: true}, Consent: "never"}, "client_profiles[0].consent", "remember, always, skip"},
		{"skip with a wildcard", Profile{Name: "p", Match: ProfileMatch{Hosts: []string{"claude.ai", "*.claude.ai"}}, Consent: ConsentSkip}, "client_profiles[0].consent", `wildcard "*.claude.ai"`},
		{"skip for every registered client", Profile{Name: "p", Match: ProfileMatch{Registered: true}, Consent: ConsentSkip}, "client_profiles[0].consent", "match.registered"},
		{"skip by software_id", Profile{Name: "p", Match: ProfileMatch{SoftwareIDs: []string{"x"}}, Consent: ConsentSkip}, "client_profiles[0].consent", "software_ids"},
		{"skip for every URL client", Profile{Name: "p", Match: ProfileMatch{CIMD: true}, Consent: ConsentSkip}, "client_profiles[0].consent", "match.cimd"},
		{"unknown redirect policy", Profile{Name: "p", Match: ProfileMatch{CIMD: true}, RedirectPolicy: "anywhere"}, "client_profiles[0].redirect_policy", "unknown redirect policy"},
		{"redirect policy without CIMD clients", Profile{Name: "p", Match: ProfileMatch{Registered: true}, RedirectPolicy: RedirectAny}, "client_profiles[0].redirect_policy", "matches none"},
		{"bad scope", Profile{Name: "p", Match: ProfileMatch{Registered: true}, Ceilings: Ceilings{Scopes: []string{"a b"}}}, "client_profiles[0].scopes[0]", "scope token"},
		{"empty scope list", Profile{Name: "p", Match: ProfileMatch{Registered: true}, Ceilings: Ceilings{Scopes: []string{}}}, "client_profiles[0].scopes", "drop every scope"},
		{"access TTL above the server's", Profile{Name: "p", Match: ProfileMatch{Registered: true}, Ceilings: Ceilings{AccessTokenTTL: time.Hour}}, "client_profiles[0].access_token_ttl", "only lower"},
		{"negative TTL", Profile{Name: "p", Match: ProfileMatch{Registered: true}, Ceilings: Ceilings{AccessTokenTTL: -time.Second}}, "client_profiles[0].access_token_ttl", "negative"},
		{"grant TTL above the server's", Profile{Name: "p", Match: ProfileMatch{Registered: true}, Ceilings: Ceilings{RefreshTokenMaxTTL: 100 * 24 * time.Hour}}, "client_profiles[0].refresh_token_max_ttl", "only lower"},
		{"grant TTL without refresh", Profile{Name: "p", Match: ProfileMatch{Registered: true}, Ceilings: Ceilings{RefreshTokens: ptr(false), RefreshTokenMaxTTL: time.Hour}}, "client_profiles[0].refresh_token_max_ttl", "refresh_tokens is false"},
		{"denied host", Profile{Name: "p", Match: ProfileMatch{Hosts: []string{"evil.example"}}}, "client_profiles[0].match.hosts[0]", "cimd.hosts.deny"},
		{"denied client_id host", Profile{Name: "p", Match: ProfileMatch{ClientIDs: []string{"https://evil.example/c"}}}, "client_profiles[0].match.client_ids[0]", "cimd.hosts.deny"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ps := problems(t, []Profile{tc.profile})
			for _, p := range ps {
				if p.Key == tc.key && strings.Contains(p.Msg, tc.msg) {
					return
				}
			}
			t.Errorf("want a problem at %s mentioning %q; got %v", tc.key, tc.msg, ps)
		})
	}
}

func TestSkipIsAllowedForExactNames(t *testing.T) {
	if ps := problems(t, []Profile{{Name: "fp", Consent: ConsentSkip, Match: ProfileMatch{
		Hosts: []string{"agent.corp.example"}, ClientIDs: []string{"https://x.example/c", "dashboard"}}}}); ps != nil {
		t.Errorf("skip for exact names refused: %v", ps)
	}
}

// TestEveryConflictAtOnce: one list with several shadowed criteria reports
// each of them, not just the first (config check lists them all).
func TestEveryConflictAtOnce(t *testing.T) {
	ps := problems(t, []Profile{
		{Name: "broad", Match: ProfileMatch{Hosts: []string{"*.example.com"}, Registered: true}},
		{Name: "broad", Match: ProfileMatch{ // duplicate name too
			Hosts:       []string{"a.example.com", "*.b.example.com", "example.com"},
			ClientIDs:   []string{"https://c.example.com/x", "dcr_abc", "static-one"},
			SoftwareIDs: []string{"sw"},
			Registered:  true,
		}},
		{Name: "all", Match: ProfileMatch{CIMD: true}},
		{Name: "all-again", Match: ProfileMatch{CIMD: true, ClientIDs: []string{"https://anything.example/c"}}},
	})
	want := []string{
		"client_profiles[1].name",
		"client_profiles[1].match.hosts[0]",
		"client_profiles[1].match.hosts[1]",
		"client_profiles[1].match.client_ids[0]",
		"client_profiles[1].match.client_ids[1]",
		"client_profiles[1].match.registered",
		"client_profiles[1].match.software_ids[0]",
		"client_profiles[3].match.client_ids[0]",
		"client_profiles[3].match.cimd",
	}
	got := map[string]bool{}
	for _, p := range ps {
		got[p.Key] = true
	}
	for _, k := range want {
		if !got[k] {
			t.Errorf("no problem reported at %s; got %v", k, ps)
		}
	}
	for _, k := range []string{"client_profiles[1].match.hosts[2]", "client_profiles[1].match.client_ids[2]"} {
		if got[k] {
			t.Errorf("%s is not shadowed (the apex and a static ID), yet reported", k)
		}
	}
}

func TestPatternCovers(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"claude.ai", "claude.ai", true},
		{"claude.ai", "CLAUDE.AI", true},
		{"claude.ai", "*.claude.ai", false},
		{"*.claude.ai", "x.claude.ai", true},
		{"*.claude.ai", "claude.ai", false},
		{"*.claude.ai", "*.x.claude.ai", true},
		{"*.claude.ai", "*.claude.ai", true},
		{"*.x.claude.ai", "*.claude.ai", false},
		{"*.laude.ai", "*.claude.ai", false},
	} {
		if got := patternCovers(tc.a, tc.b); got != tc.want {
			t.Errorf("patternCovers(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}
