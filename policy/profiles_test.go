package policy

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func ptr[T any](v T) *T { return &v }

var testDefaults = ProfileDefaults{
	RedirectPolicy: RedirectSameSite,
	Hosts:          HostPolicy{Deny: []string{"evil.example"}},
	AccessTokenTTL: 10 * time.Minute, RefreshTokenMaxTTL: 90 * 24 * time.Hour,
}

// exampleProfiles is the shape of testdata/profiles.example.yaml.
func exampleProfiles(t *testing.T) *Profiles {
	t.Helper()
	ps, err := NewProfiles([]Profile{
		{Name: "first-party", Match: ProfileMatch{ClientIDs: []string{"https://agent.corp.example/client.json", "dashboard"}}, Consent: ConsentSkip},
		{Name: "known-agents", Match: ProfileMatch{Hosts: []string{"claude.ai", "*.vscode.dev", "chatgpt.com"}}, RedirectPolicy: RedirectAny},
		{Name: "partner", Match: ProfileMatch{SoftwareIDs: []string{"partner-cli"}}, Ceilings: Ceilings{Scopes: []string{"files:read"}}},
		{Name: "registered", Match: ProfileMatch{Registered: true},
			Ceilings: Ceilings{AccessTokenTTL: 5 * time.Minute, RefreshTokens: ptr(false), AllowClientCredentials: ptr(false)}},
		{Name: "unknown-cimd", Match: ProfileMatch{CIMD: true}, Approval: ApprovalAdmin},
	}, testDefaults)
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

func TestProfileMatchingAndPrecedence(t *testing.T) {
	ps := exampleProfiles(t)
	for _, tc := range []struct {
		name   string
		client ProfileClient
		want   string
		reason string
	}{
		{"exact CIMD client_id", ProfileClient{ID: "https://agent.corp.example/client.json", URL: true}, "first-party", "match.client_ids"},
		{"another document on the same host", ProfileClient{ID: "https://agent.corp.example/other.json", URL: true}, "unknown-cimd", "match.cimd"},
		{"static client by ID", ProfileClient{ID: "dashboard"}, "first-party", "match.client_ids"},
		{"exact host", ProfileClient{ID: "https://claude.ai/oauth/mcp-oauth-client-metadata", URL: true}, "known-agents", `match.hosts "claude.ai"`},
		{"host with a port", ProfileClient{ID: "https://claude.ai:8443/c.json", URL: true}, "known-agents", `match.hosts "claude.ai"`},
		{"wildcard subdomain", ProfileClient{ID: "https://insiders.vscode.dev/redirect/client.json", URL: true}, "known-agents", `match.hosts "*.vscode.dev"`},
		{"wildcard does not cover the apex", ProfileClient{ID: "https://vscode.dev/client.json", URL: true}, "unknown-cimd", "match.cimd"},
		{"lookalike host", ProfileClient{ID: "https://claude.ai.evil.example/c.json", URL: true}, "unknown-cimd", "match.cimd"},
		{"suffix without a dot", ProfileClient{ID: "https://notclaude.ai/c.json", URL: true}, "unknown-cimd", "match.cimd"},
		{"verified software_id before registered", ProfileClient{ID: "dcr_1", Registered: true, SoftwareID: "partner-cli"}, "partner", `match.software_ids "partner-cli" (from a verified software statement)`},
		{"unverified software_id is just registered", ProfileClient{ID: "dcr_2", Registered: true}, "registered", "match.registered"},
		{"other static client", ProfileClient{ID: "batch-job"}, DefaultProfileName, "no configured profile matches"},
		{"a static ID that looks like a URL host", ProfileClient{ID: "claude.ai"}, DefaultProfileName, "no configured profile matches"},
		{"software_id on a non-registered client is ignored", ProfileClient{ID: "batch", SoftwareID: "partner-cli"}, DefaultProfileName, "no configured profile matches"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := ps.For(tc.client)
			if p.Name != tc.want {
				t.Fatalf("For(%+v) = %q, want %q", tc.client, p.Name, tc.want)
			}
			if got := p.MatchReason(tc.client); got != tc.reason {
				t.Errorf("MatchReason = %q, want %q", got, tc.reason)
			}
		})
	}
}

func TestFirstMatchWins(t *testing.T) {
	ps, err := NewProfiles([]Profile{
		{Name: "one", Match: ProfileMatch{Hosts: []string{"a.example.com"}}, Consent: ConsentAlways},
		{Name: "two", Match: ProfileMatch{Hosts: []string{"*.example.com"}}, Approval: ApprovalAdmin},
	}, testDefaults)
	if err != nil {
		t.Fatal(err)
	}
	if p := ps.ForURL("https://a.example.com/c"); p.Name != "one" || p.NeedsApproval() || p.ConsentMode() != ConsentAlways {
		t.Errorf("a.example.com got %+v, want profile one without approval", p)
	}
	if p := ps.ForURL("https://b.example.com/c"); p.Name != "two" || !p.NeedsApproval() || p.ConsentMode() != ConsentRemember {
		t.Errorf("b.example.com got %+v, want profile two with approval and remembered consent", p)
	}
	var none *Profiles
	if p := none.ForURL("https://b.example.com/c"); !p.IsDefault() || p.NeedsApproval() {
		t.Errorf("a nil profile set gave %+v, want the default", p)
	}
}

