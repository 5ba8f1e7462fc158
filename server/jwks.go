package server

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// jwksPath is where the public keys are published (advertised as jwks_uri).
const jwksPath = "/jwks.json"

// handleJWKS serves the public signing keys (RFC 7517 §5). Resource servers
// cache it; five minutes keeps a rotation visible quickly, and they refetch
// on an unknown kid anyway.
func (s *Server) handleJWKS(c echo.Context) error {
	st := s.keys.state.Load()
	h := c.Response().Header()
	h.Set("Cache-Control", "public, max-age=300")
	h.Set("ETag", st.etag)
	if c.Request().Header.Get("If-None-Match") == st.etag {
		return c.NoContent(http.StatusNotModified)
	}
	// application/json rather than application/jwk-set+json: some JWKS
	// consumers accept only the former, none refuse it.
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, st.jwksJSON)
}
