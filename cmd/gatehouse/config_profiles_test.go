package main

import (
	"strings"
	"testing"
	"time"
)

func TestProfilesExampleIsValid(t *testing.T) {
	code, out, errOut := gh(t, "", "config", "check", "--config", "../../testdata/profiles.example.yaml")
	if code != 0 {
		t.Fatalf("config check of testdata/profiles.example.yaml = %d\n%s", code, errOut)
	}
	for _, want := range []string{"name: known-agents", "approval: admin", "refresh_tokens: false", "refresh_tokens: null", "webhook_url:"} {
		if !strings.Contains(out, want) {
			t.Errorf("effective configuration lacks %q", want)
		}
	}
	cfg, _, problems := LoadConfig("../../testdata/profiles.example.yaml", nil, nil)
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	ps, pps := buildProfiles(cfg)
	if len(pps) > 0 {
		t.Fatal(pps)
	}
	// The example says what the issue asks: known agents in, unknown CIMD
	// hosts wait, DCR clients get 5-minute tokens without refresh or
	// client_credentials.
	known := ps.ForURL("https://claude.ai/oauth/mcp-oauth-client-metadata")
	unknown := ps.ForURL("https://agent.example.org/client.json")
	reg := ps.List()[3]
	if known.Name != "known-agents" || known.NeedsApproval() || !unknown.NeedsApproval() ||
		reg.Ceilings.AccessTokenTTL != 5*time.Minute || reg.Ceilings.RefreshAllowed() || *reg.Ceilings.AllowClientCredentials {
		t.Errorf("the example does not express the issue's policy: known %+v unknown %+v registered %+v", known, unknown, reg)
	}
}

// TestEveryProfileConflictIsReported: config check lists every problem of
// client_profiles at once, each by key and line.
func TestEveryProfileConflictIsReported(t *testing.T) {
	file := writeFile(t, "profiles.yaml", `
resources:
  - uri: https://mcp.example.com/mcp
    scopes: [files:read]
cimd:
  hosts:
    deny: [evil.example]
clients:
  - client_id: dashboard
    redirect_uris: [https://dashboard.example.com/cb]
client_profiles:
  - name: everyone
    match: {cimd: true}
    consent: skip
  - name: shadowed
    match:
      hosts: [claude.ai, evil.example]
      client_ids: [no-such-static-client]
    access_token_ttl: 1h
    resources: [https://other.example.com/mcp]
  - name: dcr
    match: {registered: true}
    redirect_policy: any
    refresh_tokens: false
    refresh_token_max_ttl: 24h
    approval: sometimes
  - match: {}
    colour: blue
approvals:
  webhook_url: ftp://hooks.example.com/x
  webhook_retries: 99
`)
	_, _, problems := LoadConfig(file, nil, nil)
	want := map[string]string{
		"client_profiles[0].consent":               "skip is allowed only",
		"client_profiles[1].match.hosts[0]":        "already matches every client",
		"client_profiles[1].match.hosts[1]":        "cimd.hosts.deny",
		"client_profiles[1].match.client_ids[0]":   "neither a CIMD URL",
		"client_profiles[1].access_token_ttl":      "above tokens.access_token_ttl",
		"client_profiles[1].resources[0]":          "names no resource",
		"client_profiles[2].redirect_policy":       "CIMD clients only",
		"client_profiles[2].refresh_token_max_ttl": "refresh_tokens is false",
		"client_profiles[2].approval":              "not one of none, admin",
		"client_profiles[3].name":                  "required",
		"client_profiles[3].match":                 "names no client",
		"client_profiles[3].colour":                "unknown key",
		"approvals.webhook_url":                    "http(s) URL",
		"approvals.webhook_retries":                "between 0 and 10",
	}
	got := map[string]string{}
	for _, p := range problems {
		got[p.Key] = p.String()
	}
	for key, msg := range want {
		if !strings.Contains(got[key], msg) {
			t.Errorf("problem for %s = %q, want it to mention %q", key, got[key], msg)
		}
	}
	if len(problems) != len(want) {
		t.Errorf("%d problems, want %d: %v", len(problems), len(want), problems)
	}
	if !strings.Contains(got["client_profiles[0].consent"], "profiles.yaml:14") {
		t.Errorf("the problem does not name its line: %s", got["client_profiles[0].consent"])
	}
}

func TestOptionalProfileBooleans(t *testing.T) {
	file := writeFile(t, "p.yaml", `
client_profiles:
  - name: a
    match: {registered: true}
    refresh_tokens: false
    allow_client_credentials: true
  - name: b
    match: {cimd: true}
`)
	cfg, _, problems := LoadConfig(file, nil, nil)
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	a, b := cfg.ClientProfiles[0], cfg.ClientProfiles[1]
	if a.RefreshTokens == nil || *a.RefreshTokens || a.AllowClientCredentials == nil || !*a.AllowClientCredentials {
		t.Errorf("profile a = %+v", a)
	}
	if b.RefreshTokens != nil || b.AllowClientCredentials != nil {
		t.Errorf("unset booleans of profile b were set: %+v", b)
	}
	if _, _, problems := LoadConfig(writeFile(t, "bad.yaml", "client_profiles:\n  - name: a\n    match: {cimd: true}\n    refresh_tokens: maybe\n"), nil, nil); len(problems) != 1 ||
		problems[0].Key != "client_profiles[0].refresh_tokens" {
		t.Errorf("a bad boolean: %v", problems)
	}
}

// approvals.webhook_secret_file: the file must hold a usable secret, and a
// secret without a URL is reported as having no effect.
func TestWebhookSecretFile(t *testing.T) {
	good := writeFile(t, "good.secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n")
	short := writeFile(t, "short.secret", "tooshort\n")
	for _, tt := range []struct {
		name, yaml, want string
	}{
		{"valid", "approvals:\n  webhook_url: https://hooks.example.com/x\n  webhook_secret_file: " + good + "\n", ""},
		{"missing file", "approvals:\n  webhook_url: https://hooks.example.com/x\n  webhook_secret_file: " + good + ".nope\n", "cannot read"},
		{"too short", "approvals:\n  webhook_url: https://hooks.example.com/x\n  webhook_secret_file: " + short + "\n", "at least 16 bytes"},
		{"no url", "approvals:\n  webhook_secret_file: " + good + "\n", "no effect without approvals.webhook_url"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg, _, problems := LoadConfig(writeFile(t, "c.yaml", tt.yaml), nil, nil)
			var got string
			for _, p := range problems {
				if p.Key == "approvals.webhook_secret_file" {
					got = p.String()
				}
			}
			if tt.want == "" {
				if len(problems) > 0 {
					t.Fatal(problems)
				}
				wc, err := webhookConfig(cfg)
				if err != nil || len(wc.Secret) != 24 {
					t.Fatalf("webhookConfig = %d-byte secret, %v; want the 24 decoded bytes", len(wc.Secret), err)
				}
				return
			}
			if !strings.Contains(got, tt.want) {
				t.Fatalf("problem = %q, want it to mention %q (all: %v)", got, tt.want, problems)
			}
		})
	}
}
