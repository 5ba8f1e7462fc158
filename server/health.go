package server

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// handleHealthz is the liveness probe: the process serves HTTP.
func (s *Server) handleHealthz(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// backendNamer is implemented by stores that say which backend they are
// ("bbolt", "postgres"), for the readiness report.
type backendNamer interface{ Backend() string }

// storeBackend names the store's backend, or "" if it does not say.
func (s *Server) storeBackend() string {
	if b, ok := s.store.(backendNamer); ok {
		return b.Backend()
	}
	return ""
}

// handleReadyz is the readiness probe: the store (the embedded file, or
// the PostgreSQL database every instance shares) answers a query within
// two seconds and the server is not draining for shutdown. A load
// balancer stops sending traffic on 503. The public body says only
// whether the store answered; which backend it is goes to the log and the
// admin API's /status.
func (s *Server) handleReadyz(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	if s.draining.Load() {
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "shutting down"})
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		requestLogger(c, s.log).Error("readiness: store unavailable", "store", s.storeBackend(), "err", err)
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "store unavailable", "store": "unavailable"})
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ready", "store": "ok"})
}
