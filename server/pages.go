package server

import (
	"bytes"
	"embed"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
)

//go:embed templates/*.html static/*
var assets embed.FS

// staticPath serves the embedded stylesheet (under the issuer path).
const staticPath = "/static/"

// pages holds one parsed template per page, each with the shared layout.
type pages struct {
	byName map[string]*template.Template
}

// page is what every template receives.
type page struct {
	Title     string
	Static    string // URL prefix of static assets
	RequestID string
	Body      any // the page's own data
}

func loadPages() (*pages, error) {
	names, err := fs.Glob(assets, "templates/*.html")
	if err != nil {
		return nil, err
	}
	p := &pages{byName: map[string]*template.Template{}}
	for _, name := range names {
		base := path.Base(name)
		if base == "layout.html" {
			continue
		}
		t, err := template.New("layout.html").ParseFS(assets, "templates/layout.html", name)
		if err != nil {
			return nil, err
		}
		p.byName[strings.TrimSuffix(base, ".html")] = t
	}
	return p, nil
}

// render writes an HTML page. It renders into a buffer first, so a template
// error becomes a clean server_error instead of half a page.
func (s *Server) render(c echo.Context, status int, name, title string, body any) error {
	t := s.pages.byName[name]
	var buf bytes.Buffer
	data := page{Title: title, Static: s.base + staticPath, RequestID: requestID(c), Body: body}
	if err := t.Execute(&buf, data); err != nil {
		return err
	}
	return c.HTMLBlob(status, buf.Bytes())
}

func requestID(c echo.Context) string {
	id, _ := c.Get(ctxRequestID).(string)
	return id
}

// renderErrorPage shows an error to a person. It sets the page security
// headers itself because errors can come from outside the page group.
func (s *Server) renderErrorPage(c echo.Context, pe *pageError) {
	h := c.Response().Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	if pe.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(pe.RetryAfter))
	}
	if err := s.render(c, pe.Status, "error", pe.Title, pe); err != nil {
		requestLogger(c, s.log).Error("render error page", "err", err)
		_ = c.String(http.StatusInternalServerError, "Something went wrong.")
	}
}

// handleStatic serves the embedded stylesheet.
func (s *Server) handleStatic(c echo.Context) error {
	name := strings.TrimPrefix(c.Request().URL.Path, s.base+staticPath)
	data, err := assets.ReadFile("static/" + name)
	if err != nil || strings.Contains(name, "/") {
		return echo.ErrNotFound
	}
	h := c.Response().Header()
	h.Set("Cache-Control", "public, max-age=86400")
	h.Set("X-Content-Type-Options", "nosniff")
	ctype := "application/octet-stream"
	if strings.HasSuffix(name, ".css") {
		ctype = "text/css; charset=utf-8"
	}
	return c.Blob(http.StatusOK, ctype, data)
}
