package server

import (
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-dev/gatehouse/oauth"
)

const (
	ctxRequestID = "gatehouse.request_id"
	ctxLogger    = "gatehouse.logger"
	// ctxHTML marks a route whose errors are shown as pages, not JSON.
	ctxHTML = "gatehouse.html"
)

// ipExtractor believes X-Forwarded-For only from the configured proxies.
// echo trusts loopback, link-local and private peers by default, so those
// defaults are switched off explicitly (GHSA-246p-cpwv-v3jq).
func ipExtractor(trusted []netip.Prefix) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, p := range trusted {
		ipnet := prefixToIPNet(p)
		opts = append(opts, echo.TrustIPRange(ipnet))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// newRequestID returns 80 random bits in lower-case base32: short enough to
// read in a log, unique enough to find one request among billions.
func newRequestID() string {
	var b [10]byte
	_, _ = rand.Read(b[:])
	return strings.ToLower(base32.StdEncoding.EncodeToString(b[:]))
}

// requestContext gives every request an ID (echoed in X-Request-Id) and a
// logger that carries it.
func (s *Server) requestContext(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := newRequestID()
		c.Set(ctxRequestID, id)
		c.Set(ctxLogger, s.log.With("request_id", id))
		c.Response().Header().Set(echo.HeaderXRequestID, id)
		return next(c)
	}
}

// requestLogger is the request's logger, or fallback outside a request.
func requestLogger(c echo.Context, fallback *slog.Logger) *slog.Logger {
	if l, ok := c.Get(ctxLogger).(*slog.Logger); ok {
		return l
	}
	return fallback
}

// recoverPanics turns a panic into a server_error; the stack goes to the
// log only.
func (s *Server) recoverPanics(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if r := recover(); r != nil {
				if r == http.ErrAbortHandler {
					panic(r)
				}
				buf := make([]byte, 8<<10)
				buf = buf[:runtime.Stack(buf, false)]
				requestLogger(c, s.log).Error("panic", "panic", fmt.Sprint(r), "stack", string(buf))
				err = oauth.ServerError(fmt.Errorf("panic: %v", r))
			}
		}()
		return next(c)
	}
}

// accessLog writes one line per request. It logs the path, never the query
// string, so state values and the like stay out of logs.
func (s *Server) accessLog(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err) // render now, so the status below is the real one
		}
		req := c.Request()
		latency := time.Since(start)
		s.metrics.request(c.Path(), req.Method, c.Response().Status, latency)
		requestLogger(c, s.log).LogAttrs(req.Context(), slog.LevelInfo, "http",
			slog.String("method", req.Method),
			slog.String("path", req.URL.Path),
			slog.String("route", c.Path()),
			slog.Int("status", c.Response().Status),
			slog.Int64("bytes", c.Response().Size),
			slog.Duration("latency", latency),
			slog.String("ip", c.RealIP()),
		)
		return nil
	}
}

// limitBody caps request bodies at the configured size; a larger body ends
// as 413 invalid_request when a handler reads it.
func (s *Server) limitBody(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		if req.ContentLength > s.cfg.BodyLimit {
			return oauth.New(oauth.ErrCodeInvalidRequest, http.StatusRequestEntityTooLarge, "request body too large")
		}
		req.Body = http.MaxBytesReader(c.Response(), req.Body, s.cfg.BodyLimit)
		return next(c)
	}
}

// strictTransportSecurity tells browsers to use only https for this host
// for maxAge (RFC 6797 §6.1). Set on every response, errors included:
// a browser records it from whichever response it sees first.
func strictTransportSecurity(maxAge time.Duration) echo.MiddlewareFunc {
	value := "max-age=" + strconv.FormatInt(int64(maxAge/time.Second), 10)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			c.Response().Header().Set("Strict-Transport-Security", value)
			return next(c)
		}
	}
}

// corsPublic allows any origin to read public, credential-free documents
// (metadata, JWKS): browser-based MCP clients such as Inspector fetch them.
func corsPublic(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Access-Control-Allow-Origin", "*")
		if c.Request().Method == http.MethodOptions {
			h.Set("Access-Control-Allow-Methods", "GET, OPTIONS")
			h.Set("Access-Control-Allow-Headers", "Content-Type, MCP-Protocol-Version")
			h.Set("Access-Control-Max-Age", "86400")
			return c.NoContent(http.StatusNoContent)
		}
		return next(c)
	}
}

// corsAPI lets browser-based clients (MCP Inspector, web agents) call the
// token, revocation and introspection endpoints from any origin. They
// authenticate with parameters or the Authorization header, never with
// cookies, so no credentials mode is granted.
func corsAPI(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Access-Control-Allow-Origin", "*")
		h.Set("Access-Control-Expose-Headers", "WWW-Authenticate, Retry-After")
		return next(c)
	}
}

// preflight answers CORS preflight requests for the API endpoints.
func preflight(c echo.Context) error {
	h := c.Response().Header()
	h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, MCP-Protocol-Version, DPoP")
	h.Set("Access-Control-Max-Age", "86400")
	return c.NoContent(http.StatusNoContent)
}

// pageHeaders protects HTML pages: nothing may frame them (clickjacking),
// no script or inline style runs, nothing is cached, no referrer leaks.
// form-action is deliberately absent: browsers apply it to the redirect
// chain after a form post, which ends at the client's redirect URI.
func (s *Server) pageHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Set(ctxHTML, true)
		h := c.Response().Header()
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		return next(c)
	}
}

// crossOriginProtection refuses cross-site form posts using the browser's
// Sec-Fetch-Site and Origin headers (Go's http.CrossOriginProtection); the
// CSRF token is the second, independent layer.
func (s *Server) crossOriginProtection(next echo.HandlerFunc) echo.HandlerFunc {
	cop := http.NewCrossOriginProtection()
	return func(c echo.Context) error {
		if err := cop.Check(c.Request()); err != nil {
			return &pageError{Status: http.StatusForbidden, Title: "Request refused",
				Detail: "This form was submitted from another site.", cause: err}
		}
		return next(c)
	}
}
