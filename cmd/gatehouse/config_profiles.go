package main

import (
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/notify"

	"github.com/gatehouse-dev/gatehouse/policy"
	"github.com/gatehouse-dev/gatehouse/server"
)

// ProfileConfig is one entry of client_profiles: which clients it covers
// and how much Gatehouse trusts them. Keys are a contract (issue 13).
type ProfileConfig struct {
	Name           string             `yaml:"name" help:"The profile's name (a-z, 0-9, - and _), shown in logs, metrics, client lists and 'gatehouse cimd check'. \"default\" is reserved for the built-in profile of clients no profile matches."`
	Match          ProfileMatchConfig `yaml:"match"`
	Approval       string             `yaml:"approval" help:"none (default) or admin: the client waits in the approval queue ('gatehouse admin clients pending') until an administrator approves it; nothing is issued meanwhile. A CIMD client's approval holds for its document's redirect_uris, jwks_uri, jwks and auth method: a change puts it back in the queue."`
	Consent        string             `yaml:"consent" help:"remember (default: asked once, again when the request wants more or the client's metadata changes), always (every authorization) or skip (never asked: only for a profile whose match lists exact client_ids and exact hosts, no wildcard, registered, software_ids or cimd; logged at start)."`
	RedirectPolicy string             `yaml:"redirect_policy" help:"same-site, same-origin or any: how the https redirect URIs of this profile's CIMD clients must relate to their client_id host. Empty: cimd.redirect_policy."`
	Scopes         []string           `yaml:"scopes" help:"Scope ceiling: requested scopes outside this list are dropped from the grant and its tokens (the token response states the scope granted). Empty: no ceiling."`
	Resources      []string           `yaml:"resources" help:"Resource ceiling: only these resources (each one listed under resources:; an entry ending in / covers everything under it); any other is refused with invalid_target. Empty: no ceiling."`
	AccessTokenTTL time.Duration      `yaml:"access_token_ttl" help:"Access token lifetime of this profile's clients, at most tokens.access_token_ttl. 0s: tokens.access_token_ttl."`
	// RefreshTokens and AllowClientCredentials are pointers: unset means
	// "as the default profile", which differs from false.
	RefreshTokens          *bool         `yaml:"refresh_tokens" help:"false: no refresh token is issued and the refresh_token grant is refused for this profile's clients (existing refresh tokens included). Unset or true: as the server."`
	RefreshTokenMaxTTL     time.Duration `yaml:"refresh_token_max_ttl" help:"Absolute lifetime of this profile's grants, at most tokens.refresh_token_max_ttl. 0s: tokens.refresh_token_max_ttl."`
	AllowClientCredentials *bool         `yaml:"allow_client_credentials" help:"true or false: whether this profile's clients may use the client_credentials grant, instead of dcr.allow_client_credentials / cimd.allow_client_credentials (static clients: always, when their grant_types list it). Unset: those defaults."`
}

// ProfileMatchConfig says which clients a profile covers; any one
// criterion is enough.
type ProfileMatchConfig struct {
	Hosts       []string `yaml:"hosts" help:"CIMD client_id host patterns, as in cimd.hosts: exact (claude.ai) or *.example.com for every subdomain (not the apex). A host named here is admitted even when cimd.hosts.allow does not list it; cimd.hosts.deny still wins."`
	ClientIDs   []string `yaml:"client_ids" help:"Exact client IDs: CIMD client_id URLs, static client IDs (clients:) or registered (dcr_...) IDs."`
	Registered  bool     `yaml:"registered" help:"true: every dynamically registered (DCR) client."`
	SoftwareIDs []string `yaml:"software_ids" help:"Registered clients whose software_id comes from a software statement verified against dcr.software_statements.issuers; a software_id a client merely claims never matches."`
	CIMD        bool     `yaml:"cimd" help:"true: every URL client ID (CIMD). Put it last, e.g. to send unknown CIMD hosts to the approval queue; cimd.hosts.allow still applies to the clients it matches."`
}

// ApprovalsConfig configures the client approval queue.
type ApprovalsConfig struct {
	WebhookURL     string        `yaml:"webhook_url" help:"POST a JSON notice here for each client newly waiting for approval (first appearance, or a CIMD client back in the queue after its document changed). Sent in the background: never delays the user's request. Empty: no notices."`
	WebhookTimeout time.Duration `yaml:"webhook_timeout" help:"Deadline of one webhook attempt."`
	WebhookRetries int           `yaml:"webhook_retries" unit:"attempts" help:"Further attempts after a failed one (network error or non-2xx), 1s, 2s, 4s ... apart."`
	// WebhookSecretFile names the file of the signing secret; read at
	// start and at each reload, so the secret can be rotated.
	WebhookSecretFile string `yaml:"webhook_secret_file" help:"A file holding the secret that signs each notice (Standard Webhooks: webhook-id, webhook-timestamp and webhook-signature headers, HMAC-SHA256): whsec_ followed by base64, or any text of at least 16 bytes. Re-read at each reload. Empty: notices are not signed."`
}

