package server

import (
	"net/http"
	"net/http/pprof"

	"github.com/labstack/echo/v4"
)

// profilingRoutes serves Go's runtime profiles (CPU, heap, goroutines,
// mutex and block contention, execution traces) at /debug/pprof/ on the
// admin listener, behind the admin token like every other admin path. Off
// unless admin.pprof is set: a CPU profile or trace costs the server a
// little while it runs, and a goroutine dump shows request internals.
//
//	go tool pprof -http :0 'http://127.0.0.1:9090/debug/pprof/profile?seconds=10'
//
// (with the token in the Authorization header, e.g. through a local proxy
// or curl -H 'Authorization: Bearer ...' -o cpu.prof).
func profilingRoutes(e *echo.Echo) {
	g := e.Group("/debug/pprof")
	g.GET("/cmdline", echo.WrapHandler(http.HandlerFunc(pprof.Cmdline)))
	g.GET("/profile", echo.WrapHandler(http.HandlerFunc(pprof.Profile)))
	g.GET("/symbol", echo.WrapHandler(http.HandlerFunc(pprof.Symbol)))
	g.POST("/symbol", echo.WrapHandler(http.HandlerFunc(pprof.Symbol)))
	g.GET("/trace", echo.WrapHandler(http.HandlerFunc(pprof.Trace)))
	// Index lists the profiles and serves each named one (heap,
	// goroutine, allocs, block, mutex, threadcreate) from the path.
	g.GET("/*", echo.WrapHandler(http.HandlerFunc(pprof.Index)))
}
