package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/store"
)

// A store that cannot take a write now (store.ErrUnavailable: a full disk,
// an unreachable database) is 503 temporarily_unavailable with Retry-After,
// as JSON on API routes and as a page on browser routes, wherever in the
// error chain it sits, unless a handler already chose a precise 4xx.
func TestStoreUnavailableIs503WithRetryAfter(t *testing.T) {
	env := newTestEnv(t)
	full := fmt.Errorf("%w: write gatehouse.db: %w", store.ErrUnavailable, syscall.ENOSPC)
	tests := []struct {
		name       string
		err        error
		html       bool
		wantStatus int
		wantCode   string // JSON error code; "" for a page
	}{
		{"bare", full, false, 503, "temporarily_unavailable"},
		{"wrapped", fmt.Errorf("create session: %w", full), false, 503, "temporarily_unavailable"},
		{"inside a server_error", oauth.ServerError(full), false, 503, "temporarily_unavailable"},
		{"precise 4xx wins", oauth.InvalidGrant("the code is unknown").WithCause(full), false, 400, "invalid_grant"},
		{"page route", full, true, 503, ""},
		{"page error of a 5xx", &pageError{Status: 500, Title: "x", cause: full}, true, 503, ""},
		{"page error of a 4xx", &pageError{Status: 400, Title: "Invalid request", cause: full}, true, 400, ""},
		{"other failures stay 500", errors.New("disk on fire"), false, 500, "server_error"},
	}
	for i, tt := range tests {
		path := fmt.Sprintf("/test-unavailable-%d", i)
		h := func(echo.Context) error { return tt.err }
		if tt.html {
			env.srv.echo.GET(path, h, env.srv.pageHeaders)
		} else {
			env.srv.echo.GET(path, h)
		}
		t.Run(tt.name, func(t *testing.T) {
			resp, body := env.get(path)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d: %s", resp.StatusCode, tt.wantStatus, body)
			}
			assertNoLeak(t, body)
			if strings.Contains(body, "no space") {
				t.Fatalf("body leaks the cause: %s", body)
			}
			wantRetry := ""
			if tt.wantStatus == 503 {
				wantRetry = "5"
			}
			if got := resp.Header.Get("Retry-After"); got != wantRetry {
				t.Fatalf("Retry-After = %q, want %q", got, wantRetry)
			}
			if tt.html {
				if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
					t.Fatalf("browser route answered %s", resp.Header.Get("Content-Type"))
				}
				if tt.wantStatus == 503 && !strings.Contains(body, "Please wait") {
					t.Fatalf("503 page should ask the user to wait:\n%s", body)
				}
				return
			}
			var e map[string]string
			if err := json.Unmarshal([]byte(body), &e); err != nil || e["error"] != tt.wantCode {
				t.Fatalf("body = %s, want error %q", body, tt.wantCode)
			}
		})
	}
}
