package boltstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/store/boltstore"
	"github.com/gatehouse-dev/gatehouse/store/storetest"
)

func TestLoginFailures(t *testing.T) {
	storetest.RunLoginFailures(t, func(t *testing.T) store.LoginFailureStore {
		return openTest(t, storetest.NewClock())
	}, false)
}

// The per-account count and the slowed schedule are on disk: restarting
// Gatehouse forgives a guesser nothing, and the sweeper forgets an account
// once its level has drained and its schedule has passed.
func TestLoginFailuresSurviveARestartAndAreSwept(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clock := storetest.NewClock()
	now, leak := clock.Now(), 9*time.Second
	s, err := boltstore.Open(dir, boltstore.Options{Now: clock.Now, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if _, err := s.AddLoginFailure(ctx, "alice", now, leak); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		s.ReserveLoginCheck(ctx, "alice", now, 3*time.Second, 20*time.Second)
	}
	s.Close()
	s, err = boltstore.Open(dir, boltstore.Options{Now: clock.Now, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if lvl, _ := s.LoginFailureLevel(ctx, "alice", now, leak); lvl != 5 {
		t.Fatalf("level after a restart = %v, want 5", lvl)
	}
	if wait, ok, _ := s.ReserveLoginCheck(ctx, "alice", now, 3*time.Second, 20*time.Second); !ok || wait != 9*time.Second {
		t.Fatalf("next slot after a restart = %v %v, want 9s", wait, ok)
	}
	// The level drains in 45 s; the schedule runs to 12 s. At 44 s the
	// record stays, at 46 s it is swept.
	if res, err := s.Sweep(ctx, now.Add(44*time.Second)); err != nil || res.Removed != 0 {
		t.Fatalf("sweep before the level drained = %+v %v", res, err)
	}
	if res, err := s.Sweep(ctx, now.Add(46*time.Second)); err != nil || res.Removed != 1 {
		t.Fatalf("sweep after = %+v %v, want 1 removed", res, err)
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
	// A schedule that outlives the level keeps the record.
	s.ReserveLoginCheck(ctx, "bob", now, 3*time.Second, 20*time.Second)
	s.ReserveLoginCheck(ctx, "bob", now, 3*time.Second, 20*time.Second)
	if res, _ := s.Sweep(ctx, now.Add(5*time.Second)); res.Removed != 0 {
		t.Fatal("a running schedule was swept")
	}
	if wait, ok, _ := s.ReserveLoginCheck(ctx, "bob", now.Add(5*time.Second), 3*time.Second, 20*time.Second); !ok || wait != time.Second {
		t.Fatalf("bob's next slot = %v %v, want 1s", wait, ok)
	}
}
