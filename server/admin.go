package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gatehouse-dev/gatehouse/cimd"
	"github.com/gatehouse-dev/gatehouse/oauth"
)

// AdminOptions configure the admin API.
type AdminOptions struct {
	// Token is the bearer token every admin request must carry.
	Token string
	// Reload re-reads the configuration and swaps the policy; it returns
	// a JSON-encodable result and whether it was applied.
	Reload func(ctx context.Context) (result any, applied bool)
	// CIMD is the metadata resolver whose cache the API manages.
	CIMD *cimd.Resolver
	// Version and Started describe the process for /status.
	Version string
	Started time.Time
	// Profiling serves Go's runtime profiles at /debug/pprof/ (admin.pprof).
	Profiling bool
}

// Admin is the operator API: its own listener (admin.listen), never the
// public one, every path behind the bearer token, including /metrics
// (Prometheus sends it with authorization.credentials_file).
type Admin struct {
	s         *Server
	opts      AdminOptions
	tokenHash [32]byte
	echo      *echo.Echo
}

// minAdminToken bounds the admin token: it guards every operator action.
const minAdminToken = 32

// NewAdmin builds the admin API for s.
func (s *Server) NewAdmin(opts AdminOptions) (*Admin, error) {
	if len(opts.Token) < minAdminToken {
		return nil, errors.New("admin: the token must be at least 32 characters")
	}
	a := &Admin{s: s, opts: opts, tokenHash: sha256.Sum256([]byte(opts.Token))}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.handleError
	e.IPExtractor = echo.ExtractIPDirect()
	e.Use(s.requestContext, s.recoverPanics, s.limitBody, a.authenticate)
	e.GET("/status", a.handleStatus)
	e.POST("/reload", a.handleReload)
	if s.metrics != nil {
		e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(s.metrics.Registry, promhttp.HandlerOpts{})))
	}
	a.cacheRoutes(e)
	a.clientRoutes(e)
	a.approvalRoutes(e)
	a.userRoutes(e)
	a.identityRoutes(e)
	a.grantRoutes(e)
	a.keyRoutes(e)
	if opts.Profiling {
		profilingRoutes(e)
	}
	a.echo = e
	return a, nil
}

// Handler is the admin API's HTTP handler.
func (a *Admin) Handler() http.Handler { return a.echo }

// Serve answers admin requests on ln until ctx ends.
func (a *Admin) Serve(ctx context.Context, ln net.Listener, shutdownTimeout time.Duration) error {
	srv := &http.Server{Handler: a.echo, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 32 << 10}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	a.s.log.Info("admin API listening", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	return srv.Shutdown(sctx)
}

// authenticate requires Authorization: Bearer <admin token>, compared in
// constant time.
func (a *Admin) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		scheme, token, _ := strings.Cut(c.Request().Header.Get(echo.HeaderAuthorization), " ")
		sum := sha256.Sum256([]byte(strings.TrimSpace(token)))
		if !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare(sum[:], a.tokenHash[:]) != 1 {
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="gatehouse-admin"`)
			requestLogger(c, a.s.log).Warn("admin request refused: bad or missing token", "ip", c.RealIP(), "path", c.Request().URL.Path)
			return oauth.InvalidToken("the admin API needs Authorization: Bearer <admin token>")
		}
		return next(c)
	}
}

// action records an admin change in the audit log.
func (a *Admin) action(c echo.Context, action string, attrs ...any) {
	Audit(c.Request().Context(), requestLogger(c, a.s.log), AuditAdminAction, append([]any{"action", action, "ip", c.RealIP()}, attrs...)...)
}

// status is the /status document.
type status struct {
	Version       string    `json:"version"`
	StartedAt     time.Time `json:"started_at"`
	UptimeSeconds int64     `json:"uptime_seconds"`
	Issuer        string    `json:"issuer"`
	SigningKey    string    `json:"signing_key"`
	Store         string    `json:"store,omitempty"`
	Users         int       `json:"users"`
	Clients       struct {
		Static int `json:"static"`
		DCR    int `json:"dcr"`
	} `json:"clients"`
	CIMD struct {
		Enabled         bool    `json:"enabled"`
		CachedDocuments int     `json:"cached_documents"`
		HitRatio        float64 `json:"hit_ratio"`
	} `json:"cimd"`
	Registration struct {
		Mode          string `json:"mode,omitempty"`
		Registrations int64  `json:"registrations"`
		Deduplicated  int64  `json:"deduplicated"`
		FirstTokens   int64  `json:"first_tokens"`
	} `json:"registration"`
}

func (a *Admin) handleStatus(c echo.Context) error {
	ctx := c.Request().Context()
	st := status{Version: a.opts.Version, StartedAt: a.opts.Started, UptimeSeconds: int64(a.s.now().Sub(a.opts.Started).Seconds()),
		Issuer: a.s.cfg.Issuer, SigningKey: a.s.keys.ActiveKeyID(), Store: a.s.storeBackend()}
	users, err := a.s.store.ListUsers(ctx)
	if err != nil {
		return err
	}
	st.Users = len(users)
	regs, err := a.s.store.ListClients(ctx, false)
	if err != nil {
		return err
	}
	st.Clients.DCR, st.Clients.Static = len(regs), len(a.staticClients())
	st.CIMD.Enabled = a.s.policy().cimd
	if a.opts.CIMD != nil {
		st.CIMD.CachedDocuments = len(a.opts.CIMD.Entries())
		st.CIMD.HitRatio = a.opts.CIMD.CacheStats().HitRatio()
	}
	if reg := a.s.registration; reg != nil {
		st.Registration.Mode = string(reg.Config().Mode)
		stats := reg.Stats()
		st.Registration.Registrations, st.Registration.Deduplicated, st.Registration.FirstTokens =
			stats.Registrations.Load(), stats.Deduplicated.Load(), stats.Converted.Load()
	}
	return c.JSON(http.StatusOK, st)
}

func (a *Admin) handleReload(c echo.Context) error {
	if a.opts.Reload == nil {
		return oauth.New(oauth.ErrCodeNotFound, http.StatusNotFound, "reload is not available")
	}
	res, applied := a.opts.Reload(c.Request().Context())
	a.action(c, "reload", "applied", applied)
	if !applied {
		return c.JSON(http.StatusUnprocessableEntity, res)
	}
	return c.JSON(http.StatusOK, res)
}

// staticClients are the operator-configured clients in force.
func (a *Admin) staticClients() []*oauth.Client {
	if ch, ok := a.s.policy().clients.(*ClientChain); ok {
		return ch.Static.List()
	}
	return nil
}
