package server

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// sweepInterval is how often expired records and idle throttle buckets are
// cleared.
const sweepInterval = time.Minute

// Serve answers requests on ln until ctx ends, then shuts down gracefully:
// /readyz turns 503, the listener closes, and in-flight requests get up to
// shutdownTimeout to finish. With tlsConfig it serves HTTPS. The caller
// closes the store after Serve returns.
func (s *Server) Serve(ctx context.Context, ln net.Listener, tlsConfig *tls.Config, shutdownTimeout time.Duration) error {
	srv := &http.Server{
		Handler:           s.echo,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    32 << 10,
		TLSConfig:         tlsConfig,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	sweepCtx, stopSweeper := context.WithCancel(context.WithoutCancel(ctx))
	sweeperDone := make(chan struct{})
	go func() {
		defer close(sweeperDone)
		s.runSweeper(sweepCtx, sweepInterval)
	}()
	defer func() { stopSweeper(); <-sweeperDone }()
	keysDone := make(chan struct{})
	go func() {
		defer close(keysDone)
		s.runKeyRefresher(sweepCtx)
	}()
	defer func() { stopSweeper(); <-keysDone }()

	errc := make(chan error, 1)
	go func() {
		if tlsConfig != nil {
			errc <- srv.ServeTLS(ln, "", "")
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	s.log.Info("listening", "addr", ln.Addr().String(), "issuer", s.cfg.Issuer, "tls", tlsConfig != nil)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.draining.Store(true)
	s.log.Info("shutting down: finishing in-flight requests", "timeout", shutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
		return err
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// runSweeper deletes expired records and forgets refilled throttle buckets
// every interval until ctx ends.
func (s *Server) runSweeper(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.sweep(ctx)
		}
	}
}

func (s *Server) sweep(ctx context.Context) {
	now := s.now()
	res, err := s.store.Sweep(ctx, now)
	if err != nil && ctx.Err() == nil {
		s.log.Error("sweep failed", "err", err)
	} else if res.Skipped {
		s.log.Debug("sweep skipped: another instance is sweeping")
	} else if res.Removed > 0 {
		s.log.Debug("swept expired records", "count", res.Removed)
	}
	if res.Removed > 0 {
		// A retired signing key may have left its publish window.
		if err := s.reloadKeys(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("reload signing keys after sweep", "err", err)
		}
	}
	for _, id := range res.ExpiredClients {
		Audit(ctx, s.log, AuditClientExpired, "client_id", id, "reason", "unused or idle past its dcr ttl")
	}
	s.limiter.cleanup(now)
	if s.memFailures != nil {
		s.memFailures.cleanup(now, s.cfg.Login.leak())
	}
	s.regLimiter.cleanup(now)
	s.pendingLimiter.cleanup(now)
}
