package main

import (
	"fmt"
	"slices"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-dev/gatehouse/dcr"
	"github.com/gatehouse-dev/gatehouse/policy"
	"github.com/gatehouse-dev/gatehouse/server"
	"github.com/gatehouse-dev/gatehouse/store"
)

// validateDCR checks the dcr section.
func (c *Config) validateDCR() []Problem {
	var ps []Problem
	bad := func(key, format string, args ...any) {
		ps = append(ps, Problem{Key: "dcr." + key, Msg: fmt.Sprintf(format, args...)})
	}
	d := c.DCR
	if _, err := dcr.ParseMode(d.Mode); err != nil {
		bad("mode", "%v", err)
	}
	for key, v := range map[string]time.Duration{"unused_client_ttl": d.UnusedClientTTL, "idle_client_ttl": d.IdleClientTTL} {
		if v <= 0 {
			bad(key, "must be a positive duration, got %s", v)
		}
	}
	if d.ClientSecretTTL < 0 {
		bad("client_secret_ttl", "must not be negative (0s: secrets do not expire)")
	}
	// Compared with server.body_limit only when that is valid itself, so
	// one mistake is reported once.
	if d.MaxBodyBytes < 1<<10 || (c.Server.BodyLimit >= 1<<10 && d.MaxBodyBytes > c.Server.BodyLimit) {
		bad("max_body_bytes", "must be between 1024 and server.body_limit (%d)", c.Server.BodyLimit)
	}
	if d.MaxRedirectURIs < 1 || d.MaxRedirectURIs > 100 {
		bad("max_redirect_uris", "must be between 1 and 100")
	}
	if d.RateLimitPerIP < 1 {
		bad("rate_limit_per_ip", "must be at least 1")
	}
	if d.RateLimitGlobal < 1 {
		bad("rate_limit_global", "must be at least 1")
	}
	if d.SoftwareStatements.Required && len(d.SoftwareStatements.Issuers) == 0 {
		bad("software_statements.required", "needs at least one trusted issuer")
	}
	for i, is := range d.SoftwareStatements.Issuers {
		key := fmt.Sprintf("software_statements.issuers[%d]", i)
		if is.Issuer == "" {
			bad(key+".issuer", "is required")
		}
		if _, err := policy.ParseClientJWKS(is.JWKS); err != nil {
			bad(key+".jwks", "%v", err)
		}
		for j, a := range is.Algorithms {
			if !policy.IsAssertionAlgorithm(a) {
				bad(fmt.Sprintf("%s.algorithms[%d]", key, j), "%q is not an accepted asymmetric algorithm", a)
			}
		}
	}
	return ps
}

// registrationService builds the DCR service (validated settings).
func registrationService(cfg Config, st store.ClientStore) *dcr.Service {
	return dcr.New(dcrConfig(cfg), st, nil, nil)
}

// dcrConfig converts the dcr settings (validated already).
func dcrConfig(cfg Config) dcr.Config {
	mode, _ := dcr.ParseMode(cfg.DCR.Mode)
	dc := dcr.Config{
		Mode:                   mode,
		UnusedClientTTL:        cfg.DCR.UnusedClientTTL,
		IdleClientTTL:          cfg.DCR.IdleClientTTL,
		SecretTTL:              cfg.DCR.ClientSecretTTL,
		MaxRedirectURIs:        cfg.DCR.MaxRedirectURIs,
		AllowClientCredentials: cfg.DCR.AllowClientCredentials,
		Statements:             dcr.StatementPolicy{Required: cfg.DCR.SoftwareStatements.Required},
		RegistrationURL:        func(id string) string { return cfg.Issuer + "/register/" + id },
	}
	for _, is := range cfg.DCR.SoftwareStatements.Issuers {
		keys, _ := policy.ParseClientJWKS(is.JWKS)
		var algs []jose.SignatureAlgorithm
		for _, a := range is.Algorithms {
			if !slices.Contains(algs, jose.SignatureAlgorithm(a)) {
				algs = append(algs, jose.SignatureAlgorithm(a))
			}
		}
		dc.Statements.Issuers = append(dc.Statements.Issuers, dcr.TrustedIssuer{Issuer: is.Issuer, Keys: keys, Algorithms: algs})
	}
	return dc
}

func registerLimits(cfg Config) server.RegisterLimits {
	return server.RegisterLimits{PerIPPerMinute: cfg.DCR.RateLimitPerIP, GlobalPerSecond: cfg.DCR.RateLimitGlobal, MaxBody: cfg.DCR.MaxBodyBytes}
}
