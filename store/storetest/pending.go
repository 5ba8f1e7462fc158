package storetest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
)

// testPendingRequests: a pending authorization request is stored whole
// (a long request byte for byte), found until it expires, never twice
// under one live ID, and swept after.
func testPendingRequests(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	now := clock.Now()
	params := "client_id=dcr_x&state=" + strings.Repeat("%C3%A9x+y%26", 1500) + "&scope=mcp%3Atools"
	p := store.PendingRequest{ID: "pr-1", ClientID: "dcr_x", Params: params, CreatedAt: now, ExpiresAt: now.Add(15 * time.Minute)}
	if err := s.CreatePendingRequest(ctx, p); err != nil {
		t.Fatal(err)
	}
	got, err := s.PendingRequest(ctx, "pr-1")
	if err != nil || got.Params != params || got.ClientID != "dcr_x" || !got.ExpiresAt.Equal(p.ExpiresAt) || !got.CreatedAt.Equal(now) {
		t.Fatalf("PendingRequest = %+v, %v; want the stored request byte for byte", got, err)
	}
	if err := s.CreatePendingRequest(ctx, p); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second create under a live ID: %v, want ErrConflict", err)
	}
	if _, err := s.PendingRequest(ctx, "pr-unknown"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown ID: %v, want ErrNotFound", err)
	}
	if err := s.CreatePendingRequest(ctx, store.PendingRequest{ID: "", ExpiresAt: now.Add(time.Minute)}); err == nil {
		t.Fatal("a pending request without an ID was stored")
	}
	other := store.PendingRequest{ID: "pr-2", Params: "a=b", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := s.CreatePendingRequest(ctx, other); err != nil {
		t.Fatal(err)
	}
	clock.Advance(15 * time.Minute)
	if _, err := s.PendingRequest(ctx, "pr-1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("expired pending request: %v, want ErrNotFound", err)
	}
	// An expired ID may be used again before the sweeper runs.
	again := p
	again.Params, again.ExpiresAt = "x=1", clock.Now().Add(time.Minute)
	if err := s.CreatePendingRequest(ctx, again); err != nil {
		t.Fatalf("reusing an expired ID: %v", err)
	}
	if got, err := s.PendingRequest(ctx, "pr-1"); err != nil || got.Params != "x=1" {
		t.Fatalf("after reuse: %+v, %v", got, err)
	}
	clock.Advance(time.Minute)
	res, err := s.Sweep(ctx, clock.Now())
	if err != nil || (res.Removed < 1 && !res.Skipped) {
		t.Fatalf("sweep = %+v, %v; want the expired request removed", res, err)
	}
	if _, err := s.PendingRequest(ctx, "pr-1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("swept pending request: %v", err)
	}
	if _, err := s.PendingRequest(ctx, "pr-2"); err != nil {
		t.Fatalf("the live pending request was swept: %v", err)
	}
}
