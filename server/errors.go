package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/store"
)

// pageError is an error shown to a person as an HTML page, for browser
// endpoints that must not redirect (an unknown client or redirect URI at
// /authorize, OAuth 2.1 §4.1.2.1) or that serve forms.
type pageError struct {
	Status int
	Title  string
	Detail string
	// OAuth, when set, is the OAuth error code the page stands for; it is
	// shown so a developer can match it to the specification.
	OAuth string
	// Advice, when set, is what the person can do, one step per entry.
	Advice []string
	// Description is the error_description of the JSON form of the page
	// (for a client that asked for JSON); Detail when empty.
	Description string
	// RetryAfter, when positive, is sent as a Retry-After header (seconds).
	RetryAfter int
	cause      error
}

func (e *pageError) Error() string {
	msg := e.Title + ": " + e.Detail
	if e.cause != nil {
		msg += ": " + e.cause.Error()
	}
	return msg
}

func (e *pageError) Unwrap() error { return e.cause }

// pageErrorFrom turns an OAuth error into a page with the same meaning.
func pageErrorFrom(err *oauth.Error, title string) *pageError {
	status := err.Status
	switch status {
	case 0, http.StatusUnauthorized: // 401 belongs to HTTP authentication, not to a page
		status = http.StatusBadRequest
	}
	return &pageError{Status: status, Title: title, Detail: err.Description, OAuth: err.Code, RetryAfter: err.RetryAfter, cause: err.Cause()}
}

// pageTitle is the heading of an error page standing for an OAuth error.
func pageTitle(e *oauth.Error) string {
	switch e.Code {
	case oauth.ErrCodeServerError:
		return "Something went wrong"
	case oauth.ErrCodeTemporarilyUnavailable:
		return "Please wait"
	case oauth.ErrCodeNotFound:
		return "Page not found"
	}
	return "Invalid request"
}

// handleError is echo's HTTPErrorHandler: the only place an error becomes
// a response. OAuth errors become {"error","error_description"} JSON
// (RFC 6749 §5.2); page errors become HTML; anything else is a server_error
// whose cause goes to the log, never to the client.
func (s *Server) handleError(err error, c echo.Context) {
	log := requestLogger(c, s.log)
	if c.Response().Committed {
		log.Warn("error after response was sent", "err", err)
		return
	}
	if clientClosed(c, err) {
		// A 500 in the log would send an operator hunting for a fault
		// that is not there: the access log and metrics record 499. The
		// answer is still written: a client that only half-closed its
		// side of the connection (which cancels the context too) still
		// reads, and a handler that writes nothing makes net/http send an
		// empty 200 OK. A short JSON error (no page: browsers do not
		// half-close) costs nothing to write to a client that is gone.
		log.Debug("client closed the request", "err", err)
		writeOAuthError(c, oauth.ServerError(err))
		c.Response().Status = StatusClientClosedRequest
		return
	}
	if ue := storeUnavailable(err); ue != nil {
		s.writeError(c, log, ue, err)
		return
	}
	var re *redirectError
	if errors.As(err, &re) {
		s.logError(log, re.err.Status, err)
		if werr := s.writeRedirectError(c, re); werr != nil {
			log.Error("write redirect error", "err", werr)
		}
		return
	}
	var pe *pageError
	if errors.As(err, &pe) {
		s.logError(log, pe.Status, err)
		s.renderErrorPage(c, pe)
		return
	}
	s.writeError(c, log, toOAuthError(err), err)
}

// writeError sends oe, which stands for err (logged), as JSON, or as an
// HTML page on browser routes.
func (s *Server) writeError(c echo.Context, log *slog.Logger, oe *oauth.Error, err error) {
	s.logError(log, oe.Status, err)
	if html, _ := c.Get(ctxHTML).(bool); html {
		s.renderErrorPage(c, pageErrorFrom(oe, pageTitle(oe)))
		return
	}
	writeOAuthError(c, oe)
}

// StatusClientClosedRequest is the status recorded (in the access log and
// the request metrics, never sent: a client still reading gets 500
// server_error) for a request whose client went away before the answer:
// nginx's 499 convention, which dashboards recognise.
const StatusClientClosedRequest = 499

// clientClosed reports whether err is only the consequence of the client
// closing the request (its context was cancelled), not a server fault.
func clientClosed(c echo.Context, err error) bool {
	return errors.Is(err, context.Canceled) && c.Request().Context().Err() != nil
}

// storeRetryAfter is the Retry-After sent while the store cannot take
// writes: long enough not to hammer a full disk, short enough that a
// client's retry lands soon after space returns.
const storeRetryAfter = 5

// storeUnavailable maps a failure of the store to take the request now
// (store.ErrUnavailable: disk full, database unreachable) to 503
// temporarily_unavailable with Retry-After, wherever it surfaces, unless a
// handler already answered it with a precise 4xx error. Nothing was
// written, so the client may simply retry.
func storeUnavailable(err error) *oauth.Error {
	if !errors.Is(err, store.ErrUnavailable) {
		return nil
	}
	var oe *oauth.Error
	if errors.As(err, &oe) && oe.Status < 500 {
		return nil
	}
	var pe *pageError
	if errors.As(err, &pe) && pe.Status < 500 {
		return nil
	}
	return oauth.TemporarilyUnavailable(storeRetryAfter, "the server cannot save changes right now; retry shortly").WithCause(err)
}

// toOAuthError maps any error to the OAuth error the client will see.
func toOAuthError(err error) *oauth.Error {
	var oe *oauth.Error
	if errors.As(err, &oe) {
		if oe.Status == 0 {
			c := *oe
			c.Status = http.StatusBadRequest
			return &c
		}
		return oe
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		switch he.Code {
		case http.StatusNotFound:
			return oauth.New(oauth.ErrCodeNotFound, he.Code, "no such endpoint")
		case http.StatusMethodNotAllowed:
			return oauth.New(oauth.ErrCodeMethodNotAllowed, he.Code, "method not allowed on this endpoint")
		case http.StatusRequestEntityTooLarge:
			return oauth.New(oauth.ErrCodeInvalidRequest, he.Code, "request body too large")
		case http.StatusUnsupportedMediaType:
			return oauth.New(oauth.ErrCodeInvalidRequest, he.Code, "unsupported content type")
		case http.StatusTooManyRequests:
			return oauth.TooManyRequests(1, "too many requests")
		}
		if he.Code >= 400 && he.Code < 500 {
			return oauth.New(oauth.ErrCodeInvalidRequest, he.Code, "%s", http.StatusText(he.Code))
		}
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return oauth.New(oauth.ErrCodeInvalidRequest, http.StatusRequestEntityTooLarge, "request body too large")
	}
	return oauth.ServerError(err)
}

func (s *Server) logError(log *slog.Logger, status int, err error) {
	switch {
	case status >= 500:
		log.Error("request failed", "status", status, "err", err)
	default:
		log.Debug("request refused", "status", status, "err", err)
	}
}

// writeOAuthError writes the RFC 6749 §5.2 JSON body. Error responses are
// never cached (RFC 6749 §5.1 applies the same rule to token responses).
func writeOAuthError(c echo.Context, e *oauth.Error) {
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	if e.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	body := map[string]string{"error": e.Code}
	if e.Description != "" {
		body["error_description"] = e.Description
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(e.Status)
		return
	}
	_ = c.JSON(e.Status, body)
}
