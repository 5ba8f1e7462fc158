package oauth

import (
	"errors"
	"fmt"
	"net/http"
)

// Error codes. Each is registered in the IANA "OAuth Extensions Error
// Registry" or defined by the RFC named beside it.
const (
	// RFC 6749 §4.1.2.1 and §5.2.
	ErrCodeInvalidRequest          = "invalid_request"
	ErrCodeInvalidClient           = "invalid_client"
	ErrCodeInvalidGrant            = "invalid_grant"
	ErrCodeUnauthorizedClient      = "unauthorized_client"
	ErrCodeUnsupportedGrantType    = "unsupported_grant_type"
	ErrCodeInvalidScope            = "invalid_scope"
	ErrCodeAccessDenied            = "access_denied"
	ErrCodeUnsupportedResponseType = "unsupported_response_type"
	ErrCodeServerError             = "server_error"
	ErrCodeTemporarilyUnavailable  = "temporarily_unavailable"

	// RFC 8707 §2.
	ErrCodeInvalidTarget = "invalid_target"

	// RFC 6750 §3.1.
	ErrCodeInvalidToken      = "invalid_token"
	ErrCodeInsufficientScope = "insufficient_scope"

	// RFC 7009 §2.2.1.
	ErrCodeUnsupportedTokenType = "unsupported_token_type"

	// OpenID Connect Core §3.1.2.6, used for prompt=none.
	ErrCodeLoginRequired       = "login_required"
	ErrCodeConsentRequired     = "consent_required"
	ErrCodeInteractionRequired = "interaction_required"
	// Request objects (OIDC Core §3.1.2.6, RFC 9101), which Gatehouse
	// does not support (request_parameter_supported: false).
	ErrCodeRequestNotSupported    = "request_not_supported"
	ErrCodeRequestURINotSupported = "request_uri_not_supported"

	// RFC 7591 §3.2.2.
	ErrCodeInvalidRedirectURI          = "invalid_redirect_uri"
	ErrCodeInvalidClientMetadata       = "invalid_client_metadata"
	ErrCodeInvalidSoftwareStatement    = "invalid_software_statement"
	ErrCodeUnapprovedSoftwareStatement = "unapproved_software_statement"

	// Not OAuth codes: HTTP conditions that still get an OAuth-shaped body
	// so that every error Gatehouse returns has the same form.
	ErrCodeNotFound         = "not_found"
	ErrCodeMethodNotAllowed = "method_not_allowed"
)

// Error is an OAuth error response (RFC 6749 §5.2): a registered code, a
// human-readable description, and the HTTP status it is sent with.
//
// Description is sent to the client, so it must never carry internals; the
// wrapped cause is for logs only. Errors are built fresh by the constructors
// below and never shared, so decorating one cannot corrupt another.
type Error struct {
	Code        string
	Description string
	Status      int
	// RetryAfter, when positive, is sent as a Retry-After header (seconds).
	RetryAfter int
	cause      error
}

// Error implements error. It includes the cause, so it is for logs only.
func (e *Error) Error() string {
	msg := e.Code
	if e.Description != "" {
		msg += ": " + e.Description
	}
	if e.cause != nil {
		msg += ": " + e.cause.Error()
	}
	return msg
}

// Unwrap returns the internal cause.
func (e *Error) Unwrap() error { return e.cause }

// Is reports whether target is an *Error with the same code, so that
// errors.Is(err, oauth.InvalidGrant("")) matches any invalid_grant.
func (e *Error) Is(target error) bool {
	var t *Error
	if !errors.As(target, &t) {
		return false
	}
	return t.Code == e.Code
}

// WithCause returns a copy of e that wraps cause for logging.
func (e *Error) WithCause(cause error) *Error {
	c := *e
	c.cause = cause
	return &c
}

// Cause is the internal error wrapped by WithCause, or nil.
func (e *Error) Cause() error { return e.cause }

// New builds an error with an explicit code, status and description.
func New(code string, status int, format string, args ...any) *Error {
	desc := format
	if len(args) > 0 {
		desc = fmt.Sprintf(format, args...)
	}
	return &Error{Code: code, Description: desc, Status: status}
}

