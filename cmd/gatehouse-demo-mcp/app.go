package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/gatehouse-dev/gatehouse/resource"
)

// shutdownGrace is how long in-flight MCP requests get to finish after
// SIGINT/SIGTERM. Event streams (GET) end at once: they never finish.
const shutdownGrace = 10 * time.Second

// app is the configured server.
type app struct {
	cfg      config
	log      *slog.Logger
	verifier *resource.Verifier
	handler  http.Handler
	// streams ends the long-lived event streams when shutdown begins.
	streams       context.Context
	cancelStreams context.CancelFunc
}

func newApp(cfg config, logger *slog.Logger) (*app, error) {
	v, err := resource.New(verifierConfig(cfg, logger))
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(cfg.Resource)
	if err != nil {
		return nil, err
	}
	a := &app{cfg: cfg, log: logger, verifier: v}
	a.streams, a.cancelStreams = context.WithCancel(context.Background())

	mcpServer := mcp.NewServer(&mcp.Implementation{Name: "gatehouse-demo-mcp", Version: "1.0.0"}, &mcp.ServerOptions{Logger: logger})
	addTools(mcpServer, cfg.WriteScope)
	streamable := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return mcpServer },
		&mcp.StreamableHTTPOptions{Logger: logger})

	// The endpoint: CORS for browser-based clients, then the resource
	// middleware (every request needs a token for this resource with the
	// scopes, and a call of write_note its extra scope: the step-up
	// challenge), then the SDK's session binding, then MCP.
	endpoint := cors(v.ToolMiddleware(cfg.toolScopes(), cfg.Scopes...)(bindSessions(a.endStreams(streamable))))
	path := u.EscapedPath()
	switch path {
	case "", "/":
		path = "/{$}"
	}
	mux := http.NewServeMux()
	v.MountMetadata(mux)
	mux.Handle(path, endpoint)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	a.handler = logRequests(logger, mux)
	return a, nil
}

// serve runs the HTTP server on ln until ctx ends, then shuts down
// gracefully: no new connections, event streams closed, in-flight requests
// given shutdownGrace to finish.
func (a *app) serve(ctx context.Context, ln net.Listener) error {
	// Fetch Gatehouse's keys now so that a misconfigured issuer shows at
	// start-up; the server still starts (Gatehouse may come up later).
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	if err := a.verifier.Refresh(rctx); err != nil {
		a.log.Warn("cannot fetch Gatehouse's signing keys yet; will retry on the first request", "issuer", a.cfg.Issuer, "err", err)
	}
	cancel()

	srv := &http.Server{
		Handler:           a.handler,
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       2 * time.Minute,
		// No ReadTimeout or WriteTimeout: MCP event streams are long-lived.
		ErrorLog: slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	srv.RegisterOnShutdown(a.cancelStreams)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	a.log.Info("serving MCP", "endpoint", a.cfg.Resource, "listen", ln.Addr().String(), "issuer", a.cfg.Issuer,
		"metadata", a.verifier.MetadataURL(), "required_scopes", a.cfg.Scopes, "write_scope", a.cfg.WriteScope)

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	a.log.Info("shutting down", "grace", shutdownGrace)
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	err := srv.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		a.log.Warn("requests still running after the grace period; closing connections")
		err = srv.Close()
	}
	if serveErr := <-errc; !errors.Is(serveErr, http.ErrServerClosed) {
		return serveErr
	}
	a.log.Info("stopped")
	return err
}

// endStreams ties GET requests (the standalone event stream of the
// streamable HTTP transport) to a.streams, so that shutdown ends them
// instead of waiting for them.
func (a *app) endStreams(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			ctx, cancel := context.WithCancel(r.Context())
			defer cancel()
			stop := context.AfterFunc(a.streams, cancel)
			defer stop()
			r = r.WithContext(ctx)
		}
		next.ServeHTTP(w, r)
	})
}

// cors lets browser-based MCP clients call the endpoint: preflights are
// answered before authentication (they never carry a token), and the
// headers a client must read are exposed. Any origin is fine because
// authentication is by bearer token, never by cookie.
func cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", "*")
		h.Set("Access-Control-Expose-Headers", "Mcp-Session-Id, WWW-Authenticate")
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			h.Set("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Accept, Mcp-Session-Id, Mcp-Protocol-Version, Last-Event-Id")
			h.Set("Access-Control-Max-Age", "86400")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}
