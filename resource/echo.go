package resource

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// EchoMiddleware is Middleware for echo v4. A refused request is answered
// directly (status, WWW-Authenticate, JSON body) rather than returned as an
// error, so the challenge MCP clients depend on cannot be lost in an
// application's HTTPErrorHandler. ClaimsFrom(c.Request().Context()) gives
// the verified claims.
func (v *Verifier) EchoMiddleware(required ...string) echo.MiddlewareFunc {
	required = checkRequired(required)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			claims, err := v.Authenticate(r, required...)
			if err != nil {
				v.WriteError(c.Response(), r, err, required...)
				return nil
			}
			c.SetRequest(r.WithContext(ContextWithClaims(r.Context(), claims)))
			return next(c)
		}
	}
}

// MountMetadataEcho serves the metadata on e at every MetadataPaths path.
func (v *Verifier) MountMetadataEcho(e *echo.Echo) {
	h := echo.WrapHandler(v.MetadataHandler())
	methods := []string{http.MethodGet, http.MethodHead, http.MethodOptions}
	for _, p := range v.MetadataPaths() {
		e.Match(methods, p, h)
	}
}
