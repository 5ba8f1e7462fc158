package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"time"

	"github.com/gatehouse-dev/gatehouse/cimd"
	"github.com/gatehouse-dev/gatehouse/dcr"
	"github.com/gatehouse-dev/gatehouse/notify"
	"github.com/gatehouse-dev/gatehouse/policy"
	"github.com/gatehouse-dev/gatehouse/server"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/store/boltstore"
	"github.com/gatehouse-dev/gatehouse/store/pgstore"
)

// openStore opens the configured backend: the data directory (turning a
// held lock into advice) or the PostgreSQL database, migrating it first.
func openStore(cfg Config) (store.Store, error) {
	if cfg.Store.Backend == "postgres" {
		opts, err := pgOptions(cfg)
		if err != nil {
			return nil, err
		}
		return pgstore.Open(context.Background(), opts)
	}
	st, err := boltstore.Open(cfg.DataDir, boltstore.Options{})
	if errors.Is(err, store.ErrLocked) {
		return nil, fmt.Errorf("%w\n  The server holds the data directory while it runs. Stop it to run this command, or use another data_dir", err)
	}
	return st, dataDirError(cfg.DataDir, err)
}

// clientResolver builds the chain every endpoint resolves clients through:
// https client IDs to the CIMD resolver (when enabled), others to static
// clients, then to registered ones (whose registrations stay usable even
// when dcr.mode is closed).
func clientResolver(cfg Config, reg *dcr.Service, metadata *cimd.Resolver) (*server.ClientChain, error) {
	clients, _ := buildClients(cfg.Clients) // validated already
	static, err := server.NewStaticClients(clients)
	if err != nil {
		return nil, err
	}
	chain := &server.ClientChain{Static: static, DCR: reg}
	if cfg.CIMD.Enabled {
		chain.CIMD = metadata
	}
	return chain, nil
}

// metadataResolver builds the CIMD resolver. It exists even when CIMD is
// disabled: its SSRF-safe fetcher also loads jwks_uri key sets and logos
// of static and registered clients.
func metadataResolver(cfg Config, log *slog.Logger, obs cimd.Observer) (*cimd.Resolver, error) {
	cc, err := cfg.CIMD.cimdConfig()
	if err != nil {
		return nil, err
	}
	cc.Profiles, _ = buildProfiles(cfg) // validated already
	if cc.AllowPrivateAddresses {
		log.Warn("DEVELOPMENT SETTING cimd.allow_private_addresses is on: metadata documents may be fetched from loopback and private addresses. Never use this in production.")
	}
	if cfg.CIMD.ExtraCAFile != "" {
		log.Warn("DEVELOPMENT SETTING cimd.extra_ca_file is set: metadata hosts are also trusted when signed by these CAs", "file", cfg.CIMD.ExtraCAFile, "certificates", len(cc.ExtraRootCAs))
	}
	return cimd.NewResolver(cc, cimd.Deps{Logger: log.With("component", "cimd"), Observer: obs,
		OnDocumentChanged: func(id, old, new string) {
			server.Audit(context.Background(), log, server.AuditDocumentChanged, "client_id", id, "old_fingerprint", old, "new_fingerprint", new)
		}})
}

// newLogger builds the process logger from the log settings.
func newLogger(w io.Writer, cfg LogConfig) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Level)) // validated already
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// serverConfig converts validated settings into the server's typed config.
func serverConfig(cfg Config) server.Config {
	var proxies []netip.Prefix
	for _, p := range cfg.TrustedProxies {
		proxies = append(proxies, netip.MustParsePrefix(p)) // validated already
	}
	resources, _ := buildResources(cfg.Resources) // validated already
	var hsts time.Duration
	if cfg.TLS.CertFile != "" {
		hsts = cfg.TLS.HSTSMaxAge
	}
	return server.Config{
		Issuer:          cfg.Issuer,
		HSTSMaxAge:      hsts,
		TrustedProxies:  proxies,
		AccessTokenTTL:  cfg.Tokens.AccessTokenTTL,
		KeyPublishAhead: keyPublishAhead(cfg),
		RefreshIdleTTL:  cfg.Tokens.RefreshIdleTTL,
		RefreshMaxTTL:   cfg.Tokens.RefreshMaxTTL,
		RefreshGrace:    cfg.Tokens.RefreshGracePeriod,
		Resources:       resources,
		SessionTTL:      cfg.Login.SessionTTL,
		Login: server.LoginLimits{
			MaxFailuresAccountIP: cfg.Login.MaxFailuresAccountIP,
			MaxFailuresIP:        cfg.Login.MaxFailuresIP,
			MaxFailuresAccount:   cfg.Login.MaxFailuresAccount,
			Window:               cfg.Login.FailureWindow,
			AccountSlowdown:      cfg.Login.AccountSlowdown,
			TrustedDeviceTTL:     cfg.Login.TrustedDeviceTTL,
		},
		BodyLimit:             cfg.Server.BodyLimit,
		Register:              registerLimits(cfg),
		CIMD:                  cfg.CIMD.Enabled,
		ClientCredentials:     clientCredentialsPolicy(cfg),
		PasswordLoginDisabled: !cfg.Login.Password.Enabled,
		IdentityAssertions:    assertionIssuers(cfg),
		Profiles:              profilesOf(cfg),
	}
}

// profilesOf is the validated client profile set of cfg.
func profilesOf(cfg Config) *policy.Profiles {
	ps, _ := buildProfiles(cfg) // validated already
	return ps
}

// logProfiles says at start and on each reload which clients skip the
// consent page: an operator reading the log must see who acts for users
// without asking them.
func logProfiles(log *slog.Logger, ps *policy.Profiles) {
	for _, p := range ps.List() {
		attrs := []any{"profile", p.Name, "approval", p.Approval, "consent", p.Consent}
		if len(p.Match.Hosts) > 0 {
			attrs = append(attrs, "hosts", p.Match.Hosts)
		}
		if len(p.Match.ClientIDs) > 0 {
			attrs = append(attrs, "client_ids", p.Match.ClientIDs)
		}
		if p.ConsentMode() == policy.ConsentSkip {
			log.Warn("client profile skips the consent page: these clients get codes without asking the user", attrs...)
			continue
		}
		log.Info("client profile", attrs...)
	}
}

// approvalWebhook builds the approvals.webhook_url sender.
func approvalWebhook(cfg Config, log *slog.Logger, metrics *server.Metrics) (*notify.Webhook, error) {
	wc, err := webhookConfig(cfg)
	if err != nil {
		return nil, err
	}
	return notify.NewWebhook(wc, notify.Deps{Logger: log.With("component", "approvals"), Observe: metrics.WebhookOutcome}), nil
}

// webhookConfig reads the approvals settings, the signing secret's file
// included (an error only if it became unreadable since validation).
func webhookConfig(cfg Config) (notify.Config, error) {
	a := cfg.Approvals
	wc := notify.Config{URL: a.WebhookURL, Timeout: a.WebhookTimeout, Retries: a.WebhookRetries}
	if a.WebhookSecretFile != "" {
		secret, err := readWebhookSecret(a.WebhookSecretFile)
		if err != nil {
			return wc, fmt.Errorf("approvals.webhook_secret_file: %w", err)
		}
		wc.Secret = secret
	}
	return wc, nil
}

// clientCredentialsPolicy says which self-registered clients may use the
// client_credentials grant.
func clientCredentialsPolicy(cfg Config) server.ClientCredentialsPolicy {
	return server.ClientCredentialsPolicy{DCR: cfg.DCR.AllowClientCredentials, CIMD: cfg.CIMD.AllowClientCredentials}
}
