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
	ln, err := net.Listen("tcp", cfg.Admin.Listen)
	if err != nil {
		return err
	}
	if !adminIsLoopback(cfg.Admin.Listen) {
		log.Warn("the admin API listens beyond loopback: keep it on a private network", "admin_listen", cfg.Admin.Listen)
	}
	go func() { done <- admin.Serve(ctx, ln, cfg.Server.ShutdownTimeout) }()
	return nil
}
