package main

import (
	"context"
	"log/slog"
	"net"
	"time"

	"github.com/gatehouse-dev/gatehouse/cimd"
	"github.com/gatehouse-dev/gatehouse/server"
)

// startAdmin opens the admin listener and serves the admin API (and
// /metrics) until ctx ends; done receives its result.
func startAdmin(ctx context.Context, cfg Config, srv *server.Server, rl *reloader, metadata *cimd.Resolver,
	started time.Time, log *slog.Logger, done chan<- error) error {
	token, err := cfg.Admin.token()
	if err != nil {
		return err
	}
	admin, err := srv.NewAdmin(server.AdminOptions{
		Token: token, CIMD: metadata, Version: version, Started: started, Profiling: cfg.Admin.Pprof,
		Reload: func(context.Context) (any, bool) {
			res := rl.reload("admin API")
			return res, res.Applied
		},
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", adminBindAddr(cfg.Admin.Listen))
	if err != nil {
		return err
	}
	if !adminIsLoopback(adminBindAddr(cfg.Admin.Listen)) {
		log.Warn("the admin API listens beyond loopback: keep it on a private network", "admin_listen", cfg.Admin.Listen)
	}
	go func() { done <- admin.Serve(ctx, ln, cfg.Server.ShutdownTimeout) }()
	return nil
}

// adminBindAddr keeps the admin API on loopback unless the operator names
// another address: ":9090" means 127.0.0.1:9090, not every interface.
// An explicit 0.0.0.0 or [::] still binds everywhere (with a warning).
func adminBindAddr(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil || host != "" {
		return listen
	}
	return net.JoinHostPort("127.0.0.1", port)
}
