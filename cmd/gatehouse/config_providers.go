package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/gatehouse-dev/gatehouse/identity"
)

// ProviderConfig is one upstream identity provider (login.providers[]).
type ProviderConfig struct {
	ID               string   `yaml:"id" help:"Short name used in URLs and stored identities: lower-case letters, digits, - and _ (the callback is {issuer}/login/{id}/callback)."`
	Name             string   `yaml:"name" help:"Label of the provider's button on the sign-in page."`
	Type             string   `yaml:"type" help:"oidc (any OpenID Connect provider, by discovery) or github (GitHub or GitHub Enterprise Server)."`
	CAFile           string   `yaml:"ca_file" help:"PEM bundle trusted besides the system roots, for a provider behind a private CA."`
	Issuer           string   `yaml:"issuer" help:"oidc: the provider's issuer URL ({issuer}/.well-known/openid-configuration)."`
	BaseURL          string   `yaml:"base_url" help:"github: the web URL of GitHub Enterprise Server (API under /api/v3). Default: https://github.com."`
	ClientID         string   `yaml:"client_id" help:"Gatehouse's client ID at the provider."`
	ClientSecret     string   `yaml:"client_secret" secret:"true" help:"Gatehouse's client secret at the provider."`
	ClientSecretFile string   `yaml:"client_secret_file" help:"Instead of client_secret: a file holding it."`
	Scopes           []string `yaml:"scopes" help:"Scopes requested upstream. Default: openid email profile (oidc); read:user user:email, plus read:org when organizations or teams are checked (github)."`
	Claims           struct {
		Username string `yaml:"username" help:"oidc: claim holding the username (default preferred_username)."`
		Email    string `yaml:"email" help:"oidc: claim holding the email address (default email)."`
		Name     string `yaml:"name" help:"oidc: claim holding the display name (default name)."`
		Groups   string `yaml:"groups" help:"oidc: claim holding the groups, a string or a list (default groups)."`
	} `yaml:"claims"`
	AllowedEmailDomains  []string `yaml:"allowed_email_domains" help:"Admit only verified email addresses in these domains (exact match)."`
	AllowedGroups        []string `yaml:"allowed_groups" help:"oidc: admit only members of one of these upstream groups."`
	RequireVerifiedEmail bool     `yaml:"require_verified_email" help:"Refuse an identity whose email the provider does not mark verified (email_verified). Default true; Entra ID sends no email_verified: set false there."`
	AllowedOrganizations []string `yaml:"allowed_organizations" help:"github: admit only members of one of these organizations."`
	AllowedTeams         []string `yaml:"allowed_teams" help:"github: admit only members of one of these teams, as org/team-slug."`
}

func (p *ProviderConfig) setDefaults() { p.RequireVerifiedEmail = true }

// identityConfig converts the entry, reading client_secret_file.
func (p ProviderConfig) identityConfig() (identity.Config, error) {
	secret := p.ClientSecret
	if p.ClientSecretFile != "" {
		if secret != "" {
			return identity.Config{}, fmt.Errorf("set client_secret or client_secret_file, not both")
		}
		b, err := os.ReadFile(p.ClientSecretFile)
		if err != nil {
			return identity.Config{}, fmt.Errorf("client_secret_file: %w", err)
		}
		secret = strings.TrimSpace(string(b))
	}
	return identity.Config{
		ID: p.ID, Name: p.Name, Type: p.Type, ClientID: p.ClientID, ClientSecret: secret, Scopes: p.Scopes,
		Issuer: p.Issuer, BaseURL: p.BaseURL,
		Claims: identity.ClaimMapping{Username: p.Claims.Username, Email: p.Claims.Email, Name: p.Claims.Name, Groups: p.Claims.Groups},
		Admission: identity.Admission{AllowedEmailDomains: p.AllowedEmailDomains, AllowedGroups: p.AllowedGroups,
			RequireVerifiedEmail: p.RequireVerifiedEmail, AllowedOrganizations: p.AllowedOrganizations, AllowedTeams: p.AllowedTeams},
	}, nil
}

// buildProviderConfigs validates login.providers and login.password,
// reporting every problem by key.
func buildProviderConfigs(c *Config) ([]identity.Config, []Problem) {
	var out []identity.Config
	var ps []Problem
	seen := map[string]bool{}
	for i, p := range c.Login.Providers {
		key := fmt.Sprintf("login.providers[%d]", i)
		ic, err := p.identityConfig()
		if err == nil {
			err = ic.Validate()
		}
		if err == nil && p.CAFile != "" {
			_, err = identity.NewHTTPClient(p.CAFile)
		}
		if err != nil {
			for _, line := range strings.Split(err.Error(), "\n") {
				ps = append(ps, Problem{Key: key, Msg: line})
			}
			continue
		}
		if seen[p.ID] {
			ps = append(ps, Problem{Key: key + ".id", Msg: fmt.Sprintf("%q is configured twice", p.ID)})
			continue
		}
		seen[p.ID] = true
		out = append(out, ic)
	}
	if !c.Login.Password.Enabled && len(c.Login.Providers) == 0 {
		ps = append(ps, Problem{Key: "login.password.enabled", Msg: "is false and login.providers is empty: nobody could sign in"})
	}
	return out, ps
}

// buildProviders builds the configured providers, each with an HTTP client
// trusting its ca_file.
func buildProviders(c Config) ([]identity.Provider, error) {
	configs, ps := buildProviderConfigs(&c)
	if len(ps) > 0 {
		return nil, fmt.Errorf("%s", ps[0])
	}
	var out []identity.Provider
	for i, ic := range configs {
		client, err := identity.NewHTTPClient(c.Login.Providers[i].CAFile)
		if err != nil {
			return nil, err
		}
		p, err := identity.New(ic, identity.Deps{HTTPClient: client})
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}
