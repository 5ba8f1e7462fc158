package resource_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-dev/gatehouse/resource"
)

// An MCP server protects its endpoint and publishes its metadata in a few
// lines. In a real server, serve mux with http.ListenAndServe.
func Example() {
	v, err := resource.New(resource.Config{
		Resource:        "https://mcp.example.com/mcp", // the MCP endpoint, as clients name it
		Issuer:          "https://auth.example.com",    // Gatehouse's issuer
		ScopesSupported: []string{"mcp:tools"},
	})
	if err != nil {
		log.Fatal(err)
	}
	mcpHandler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := resource.ClaimsFrom(r.Context())
		fmt.Fprintf(w, "hello %s, using %s\n", claims.Subject, claims.ClientID)
	})

	mux := http.NewServeMux()
	v.MountMetadata(mux) // both well-known paths
	mux.Handle("/mcp", v.Middleware("mcp:tools")(mcpHandler))

	// What an MCP client meets before it has a token...
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "https://mcp.example.com/mcp", nil))
	fmt.Println(rec.Code, rec.Header().Get("WWW-Authenticate"))

	// ... and the metadata that sends it to Gatehouse.
	rec = httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, v.MetadataURL(), nil))
	fmt.Println(rec.Code, rec.Body)
	// Output:
	// 401 Bearer scope="mcp:tools", resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp"
	// 200 {"resource":"https://mcp.example.com/mcp","authorization_servers":["https://auth.example.com"],"scopes_supported":["mcp:tools"],"bearer_methods_supported":["header"]}
}

// The same with echo v4.
func ExampleVerifier_EchoMiddleware() {
	v, err := resource.New(resource.Config{Resource: "https://mcp.example.com/mcp", Issuer: "https://auth.example.com"})
	if err != nil {
		log.Fatal(err)
	}
	e := echo.New()
	v.MountMetadataEcho(e)
	e.POST("/mcp", func(c echo.Context) error {
		claims, _ := resource.ClaimsFrom(c.Request().Context())
		return c.String(http.StatusOK, "hello "+claims.Subject)
	}, v.EchoMiddleware("mcp:tools"))

	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "https://mcp.example.com/mcp", nil)
	req.Header.Set("Authorization", "Bearer not-a-jwt")
	e.ServeHTTP(rec, req)
	fmt.Println(rec.Code, rec.Header().Get("WWW-Authenticate"))
	// Output:
	// 401 Bearer error="invalid_token", error_description="the access token is not a compact JWS", scope="mcp:tools", resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp"
}

// Handlers read the verified claims from the request context; tests of a
// handler can put claims there without a token.
func ExampleClaimsFrom() {
	handler := func(ctx context.Context) string {
		claims, ok := resource.ClaimsFrom(ctx)
		if !ok || !claims.HasScope("mcp:admin") {
			return "admin tools hidden"
		}
		return "admin tools for " + claims.Subject
	}
	ctx := resource.ContextWithClaims(context.Background(), &resource.Claims{Subject: "usr_alice", Scopes: []string{"mcp:tools", "mcp:admin"}})
	fmt.Println(handler(ctx))
	fmt.Println(handler(context.Background()))
	// Output:
	// admin tools for usr_alice
	// admin tools hidden
}