// profileDefaults are the settings the built-in profile stands for.
func profileDefaults(cfg Config) policy.ProfileDefaults {
	return policy.ProfileDefaults{
		RedirectPolicy:        policy.RedirectMode(cfg.CIMD.RedirectPolicy),
		Hosts:                 policy.HostPolicy{Allow: cfg.CIMD.Hosts.Allow, Deny: cfg.CIMD.Hosts.Deny},
		ClientCredentialsDCR:  cfg.DCR.AllowClientCredentials,
		ClientCredentialsCIMD: cfg.CIMD.AllowClientCredentials,
		AccessTokenTTL:        cfg.Tokens.AccessTokenTTL,
		RefreshTokenMaxTTL:    cfg.Tokens.RefreshMaxTTL,
	}
}

// buildProfiles turns client_profiles into the policy's profile set,
// reporting every problem by key: the policy's own checks, static
// client_ids that name no configured client, and resource ceilings that
// name no configured resource.
func buildProfiles(cfg Config) (*policy.Profiles, []Problem) {
	list := make([]policy.Profile, 0, len(cfg.ClientProfiles))
	for _, pc := range cfg.ClientProfiles {
		list = append(list, policy.Profile{
			Name: pc.Name,
			Match: policy.ProfileMatch{Hosts: pc.Match.Hosts, ClientIDs: pc.Match.ClientIDs, Registered: pc.Match.Registered,
				SoftwareIDs: pc.Match.SoftwareIDs, CIMD: pc.Match.CIMD},
			Approval: policy.ApprovalMode(pc.Approval), Consent: policy.ConsentMode(pc.Consent),
			RedirectPolicy: policy.RedirectMode(pc.RedirectPolicy),
			Ceilings: policy.Ceilings{Scopes: pc.Scopes, Resources: pc.Resources, AccessTokenTTL: pc.AccessTokenTTL,
				RefreshTokens: pc.RefreshTokens, RefreshTokenMaxTTL: pc.RefreshTokenMaxTTL, AllowClientCredentials: pc.AllowClientCredentials},
		})
	}
	var problems []Problem
	static := map[string]bool{}
	for _, c := range cfg.Clients {
		static[c.ClientID] = true
	}
	for i, pc := range cfg.ClientProfiles {
		for j, id := range pc.Match.ClientIDs {
			if !strings.HasPrefix(id, "https://") && !strings.HasPrefix(id, "dcr_") && !static[id] {
				problems = append(problems, Problem{Key: fmt.Sprintf("client_profiles[%d].match.client_ids[%d]", i, j),
					Msg: fmt.Sprintf("%q is neither a CIMD URL, a registered (dcr_) ID nor a client under clients:", id)})
			}
		}
	}
	ps, err := policy.NewProfiles(list, profileDefaults(cfg))
	if err != nil {
		problems = append(problems, splitProblems(err, "client_profiles")...)
	}
	resources, _ := buildResources(cfg.Resources)
	if err := server.CheckProfileResources(resources, list); err != nil {
		problems = append(problems, splitProblems(err, "client_profiles")...)
	}
	if len(problems) > 0 {
		return nil, problems
	}
	return ps, nil
}

// splitProblems turns a joined "key: message" error into problems.
func splitProblems(err error, fallback string) []Problem {
	var out []Problem
	for _, line := range strings.Split(err.Error(), "\n") {
		if key, msg, ok := strings.Cut(line, ": "); ok && !strings.Contains(key, " ") {
			out = append(out, Problem{Key: key, Msg: msg})
		} else {
			out = append(out, Problem{Key: fallback, Msg: line})
		}
	}
	return out
}

// validateApprovals checks the approvals section.
func (c *Config) validateApprovals() []Problem {
	var ps []Problem
	a := c.Approvals
	if a.WebhookURL != "" {
		u, err := url.Parse(a.WebhookURL)
		switch {
		case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
			ps = append(ps, Problem{Key: "approvals.webhook_url", Msg: "must be an absolute http(s) URL"})
		case u.User != nil:
			ps = append(ps, Problem{Key: "approvals.webhook_url", Msg: "must not carry userinfo (put a secret in the path, as chat webhooks do)"})
		}
	}
	if a.WebhookTimeout <= 0 || a.WebhookTimeout > time.Minute {
		ps = append(ps, Problem{Key: "approvals.webhook_timeout", Msg: fmt.Sprintf("must be between 1ms and 1m, got %s", a.WebhookTimeout)})
	}
	if a.WebhookRetries < 0 || a.WebhookRetries > 10 {
		ps = append(ps, Problem{Key: "approvals.webhook_retries", Msg: "must be between 0 and 10"})
	}
	if a.WebhookSecretFile != "" {
		if _, err := readWebhookSecret(a.WebhookSecretFile); err != nil {
			ps = append(ps, Problem{Key: "approvals.webhook_secret_file", Msg: err.Error()})
		} else if a.WebhookURL == "" {
			ps = append(ps, Problem{Key: "approvals.webhook_secret_file", Msg: "has no effect without approvals.webhook_url"})
		}
	}
	return ps
}

// readWebhookSecret reads and parses approvals.webhook_secret_file.
func readWebhookSecret(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read: %v", err)
	}
	return notify.ParseSecret(string(data))
}
