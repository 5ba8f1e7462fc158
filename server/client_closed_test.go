package server

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

// A request whose client went away is recorded as 499 at debug level, not
// as a 500 "request failed": the soak runs of issue 14 showed every
// client-cancelled request as a server fault. A cancellation the client
// did not cause (the request is still live) stays a 500.
func TestClientClosedRequestIsNotAServerFault(t *testing.T) {
	env := &testEnv{t: t, logs: &syncBuffer{}}
	env.clock = newStartClock()
	env.dir = t.TempDir()
	env.openStore()
	env.start(testConfig())

	tests := []struct {
		name       string
		cancelled  bool
		err        error
		wantStatus int
		wantLevel  string
	}{
		{"client gone", true, fmt.Errorf("resolve client: %w", context.Canceled), StatusClientClosedRequest, `"level":"DEBUG","msg":"client closed the request"`},
		{"internal cancellation, client still there", false, fmt.Errorf("fetch: %w", context.Canceled), http.StatusInternalServerError, `"level":"ERROR","msg":"request failed"`},
		{"client gone but a real fault", true, errors.New("disk on fire"), http.StatusInternalServerError, `"level":"ERROR","msg":"request failed"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env.logs.Reset()
			ctx, cancel := context.WithCancel(context.Background())
			if tt.cancelled {
				cancel()
			} else {
				defer cancel()
			}
			req := httptest.NewRequest(http.MethodGet, "/authorize", nil).WithContext(ctx)
			rec := httptest.NewRecorder()
			c := env.srv.echo.NewContext(req, rec)
			h := env.srv.accessLog(func(echo.Context) error { return tt.err })
			if err := h(c); err != nil {
				t.Fatal(err)
			}
			logs := env.logs.String()
			if !strings.Contains(logs, tt.wantLevel) {
				t.Fatalf("log lacks %s:\n%s", tt.wantLevel, logs)
			}
			if want := fmt.Sprintf(`"status":%d`, tt.wantStatus); !strings.Contains(logs, `"msg":"http"`) || !strings.Contains(logs, want) {
				t.Fatalf("access log lacks %s:\n%s", want, logs)
			}
			if tt.wantStatus == StatusClientClosedRequest && (rec.Code != http.StatusInternalServerError || !strings.Contains(rec.Body.String(), "server_error")) {
				t.Fatalf("a client still reading got %d %q, want 500 server_error (499 is only recorded)", rec.Code, rec.Body.String())
			}
		})
	}
}

// A client that half-closes its connection after the request (shutdown of
// its write side, as some scripted clients do) cancels the request's
// context yet still reads the answer: it must get an error status, never
// the empty 200 OK net/http sends for a handler that wrote nothing.
func TestHalfClosedClientGetsAnError(t *testing.T) {
	env := newTestEnv(t)
	env.srv.echo.GET("/test-wait-for-cancel", func(c echo.Context) error {
		<-c.Request().Context().Done()
		return fmt.Errorf("resolve client: %w", c.Request().Context().Err())
	})
	conn, err := net.Dial("tcp", strings.TrimPrefix(env.http.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET /test-wait-for-cancel HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	if err := conn.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 400 {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("a half-closed client got %s %q, want an error status", resp.Status, body)
	}
	if resp.StatusCode == StatusClientClosedRequest {
		t.Fatalf("sent the log-only status %d to a client", resp.StatusCode)
	}
}
