package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"

	"github.com/gatehouse-dev/gatehouse/dcr"
	"github.com/gatehouse-dev/gatehouse/server"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/store/boltstore"
)

// openStore opens the data directory, turning a held lock into advice.
func openStore(cfg Config) (*boltstore.Store, error) {
	st, err := boltstore.Open(cfg.DataDir, boltstore.Options{})
	if errors.Is(err, store.ErrLocked) {
		return nil, fmt.Errorf("%w\n  The server holds the data directory while it runs. Stop it to run this command, or use another data_dir", err)
	}
	return st, err
}

// clientResolver builds the chain every endpoint resolves clients through:
// static clients, then registered ones (whose registrations stay usable
// even when dcr.mode is closed).
func clientResolver(cfg Config, reg *dcr.Service) (*server.ClientChain, error) {
	clients, _ := buildClients(cfg.Clients) // validated already
	static, err := server.NewStaticClients(clients)
	if err != nil {
		return nil, err
	}
	return &server.ClientChain{Static: static, DCR: reg}, nil
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
	return server.Config{
		Issuer:         cfg.Issuer,
		TrustedProxies: proxies,
		AccessTokenTTL: cfg.Tokens.AccessTokenTTL,
		RefreshIdleTTL: cfg.Tokens.RefreshIdleTTL,
		RefreshMaxTTL:  cfg.Tokens.RefreshMaxTTL,
		Resources:      resources,
		SessionTTL:     cfg.Login.SessionTTL,
		Login: server.LoginLimits{
			MaxFailuresAccount: cfg.Login.MaxFailuresAccount,
			MaxFailuresIP:      cfg.Login.MaxFailuresIP,
			Window:             cfg.Login.FailureWindow,
		},
		BodyLimit: cfg.Server.BodyLimit,
		Register:  registerLimits(cfg),
	}
}
