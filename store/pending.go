package store

import (
	"context"
	"time"
)

// PendingRequest is an authorization request waiting for the user to sign
// in, kept on the server under a short random handle: a request too long
// to travel in the sign-in URL (a state of several KB) survives the
// detour, and any instance on the same database can resume it. It is not
// a credential: it holds what the client sent in the browser's URL.
type PendingRequest struct {
	// ID is the handle the sign-in URL carries.
	ID       string `json:"id"`
	ClientID string `json:"client_id"`
	// Params is the request, application/x-www-form-urlencoded.
	Params    string    `json:"params"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// PendingRequestStore persists pending authorization requests. They are
// short-lived and not copied between backends (gatehouse store copy).
type PendingRequestStore interface {
	// CreatePendingRequest stores p; ErrConflict if a live request has
	// that ID.
	CreatePendingRequest(ctx context.Context, p PendingRequest) error
	// PendingRequest returns the request with that ID until it expires;
	// ErrNotFound after.
	PendingRequest(ctx context.Context, id string) (PendingRequest, error)
}
