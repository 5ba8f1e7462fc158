package server

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

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

// defaultLogoWait bounds how long a consent page waits for a logo that is
// not cached yet (Deps.LogoWait). The fetch goes on without the page (one
// per URL, backed off after failures), and the next page shows the logo
// once it is cached.
const defaultLogoWait = 1500 * time.Millisecond

// consentLogoURL is logoURL for a page about to be shown: "" unless the
// logo is cached or arrives within Deps.LogoWait as a usable image, so the page
// never shows a broken image for a logo that was refused (not https, not
// a raster image, too large, a refused address) or is unreachable.
func (s *Server) consentLogoURL(c echo.Context, client *oauth.Client) string {
	u := s.logoURL(client)
	if u == "" {
		return ""
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), s.logoWait)
	defer cancel()
	if _, _, err := s.logos.Logo(ctx, client); err != nil {
		requestLogger(c, s.log).Info("consent page without the client's logo", "client_id", client.ID,
			"logo_uri", truncate(client.Metadata.LogoURI, 300), "err", err)
		return ""
	}
	return u
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
	client, err := s.policy().clients.ResolveClient(ctx, id)
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
