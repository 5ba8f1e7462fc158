package server

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-dev/gatehouse/oauth"
)

const logoPath = "/client-logo"

// LogoSource fetches a client's logo_uri through the SSRF-safe fetcher and
// caches it (raster images only, size-capped).
type LogoSource interface {
	Logo(ctx context.Context, c *oauth.Client) (contentType string, data []byte, err error)
}

// logoURL is where the consent page loads a client's logo from: Gatehouse's
// own origin, never the client's (CIMD -02 §8.8), so the user's browser
// makes no request to a host the client chose.
func (s *Server) logoURL(c *oauth.Client) string {
	if s.logos == nil || c.Metadata.LogoURI == "" {
		return ""
	}
	return s.base + logoPath + "?" + url.Values{"client_id": {c.ID}}.Encode()
}

// handleLogo serves a client's logo from Gatehouse's origin. The image is
// sniffed as a raster type when fetched; nosniff and a sandboxing CSP keep
// a browser from treating it as anything else.
func (s *Server) handleLogo(c echo.Context) error {
	id := c.QueryParam("client_id")
	if s.logos == nil || id == "" {
		return echo.ErrNotFound
	}
	ctx := c.Request().Context()
	client, err := s.clients.ResolveClient(ctx, id)
	if err != nil {
		var oe *oauth.Error
		if errors.As(err, &oe) {
			return echo.ErrNotFound
		}
		return err
	}
	ctype, data, err := s.logos.Logo(ctx, client)
	if err != nil {
		requestLogger(c, s.log).Debug("logo unavailable", "client_id", id, "err", err)
		return echo.ErrNotFound
	}
	h := c.Response().Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Cache-Control", "public, max-age=3600")
	return c.Blob(http.StatusOK, ctype, data)
}
