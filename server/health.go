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

// handleReadyz is the readiness probe: the store (the embedded file, or
// the PostgreSQL database every instance shares) answers within two
// seconds and the server is not draining for shutdown. A load balancer
// stops sending traffic on 503; the body names the backend.
func (s *Server) handleReadyz(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	report := map[string]string{}
	if b, ok := s.store.(backendNamer); ok {
		report["store"] = b.Backend()
	}
	if s.draining.Load() {
		report["status"] = "shutting down"
		return c.JSON(http.StatusServiceUnavailable, report)
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		requestLogger(c, s.log).Error("readiness: store unavailable", "store", report["store"], "err", err)
		report["status"] = "store unavailable"
		return c.JSON(http.StatusServiceUnavailable, report)
	}
	report["status"] = "ready"
	return c.JSON(http.StatusOK, report)
}
