package storetest

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
)

// runLoginChecks is the part of RunLoginFailures about the slowed
// accounts' check schedule (ReserveLoginCheck): slots every apart, a
// refusal past maxWait that reserves nothing, distinct slots for
// concurrent reservations, and, when shared, one schedule for every
// instance on the backend.
func runLoginChecks(t *testing.T, open func(t *testing.T) store.LoginFailureStore, shared bool, t0 time.Time) {
	ctx := context.Background()
	const every, maxWait = 3 * time.Second, 20 * time.Second
	reserve := func(t *testing.T, s store.LoginFailureStore, account string, now time.Time) (time.Duration, bool) {
		t.Helper()
		wait, ok, err := s.ReserveLoginCheck(ctx, account, now, every, maxWait)
		if err != nil {
			t.Fatal(err)
		}
		return wait, ok
	}

	t.Run("check slots are every apart, and past maxWait nothing is reserved", func(t *testing.T) {
		s := open(t)
		for i := range 7 { // 0, 3, ..., 18 s: all within 20 s
			if wait, ok := reserve(t, s, "henry", t0); !ok || wait != time.Duration(i)*every {
				t.Fatalf("reservation %d = %v %v, want %v", i, wait, ok, time.Duration(i)*every)
			}
		}
		for range 3 { // 21 s away: refused, and the refusal takes nothing
			if wait, ok := reserve(t, s, "henry", t0); ok || wait != 21*time.Second {
				t.Fatalf("reservation past maxWait = %v %v, want 21s refused", wait, ok)
			}
		}
		// 4 s later the next free slot (21 s) is 17 s away.
		if wait, ok := reserve(t, s, "henry", t0.Add(4*time.Second)); !ok || wait != 17*time.Second {
			t.Fatalf("4s later = %v %v, want 17s", wait, ok)
		}
		// Once the schedule has passed, a check goes at once.
		if wait, ok := reserve(t, s, "henry", t0.Add(time.Hour)); !ok || wait != 0 {
			t.Fatalf("an hour later = %v %v, want 0", wait, ok)
		}
		if wait, ok := reserve(t, s, "henry", t0.Add(time.Hour+time.Second)); !ok || wait != 2*time.Second {
			t.Fatalf("a second after that = %v %v, want 2s", wait, ok)
		}
	})

	t.Run("schedules are per account, and do not touch the failure count", func(t *testing.T) {
		s := open(t)
		leak := 90 * time.Second
		s.AddLoginFailure(ctx, "iris", t0, leak)
		reserve(t, s, "iris", t0)
		reserve(t, s, "iris", t0)
		if wait, ok := reserve(t, s, "jack", t0); !ok || wait != 0 {
			t.Fatalf("another account = %v %v, want 0", wait, ok)
		}
		if lvl, _ := s.LoginFailureLevel(ctx, "iris", t0, leak); lvl != 1 {
			t.Fatalf("level after reservations = %v, want 1", lvl)
		}
		if lvl, _ := s.AddLoginFailure(ctx, "iris", t0, leak); lvl != 2 {
			t.Fatalf("a failure after reservations = %v, want 2", lvl)
		}
		// The failure kept the schedule: the next slot is the third.
		if wait, ok := reserve(t, s, "iris", t0); !ok || wait != 2*every {
			t.Fatalf("after a failure = %v %v, want %v", wait, ok, 2*every)
		}
		// Later reservations wait for the slot after the last one taken.
		if wait, ok := reserve(t, s, "iris", t0.Add(time.Second)); !ok || wait != 3*every-time.Second {
			t.Fatalf("a second later = %v %v, want %v", wait, ok, 3*every-time.Second)
		}
	})

	t.Run("a clock going backwards never frees a slot", func(t *testing.T) {
		s := open(t)
		reserve(t, s, "kate", t0)
		if wait, ok := reserve(t, s, "kate", t0.Add(-time.Minute)); ok || wait != time.Minute+every {
			t.Fatalf("after the clock went back a minute = %v %v, want %v refused", wait, ok, time.Minute+every)
		}
	})

	t.Run("concurrent reservations get distinct slots", func(t *testing.T) {
		s := open(t)
		waits := reserveConcurrently(t, []store.LoginFailureStore{s}, "liam", t0, 40)
		for i, w := range waits {
			if w != time.Duration(i)*time.Second {
				t.Fatalf("concurrent waits = %v, want 0s, 1s, ..., 39s", waits)
			}
		}
	})

	if shared {
		t.Run("instances sharing the backend share one schedule", func(t *testing.T) {
			a, b := open(t), open(t)
			for i, s := range []store.LoginFailureStore{a, b, a, b} {
				if wait, ok := reserve(t, s, "mona", t0); !ok || wait != time.Duration(i)*every {
					t.Fatalf("reservation %d (instance %c) = %v %v, want %v", i, "abab"[i], wait, ok, time.Duration(i)*every)
				}
			}
			waits := reserveConcurrently(t, []store.LoginFailureStore{a, b}, "nora", t0, 40)
			for i, w := range waits {
				if w != time.Duration(i)*time.Second {
					t.Fatalf("concurrent waits on two instances = %v, want 0s, 1s, ..., 39s", waits)
				}
			}
		})
	}
}

// reserveConcurrently makes n reservations of one-second slots for
// account at once, spread over stores, and returns the waits, sorted.
func reserveConcurrently(t *testing.T, stores []store.LoginFailureStore, account string, now time.Time, n int) []time.Duration {
	t.Helper()
	var (
		mu    sync.Mutex
		wg    sync.WaitGroup
		waits []time.Duration
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wait, ok, err := stores[i%len(stores)].ReserveLoginCheck(context.Background(), account, now, time.Second, time.Hour)
			if err != nil || !ok {
				t.Errorf("reservation: %v %v", ok, err)
				return
			}
			mu.Lock()
			waits = append(waits, wait)
			mu.Unlock()
		}()
	}
	wg.Wait()
	slices.Sort(waits)
	return waits
}
