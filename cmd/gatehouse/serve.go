package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/server"
)

func newServeCommand(env *cliEnv) *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Run the authorization server",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, _, err := env.loadConfig(cmd)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			load := func() (Config, []Problem) {
				c, _, problems := env.reloadConfig(cmd)
				return c, problems
			}
			return serve(ctx, env, cfg, load)
		},
	}
}

// serve runs the server until ctx ends, then shuts down gracefully and
// closes the store (releasing the data directory's lock). load re-reads
// the configuration for a reload (SIGHUP).
func serve(ctx context.Context, env *cliEnv, cfg Config, load func() (Config, []Problem)) error {
	log := newLogger(env.stderr, cfg.Log)
	ensureProcs(env.environ, log)
	var tlsConfig *tls.Config
	if cfg.TLS.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLS.CertFile, cfg.TLS.KeyFile)
		if err != nil {
			return usageError("tls: %v", err)
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	if strings.HasPrefix(cfg.Issuer, "http://") {
		log.Warn("the issuer is plain http: fine on loopback for development, never in production", "issuer", cfg.Issuer)
	}
	st, err := openStore(cfg)
	if err != nil {
		return err
	}
	defer func() {
		if err := st.Close(); err != nil {
			log.Error("close store", "err", err)
		}
	}()
	metrics := server.NewMetrics()
	metadata, err := metadataResolver(cfg, log, metrics)
	if err != nil {
		return err
	}
	defer metadata.Close()
	reg := registrationService(cfg, st)
	metrics.WatchCIMD(metadata)
	metrics.WatchDCR(reg)
	watchStore(metrics.Registry, st)
	clients, err := clientResolver(cfg, reg, metadata)
	if err != nil {
		return err
	}
	scfg := serverConfig(cfg)
	if scfg.Providers, err = buildProviders(cfg); err != nil {
		return err
	}
	webhook, err := approvalWebhook(cfg, log, metrics)
	if err != nil {
		return err
	}
	defer webhook.Close()
	srv, err := server.New(ctx, scfg, server.Deps{Store: st, Logger: log, Clients: clients,
		Registration: reg, ClientKeys: metadata, Logos: metadata, Metrics: metrics, IssuerKeys: metadata, Approvals: webhook})
	if err != nil {
		return err
	}
	logProfiles(log, profilesOf(cfg))
	rl := &reloader{load: load, running: cfg, srv: srv, reg: reg, metadata: metadata, webhook: webhook, log: log}
	listenForPeers(ctx, st, srv, rl, metadata, log)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for range hup {
			rl.reload("SIGHUP")
		}
	}()
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	if env.onListen != nil {
		env.onListen(ln.Addr())
	}
	log.Info("gatehouse starting", append([]any{"version", version, "signing_key", srv.Keys().ActiveKeyID()}, storeLogAttrs(cfg)...)...)
	start := time.Now()
	adminDone := make(chan error, 1)
	if cfg.Admin.Listen != "" {
		if err := startAdmin(ctx, cfg, srv, rl, metadata, start, log, adminDone); err != nil {
			ln.Close()
			return err
		}
	} else {
		adminDone <- nil
	}
	if err := srv.Serve(ctx, ln, tlsConfig, cfg.Server.ShutdownTimeout); err != nil {
		return err
	}
	if err := <-adminDone; err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("admin API", "err", err)
	}
	log.Info("gatehouse stopped", "uptime", time.Since(start).Round(time.Second))
	return nil
}
