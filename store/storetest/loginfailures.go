package storetest

import (
	"context"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
)

// RunLoginFailures is the conformance suite of a store.LoginFailureStore.
// open returns a store in which the accounts the suite uses have nothing
// recorded; when shared is true, two calls within one subtest must return
// stores on the same database (two instances), which the cross-instance
// case checks. Each subtest uses its own account names.
func RunLoginFailures(t *testing.T, open func(t *testing.T) store.LoginFailureStore, shared bool) {
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	leak := 90 * time.Second // 10 failures per 15 minutes
	near := func(t *testing.T, what string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-6 {
			t.Fatalf("%s = %v, want %v", what, got, want)
		}
	}

	t.Run("counts and drains", func(t *testing.T) {
		s := open(t)
		lvl, err := s.LoginFailureLevel(ctx, "alice", t0, leak)
		if err != nil {
			t.Fatal(err)
		}
		near(t, "level with nothing recorded", lvl, 0)
		for i := 1; i <= 3; i++ {
			lvl, err = s.AddLoginFailure(ctx, "alice", t0, leak)
			if err != nil {
				t.Fatal(err)
			}
			near(t, fmt.Sprintf("level after failure %d", i), lvl, float64(i))
		}
		lvl, _ = s.LoginFailureLevel(ctx, "alice", t0.Add(leak), leak)
		near(t, "one leak later", lvl, 2)
		lvl, _ = s.LoginFailureLevel(ctx, "alice", t0.Add(leak/2), leak)
		near(t, "half a leak later", lvl, 2.5)
		lvl, _ = s.AddLoginFailure(ctx, "alice", t0.Add(2*leak), leak)
		near(t, "a failure two leaks later", lvl, 2)
		lvl, _ = s.LoginFailureLevel(ctx, "alice", t0.Add(time.Hour), leak)
		near(t, "an hour later", lvl, 0)
		lvl, _ = s.AddLoginFailure(ctx, "alice", t0.Add(time.Hour), leak)
		near(t, "a failure after draining", lvl, 1)
	})

	t.Run("accounts are separate and case-exact", func(t *testing.T) {
		s := open(t)
		s.AddLoginFailure(ctx, "frank", t0, leak)
		s.AddLoginFailure(ctx, "frank", t0, leak)
		for _, other := range []string{"grace", "Frank", "frank ", ""} {
			lvl, err := s.LoginFailureLevel(ctx, other, t0, leak)
			if err != nil {
				t.Fatal(err)
			}
			near(t, fmt.Sprintf("level of %q", other), lvl, 0)
		}
	})

	t.Run("a clock going backwards never raises the level", func(t *testing.T) {
		s := open(t)
		s.AddLoginFailure(ctx, "carol", t0, leak)
		lvl, _ := s.LoginFailureLevel(ctx, "carol", t0.Add(-time.Hour), leak)
		if lvl > 1 {
			t.Fatalf("level %v after the clock went back", lvl)
		}
	})

	t.Run("concurrent failures are all counted", func(t *testing.T) {
		s := open(t)
		var wg sync.WaitGroup
		for range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := s.AddLoginFailure(ctx, "dave", t0, leak); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		lvl, _ := s.LoginFailureLevel(ctx, "dave", t0, leak)
		near(t, "after 50 concurrent failures", lvl, 50)
	})

	runLoginChecks(t, open, shared, t0)

	if shared {
		t.Run("instances sharing the backend share the count", func(t *testing.T) {
			a, b := open(t), open(t)
			a.AddLoginFailure(ctx, "erin", t0, leak)
			b.AddLoginFailure(ctx, "erin", t0, leak)
			lvl, _ := a.LoginFailureLevel(ctx, "erin", t0, leak)
			near(t, "level seen by instance a", lvl, 2)
		})
	}
}
