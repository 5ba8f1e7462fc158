package server

import (
	"context"
	"errors"
	"fmt"
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
			if tt.wantStatus == StatusClientClosedRequest && rec.Body.Len() != 0 {
				t.Fatalf("wrote an answer nobody reads: %q", rec.Body.String())
			}
		})
	}
}
