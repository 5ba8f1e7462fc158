package pgstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/store/pgstore"
	"github.com/gatehouse-dev/gatehouse/store/storetest"
)

// One instance sweeps at a time: while another holds the sweep lock, a
// sweep returns at once having removed nothing; afterwards it sweeps.
func TestSweepRunsOnOneInstanceAtATime(t *testing.T) {
	ctx := context.Background()
	clock := storetest.NewClock()
	url := newURL(t)
	s, err := pgstore.Open(ctx, pgstore.Options{URL: url, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.CreateSession(ctx, store.Session{ID: "old", UserID: "u", ExpiresAt: clock.Now().Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Hour)
	other, err := pgx.Connect(ctx, url) // "another instance" holding the lock
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close(ctx)
	if _, err := other.Exec(ctx, "SELECT pg_advisory_lock($1)", pgstore.SweepLockKey); err != nil {
		t.Fatal(err)
	}
	res, err := s.Sweep(ctx, clock.Now())
	if err != nil || !res.Skipped || res.Removed != 0 {
		t.Fatalf("sweep while another instance sweeps = %+v, %v; want skipped", res, err)
	}
	if _, err := other.Exec(ctx, "SELECT pg_advisory_unlock($1)", pgstore.SweepLockKey); err != nil {
		t.Fatal(err)
	}
	res, err = s.Sweep(ctx, clock.Now())
	if err != nil || res.Skipped || res.Removed != 1 {
		t.Fatalf("sweep after the lock was released = %+v, %v; want the expired session removed", res, err)
	}
	// The lock was released: the other instance can take it.
	var got bool
	if err := other.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", pgstore.SweepLockKey).Scan(&got); err != nil || !got {
		t.Fatalf("the sweep kept its lock: %v %v", got, err)
	}
	if _, err := s.Session(ctx, "old"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("swept session: %v", err)
	}
}