// Code returns the OAuth error code carried by err, or "" when err is not an
// *Error.
func Code(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// InvalidRequest: a parameter is missing, repeated, malformed or unsupported.
func InvalidRequest(format string, args ...any) *Error {
	return New(ErrCodeInvalidRequest, http.StatusBadRequest, format, args...)
}

// InvalidClient: client authentication failed (RFC 6749 §5.2: 401).
func InvalidClient(format string, args ...any) *Error {
	return New(ErrCodeInvalidClient, http.StatusUnauthorized, format, args...)
}

// InvalidGrant: the code or refresh token is invalid, expired, revoked, or
// bound to another client or redirect URI, or the PKCE verifier is wrong.
func InvalidGrant(format string, args ...any) *Error {
	return New(ErrCodeInvalidGrant, http.StatusBadRequest, format, args...)
}

// UnauthorizedClient: the client may not use this grant or response type.
func UnauthorizedClient(format string, args ...any) *Error {
	return New(ErrCodeUnauthorizedClient, http.StatusBadRequest, format, args...)
}

// UnsupportedGrantType: the grant type is not supported by Gatehouse.
func UnsupportedGrantType(format string, args ...any) *Error {
	return New(ErrCodeUnsupportedGrantType, http.StatusBadRequest, format, args...)
}

// UnsupportedResponseType: only response_type=code is supported.
func UnsupportedResponseType(format string, args ...any) *Error {
	return New(ErrCodeUnsupportedResponseType, http.StatusBadRequest, format, args...)
}

// InvalidScope: the requested scope is invalid, unknown or exceeds the grant.
func InvalidScope(format string, args ...any) *Error {
	return New(ErrCodeInvalidScope, http.StatusBadRequest, format, args...)
}

// InvalidTarget: the resource indicator is invalid, missing or unknown
// (RFC 8707 §2).
func InvalidTarget(format string, args ...any) *Error {
	return New(ErrCodeInvalidTarget, http.StatusBadRequest, format, args...)
}

// AccessDenied: the user or the server refused the request.
func AccessDenied(format string, args ...any) *Error {
	return New(ErrCodeAccessDenied, http.StatusForbidden, format, args...)
}

// InvalidToken: a bearer or registration access token is missing, expired
// or revoked (RFC 6750 §3.1).
func InvalidToken(format string, args ...any) *Error {
	return New(ErrCodeInvalidToken, http.StatusUnauthorized, format, args...)
}

// UnsupportedTokenType: revocation of this token type is not supported
// (RFC 7009 §2.2.1).
func UnsupportedTokenType(format string, args ...any) *Error {
	return New(ErrCodeUnsupportedTokenType, http.StatusBadRequest, format, args...)
}

// InvalidRedirectURI: a registered redirect URI is not acceptable
// (RFC 7591 §3.2.2).
func InvalidRedirectURI(format string, args ...any) *Error {
	return New(ErrCodeInvalidRedirectURI, http.StatusBadRequest, format, args...)
}

// InvalidClientMetadata: a client metadata value is invalid
// (RFC 7591 §3.2.2).
func InvalidClientMetadata(format string, args ...any) *Error {
	return New(ErrCodeInvalidClientMetadata, http.StatusBadRequest, format, args...)
}

// ServerError: something failed inside Gatehouse. The description is fixed
// so that no internal detail can reach the client; the cause is logged.
func ServerError(cause error) *Error {
	return (&Error{Code: ErrCodeServerError, Status: http.StatusInternalServerError,
		Description: "the server could not complete the request"}).WithCause(cause)
}

// TooManyRequests: a rate limit was hit; the client may retry after the
// given number of seconds. OAuth has no rate-limit code, so this uses
// temporarily_unavailable with HTTP 429 and Retry-After (RFC 6585 §4).
func TooManyRequests(retryAfterSeconds int, format string, args ...any) *Error {
	e := New(ErrCodeTemporarilyUnavailable, http.StatusTooManyRequests, format, args...)
	if retryAfterSeconds < 1 {
		retryAfterSeconds = 1
	}
	e.RetryAfter = retryAfterSeconds
	return e
}

// TemporarilyUnavailable: Gatehouse cannot serve the request now (for
// example its storage is full or unreachable) but may shortly; nothing was
// changed. Sent with HTTP 503 and Retry-After (RFC 9110 §15.6.4); the code
// is RFC 6749 §4.1.2.1's.
func TemporarilyUnavailable(retryAfterSeconds int, format string, args ...any) *Error {
	e := New(ErrCodeTemporarilyUnavailable, http.StatusServiceUnavailable, format, args...)
	if retryAfterSeconds < 1 {
		retryAfterSeconds = 1
	}
	e.RetryAfter = retryAfterSeconds
	return e
}
