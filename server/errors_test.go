package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

// leaks are strings that would reveal internals (dex's
// server_errors_test.go checks the same).
var leaks = []string{".go:", "panic", "goroutine", "runtime.", "bbolt", "bolt", "store:", "database", "EOF", "/home/", "/root/", "/tmp/"}

func assertNoLeak(t *testing.T, body string) {
	t.Helper()
	for _, l := range leaks {
		if strings.Contains(body, l) {
			t.Fatalf("response body leaks %q:\n%s", l, body)
		}
	}
}

func TestErrorsAreOAuthJSONWithoutInternals(t *testing.T) {
	env := newTestEnv(t)
	tests := []struct {
		name      string
		method    string
		path      string
		ctype     string
		body      string
		wantCode  int
		wantError string
	}{
		{"unknown path", "GET", "/nope", "", "", 404, "not_found"},
		{"wrong method", "DELETE", "/jwks.json", "", "", 405, "method_not_allowed"},
		{"body over the limit", "POST", "/login", "application/x-www-form-urlencoded", strings.Repeat("a=b&", 20000), 413, "invalid_request"},
		{"path traversal in static", "GET", "/static/..%2f..%2fetc%2fpasswd", "", "", 404, "not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, env.http.URL+tt.path, strings.NewReader(tt.body))
			if tt.ctype != "" {
				req.Header.Set("Content-Type", tt.ctype)
			}
			resp, body := env.do(req)
			if resp.StatusCode != tt.wantCode {
				t.Fatalf("status = %d, want %d: %s", resp.StatusCode, tt.wantCode, body)
			}
			assertNoLeak(t, body)
			if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
				var e map[string]string
				if err := json.Unmarshal([]byte(body), &e); err != nil || e["error"] != tt.wantError {
					t.Fatalf("body = %s, want error %q", body, tt.wantError)
				}
				if resp.Header.Get("Cache-Control") != "no-store" {
					t.Error("error response is cacheable")
				}
			} else if !strings.Contains(body, "<h1>") {
				t.Fatalf("neither OAuth JSON nor an error page: %s", body)
			}
		})
	}
}

func TestStorageFailureIsServerErrorWithoutDetail(t *testing.T) {
	env := newTestEnv(t)
	env.addUser("alice", "correct horse")
	_, page := env.get(loginPath)
	env.store.Close() // every store call now fails with "database not open"

	resp, body := env.postForm(loginPath, map[string][]string{
		"csrf_token": {csrfFrom(t, page)}, "username": {"alice"}, "password": {"correct horse"},
	})
	if resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("status = %d, want 500", resp.StatusCode)
	}
	assertNoLeak(t, body)
	if !strings.Contains(body, "Something went wrong") || !strings.Contains(body, resp.Header.Get("X-Request-Id")) {
		t.Fatalf("error page should say something went wrong and show the request ID:\n%s", body)
	}
	resp, body = env.get("/readyz")
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("readyz with a closed store = %d, want 503", resp.StatusCode)
	}
	assertNoLeak(t, body)
}

func TestPanicBecomesServerError(t *testing.T) {
	env := newTestEnv(t)
	env.srv.echo.GET("/test-panic", func(echo.Context) error { panic("secret internal state") })
	resp, body := env.get("/test-panic")
	if resp.StatusCode != http.StatusInternalServerError || strings.Contains(body, "secret internal state") {
		t.Fatalf("panic answered %d: %s", resp.StatusCode, body)
	}
	assertNoLeak(t, body)
	var e map[string]string
	if err := json.Unmarshal([]byte(body), &e); err != nil || e["error"] != "server_error" {
		t.Fatalf("body = %s", body)
	}
}

func TestHealthAndReadiness(t *testing.T) {
	env := newTestEnv(t)
	if resp, _ := env.get("/healthz"); resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz = %d", resp.StatusCode)
	}
	if resp, body := env.get("/readyz"); resp.StatusCode != http.StatusOK || !strings.Contains(body, `"status":"ready"`) || !strings.Contains(body, `"store":"ok"`) {
		t.Fatalf("readyz = %d %s", resp.StatusCode, body)
	}
	if resp, _ := env.get("/readyz"); resp.Header.Get("X-Request-Id") == "" {
		t.Fatal("no X-Request-Id header")
	}
	env.srv.draining.Store(true)
	if resp, _ := env.get("/readyz"); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("readyz while draining = %d, want 503", resp.StatusCode)
	}
}