func TestAdmitURL(t *testing.T) {
	ps := exampleProfiles(t)
	allowOnly := HostPolicy{Allow: []string{"allowed.example"}, Deny: []string{"evil.example", "*.claude.ai"}}
	for _, tc := range []struct {
		id   string
		rule string // "" admitted
	}{
		{"https://allowed.example/c.json", ""},
		{"https://claude.ai/c.json", ""},                              // named by known-agents: admitted beyond the allow list
		{"https://x.vscode.dev/c.json", ""},                           // named by a wildcard
		{"https://agent.corp.example/client.json", ""},                // named by exact client_id
		{"https://agent.corp.example/other.json", RuleHostNotAllowed}, // only match.cimd: the allow list applies
		{"https://stranger.example/c.json", RuleHostNotAllowed},
		{"https://evil.example/c.json", RuleHostDenied},
		{"https://sub.claude.ai/c.json", RuleHostDenied}, // deny wins whatever the profile
	} {
		err := AdmitURL(allowOnly, ps, tc.id)
		var re *RuleError
		switch {
		case tc.rule == "" && err != nil:
			t.Errorf("AdmitURL(%s) = %v, want admitted", tc.id, err)
		case tc.rule != "" && (!errors.As(err, &re) || re.Rule != tc.rule):
			t.Errorf("AdmitURL(%s) = %v, want rule %s", tc.id, err, tc.rule)
		}
	}
	if err := AdmitURL(HostPolicy{}, nil, "https://any.example/c"); err != nil {
		t.Errorf("no lists and no profiles refused a host: %v", err)
	}
}

func TestRedirectAndClientCredentialsDefaults(t *testing.T) {
	ps := exampleProfiles(t)
	if got := ps.RedirectFor("https://claude.ai/c", RedirectSameSite); got != RedirectAny {
		t.Errorf("known agent redirect policy %q, want any", got)
	}
	if got := ps.RedirectFor("https://x.example/c", RedirectSameOrigin); got != RedirectSameOrigin {
		t.Errorf("an unknown host got %q, want the fallback same-origin", got)
	}
	d := ProfileDefaults{ClientCredentialsCIMD: true}
	for _, tc := range []struct {
		c    ProfileClient
		want bool
	}{
		{ProfileClient{ID: "https://claude.ai/c", URL: true}, true},                    // known-agents: cimd default (on in d)
		{ProfileClient{ID: "dcr_9", Registered: true}, false},                          // registered: profile says false
		{ProfileClient{ID: "batch"}, true},                                             // static default
		{ProfileClient{ID: "https://agent.corp.example/client.json", URL: true}, true}, // first-party: kind default
	} {
		if got := ps.For(tc.c).AllowsClientCredentials(tc.c, d); got != tc.want {
			t.Errorf("AllowsClientCredentials(%s) = %v, want %v", tc.c.ID, got, tc.want)
		}
	}
}

func TestCeilings(t *testing.T) {
	c := Ceilings{Scopes: []string{"read", "offline_access"}, AccessTokenTTL: 5 * time.Minute, RefreshTokenMaxTTL: time.Hour}
	kept, dropped := c.CapScopes([]string{"write", "read", "admin"})
	if strings.Join(kept, " ") != "read" || strings.Join(dropped, " ") != "write admin" {
		t.Errorf("CapScopes kept %v dropped %v", kept, dropped)
	}
	if kept, dropped := (Ceilings{}).CapScopes([]string{"x"}); len(kept) != 1 || dropped != nil {
		t.Errorf("no ceiling changed the scopes: %v %v", kept, dropped)
	}
	if got := c.AccessTTL(10 * time.Minute); got != 5*time.Minute {
		t.Errorf("AccessTTL = %s", got)
	}
	if got := c.AccessTTL(time.Minute); got != time.Minute {
		t.Errorf("AccessTTL under a lower server TTL = %s, want the server's 1m", got)
	}
	if got := c.GrantTTL(90 * 24 * time.Hour); got != time.Hour {
		t.Errorf("GrantTTL = %s", got)
	}
	if !c.RefreshAllowed() || (Ceilings{RefreshTokens: ptr(false)}).RefreshAllowed() {
		t.Error("RefreshAllowed wrong")
	}
}

func TestEffectsDescribeEverySetting(t *testing.T) {
	ps := exampleProfiles(t)
	c := ProfileClient{ID: "dcr_1", Registered: true}
	got := map[string]string{}
	for _, e := range ps.For(c).Effects(c, testDefaults) {
		got[e.Setting] = e.Value
	}
	want := map[string]string{
		"approval": "none", "access_token_ttl": "5m0s (this profile)", "refresh_tokens": "none (refresh_tokens: false)",
		"client_credentials": "refused (this profile)", "scopes": "no ceiling",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("effect %s = %q, want %q", k, got[k], v)
		}
	}
	if _, ok := got["redirect_policy"]; ok {
		t.Error("a registered client was told about the CIMD redirect policy")
	}
	u := ProfileClient{ID: "https://claude.ai/c", URL: true}
	for _, e := range ps.For(u).Effects(u, testDefaults) {
		if e.Setting == "redirect_policy" && e.Value != "any (this profile)" {
			t.Errorf("redirect effect %q", e.Value)
		}
	}
}
