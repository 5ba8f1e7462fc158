package resource

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Middleware protects a handler: a request passes only with a valid
// access token for this resource carrying every required scope, and the
// handler finds the verified claims with ClaimsFrom. Other requests get
// the RFC 6750 §3 answer from WriteError.
//
// It panics if a required scope is not a valid scope token: that is a
// programming error, caught at start-up.
func (v *Verifier) Middleware(required ...string) func(http.Handler) http.Handler {
	required = checkRequired(required)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			claims, err := v.Authenticate(r, required...)
			if err != nil {
				v.WriteError(w, r, err, required...)
				return
			}
			next.ServeHTTP(w, r.WithContext(ContextWithClaims(r.Context(), claims)))
		})
	}
}

func checkRequired(required []string) []string {
	for _, s := range required {
		if !validScopeToken(s) {
			panic(fmt.Sprintf("resource: required scope %q is not a scope token (RFC 6749 §3.3)", s))
		}
	}
	return slices.Clone(required)
}

// Authenticate extracts and verifies the request's bearer token and checks
// that it carries every required scope (RFC 6750 §3.1 insufficient_scope).
// It is the middleware without the HTTP answer, for other frameworks.
func (v *Verifier) Authenticate(r *http.Request, required ...string) (*Claims, error) {
	token, err := BearerToken(r)
	if err != nil {
		return nil, err
	}
	claims, err := v.Verify(r.Context(), token)
	if err != nil {
		return nil, err
	}
	if missing := claims.MissingScopes(required...); len(missing) > 0 {
		return nil, &Error{Reason: ErrInsufficientScope, Scopes: required,
			Description: "the token lacks the scope " + strings.Join(missing, " ")}
	}
	return claims, nil
}

// errorBody is the JSON body of a refused request (the same fields as the
// challenge; RFC 6750 requires only the header).
type errorBody struct {
	Error            string `json:"error,omitempty"`
	ErrorDescription string `json:"error_description,omitempty"`
}

// WriteError answers a request Authenticate refused (RFC 6750 §3, RFC 9728
// §5.1):
//
//   - no token: 401, WWW-Authenticate: Bearer scope="…", resource_metadata="…"
//   - a bad token: 401, Bearer error="invalid_token", error_description="…", …
//   - missing scopes: 403, Bearer error="insufficient_scope", scope="…", …
//   - a malformed request: 400, Bearer error="invalid_request", …
//   - keys or introspection unavailable: 503 with Retry-After (not the
//     client's fault, so no challenge that would send it to re-authorize)
//
// scope names the required scopes, so that a client knows what to ask for
// (MCP 2025-11-25 "Scope Selection Strategy" and step-up authorization).
func (v *Verifier) WriteError(w http.ResponseWriter, r *http.Request, err error, required ...string) {
	e := asError(err)
	status := e.Status()
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	body := errorBody{Error: e.Code(), ErrorDescription: descriptionChars(e.Description)}
	if status == http.StatusServiceUnavailable {
		h.Set("Retry-After", strconv.Itoa(retryAfterSeconds(v.cfg.KeyRefreshInterval)))
		body.Error = "temporarily_unavailable"
	} else {
		scopes := required
		if e.Reason == ErrInsufficientScope && len(e.Scopes) > 0 {
			scopes = e.Scopes
		}
		h.Set("WWW-Authenticate", Challenge(e, scopes, v.MetadataURL()))
	}
	attrs := []slog.Attr{slog.String("reason", e.Reason.Error()), slog.String("description", e.Description),
		slog.String("path", r.URL.Path)}
	if e.Err != nil {
		attrs = append(attrs, slog.String("err", e.Err.Error()))
	}
	v.cfg.Logger.LogAttrs(r.Context(), logLevel(e.Reason), "resource: request refused", attrs...)
	h.Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// logLevel: routine refusals (no token yet, expired, step-up) are debug;
// tokens that should never arrive are info; our own trouble is a warning.
func logLevel(reason error) slog.Level {
	switch reason {
	case ErrNoToken, ErrExpired, ErrInsufficientScope:
		return slog.LevelDebug
	case ErrKeysUnavailable, ErrIntrospectionUnavailable:
		return slog.LevelWarn
	}
	return slog.LevelInfo
}

func retryAfterSeconds(d time.Duration) int {
	return max(1, int((d+time.Second-1)/time.Second))
}
