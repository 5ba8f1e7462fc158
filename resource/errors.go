package resource

import (
	"errors"
	"fmt"
	"net/http"
)

// Reasons a request or token is refused. Every error Verify, BearerToken
// and the middleware return is an *Error whose Reason is one of these, so
// callers match with errors.Is(err, resource.ErrExpired).
var (
	// ErrNoToken: the request carries no bearer token (no Authorization
	// header, or another scheme such as Basic). RFC 6750 §3.1: the
	// challenge then names no error code.
	ErrNoToken = errors.New("no bearer token")
	// ErrInvalidRequest: the request is malformed (RFC 6750 §3.1
	// invalid_request, 400): several Authorization headers, or a token
	// both in the header and in the query.
	ErrInvalidRequest = errors.New("malformed request")
	// ErrMalformedToken: not a compact JWS, or claims that do not decode.
	ErrMalformedToken = errors.New("malformed token")
	// ErrAlgorithm: the JWS alg is not in Config.Algorithms ("none" and
	// HS* never are).
	ErrAlgorithm = errors.New("signature algorithm not accepted")
	// ErrTokenType: the JOSE typ is not at+jwt (RFC 9068 §4 step 1).
	ErrTokenType = errors.New("not a JWT access token")
	// ErrUnknownKey: no published key has the token's kid (after the
	// permitted refetch), or that key is not for this algorithm or use.
	ErrUnknownKey = errors.New("unknown signing key")
	// ErrSignature: the signature does not verify.
	ErrSignature = errors.New("invalid signature")
	// ErrIssuer: iss is not Config.Issuer (RFC 9068 §4 step 3).
	ErrIssuer = errors.New("wrong issuer")
	// ErrAudience: aud does not contain Config.Resource (RFC 9068 §4
	// step 4): the token was issued for another resource.
	ErrAudience = errors.New("wrong audience")
	// ErrExpired: exp has passed, leeway included (RFC 9068 §4 step 6).
	ErrExpired = errors.New("token expired")
	// ErrNotYetValid: nbf or iat is in the future, beyond the leeway.
	ErrNotYetValid = errors.New("token not yet valid")
	// ErrMissingClaim: a claim RFC 9068 §2.2 requires is absent.
	ErrMissingClaim = errors.New("required claim missing")
	// ErrInsufficientScope: the token is valid but lacks a required scope
	// (RFC 6750 §3.1 insufficient_scope, 403).
	ErrInsufficientScope = errors.New("insufficient scope")
	// ErrKeysUnavailable: the token names a key the verifier does not have
	// and the keys could not be fetched. Not the token's fault: 503.
	ErrKeysUnavailable = errors.New("signing keys unavailable")
	// ErrInactive: in introspection mode (Config.Introspection), the
	// authorization server reports the token inactive (RFC 7662 §2.2):
	// revoked, or its client or user removed.
	ErrInactive = errors.New("token not active")
	// ErrIntrospectionUnavailable: in introspection mode, the
	// authorization server could not be asked. Not the token's fault: 503
	// (the verifier fails closed).
	ErrIntrospectionUnavailable = errors.New("introspection unavailable")
)

// RFC 6750 §3.1 error codes.
const (
	CodeInvalidRequest    = "invalid_request"
	CodeInvalidToken      = "invalid_token"
	CodeInsufficientScope = "insufficient_scope"
)

// Error is a refused request or token.
type Error struct {
	// Reason is one of the Err* values of this package.
	Reason error
	// Description is safe to show the client (error_description).
	Description string
	// Scopes are the scopes the request needed (insufficient_scope).
	Scopes []string
	// Err is the underlying cause, for logs only: it may describe the
	// verifier's environment (a failed key fetch).
	Err error
}

func newError(reason error, cause error, format string, args ...any) *Error {
	return &Error{Reason: reason, Description: fmt.Sprintf(format, args...), Err: cause}
}

func (e *Error) Error() string {
	msg := "resource: " + e.Reason.Error()
	if e.Description != "" {
		msg += ": " + e.Description
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap makes errors.Is match both the Reason and the cause.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Reason}
	}
	return []error{e.Reason, e.Err}
}

// Code is the RFC 6750 §3.1 error code: "" when no token was presented
// (and for ErrKeysUnavailable and ErrIntrospectionUnavailable, which are
// not OAuth errors).
func (e *Error) Code() string {
	switch e.Reason {
	case ErrNoToken, ErrKeysUnavailable, ErrIntrospectionUnavailable:
		return ""
	case ErrInvalidRequest:
		return CodeInvalidRequest
	case ErrInsufficientScope:
		return CodeInsufficientScope
	}
	return CodeInvalidToken
}

// Status is the HTTP status RFC 6750 §3.1 gives the error: 400, 401, 403,
// or 503 when the keys cannot be fetched.
func (e *Error) Status() int {
	switch e.Reason {
	case ErrInvalidRequest:
		return http.StatusBadRequest
	case ErrInsufficientScope:
		return http.StatusForbidden
	case ErrKeysUnavailable, ErrIntrospectionUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusUnauthorized
}

// asError turns any error into an *Error; unknown errors count as bad
// tokens so that nothing unexpected lets a request through.
func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Reason: ErrMalformedToken, Description: "the access token is invalid", Err: err}
}
