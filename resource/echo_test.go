package resource_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-dev/gatehouse/resource"
)

// The echo adapter answers like the net/http middleware, whatever the
// application's error handler does, and mounts the metadata.
func TestEcho(t *testing.T) {
	g := startGatehouse(t)
	v := newVerifier(t, g, newClock())
	e := echo.New()
	e.HTTPErrorHandler = func(err error, c echo.Context) { c.String(http.StatusTeapot, "app error handler") }
	v.MountMetadataEcho(e)
	e.POST("/mcp", func(c echo.Context) error {
		claims, ok := resource.ClaimsFrom(c.Request().Context())
		if !ok {
			return c.String(http.StatusInternalServerError, "no claims")
		}
		return c.JSON(http.StatusOK, map[string]any{"sub": claims.Subject, "client_id": claims.ClientID, "scopes": claims.Scopes})
	}, v.EchoMiddleware("tools:call"))
	srv := httptest.NewServer(e)
	defer srv.Close()

	r := call(t, srv.URL+"/mcp", "Bearer "+g.token(t, testResource, "tools:call"))
	if r.status != 200 || r.body["sub"] != svcClient {
		t.Fatalf("valid token: %d %v", r.status, r.body)
	}
	r = call(t, srv.URL+"/mcp")
	if r.status != 401 || r.challenge != `Bearer scope="tools:call", resource_metadata="`+testMetadataURL+`"` {
		t.Fatalf("no token: %d %q", r.status, r.challenge)
	}
	r = call(t, srv.URL+"/mcp", "Bearer "+g.token(t, testResource, "admin"))
	if r.status != 403 || r.params["error"] != "insufficient_scope" || r.params["scope"] != "tools:call" {
		t.Fatalf("insufficient scope: %d %q", r.status, r.challenge)
	}
	for _, p := range v.MetadataPaths() {
		resp, body := get(t, http.MethodGet, srv.URL+p)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" || len(body) == 0 {
			t.Errorf("GET %s: %d %v", p, resp.StatusCode, resp.Header)
		}
		if resp, _ := get(t, http.MethodOptions, srv.URL+p); resp.StatusCode != 204 {
			t.Errorf("OPTIONS %s: %d", p, resp.StatusCode)
		}
	}
}
