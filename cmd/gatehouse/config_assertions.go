package main

import (
	"fmt"
	"net/url"
	"slices"

	"github.com/gatehouse-dev/gatehouse/server"
)

// IdentityAssertionsConfig lists the enterprise IdPs whose Identity
// Assertion JWT Authorization Grants (ID-JAG) /token accepts.
type IdentityAssertionsConfig struct {
	Issuers []AssertionIssuerConfig `yaml:"issuers" help:"Trusted enterprise IdPs for enterprise-managed authorization: their ID-JAGs are exchanged at /token (grant_type jwt-bearer) for access tokens, with no browser. Empty: the grant is off."`
}

// AssertionIssuerConfig is one trusted ID-JAG issuer.
type AssertionIssuerConfig struct {
	Issuer         string   `yaml:"issuer" help:"The assertions' exact iss."`
	JWKSURI        string   `yaml:"jwks_uri" help:"https URL of the issuer's JWK Set, fetched through the SSRF-safe fetcher, cached, refetched on an unknown kid (a private address needs cimd.trusted_private_urls)."`
	Provider       string   `yaml:"provider" help:"The login.providers id whose identities the assertion's sub maps to (same person, same usr_ subject); its admission rules apply."`
	AllowedClients []string `yaml:"allowed_clients" help:"Only these client_ids may present its assertions. Empty: any client the assertion names."`
	Scopes         []string `yaml:"scopes" help:"Cap on the scopes its assertions yield. Empty: no cap beyond the resource's scopes."`
}

// buildAssertionIssuers validates identity_assertions.issuers.
func buildAssertionIssuers(c *Config) ([]server.AssertionIssuer, []Problem) {
	var out []server.AssertionIssuer
	var ps []Problem
	seen := map[string]bool{}
	for i, a := range c.IdentityAssertions.Issuers {
		key := fmt.Sprintf("identity_assertions.issuers[%d]", i)
		bad := func(field, format string, args ...any) {
			ps = append(ps, Problem{Key: key + field, Msg: fmt.Sprintf(format, args...)})
		}
		if u, err := url.Parse(a.Issuer); a.Issuer == "" || err != nil || !u.IsAbs() {
			bad(".issuer", "must be the issuer's absolute URL")
		} else if seen[a.Issuer] {
			bad(".issuer", "%q is configured twice", a.Issuer)
		}
		seen[a.Issuer] = true
		if u, err := url.Parse(a.JWKSURI); err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && isLoopbackHost(u.Hostname()))) {
			bad(".jwks_uri", "must be an https URL")
		}
		if !slices.ContainsFunc(c.Login.Providers, func(p ProviderConfig) bool { return p.ID == a.Provider }) {
			bad(".provider", "%q is not a login.providers id: the assertion's sub must map to one provider's identities", a.Provider)
		}
		out = append(out, server.AssertionIssuer{Issuer: a.Issuer, JWKSURI: a.JWKSURI, Provider: a.Provider,
			AllowedClients: a.AllowedClients, Scopes: a.Scopes})
	}
	return out, ps
}

func assertionIssuers(c Config) []server.AssertionIssuer {
	out, _ := buildAssertionIssuers(&c) // validated already
	return out
}
