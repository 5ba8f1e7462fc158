package pgstore_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/store/pgstore"
	"github.com/gatehouse-dev/gatehouse/store/storetest"
)

// The per-account failure count is one row per account in the database:
// two stores on one database (two instances) share it.
func TestLoginFailures(t *testing.T) {
	var mu sync.Mutex
	urls := map[*testing.T]string{} // one database per subtest, shared by its stores
	storetest.RunLoginFailures(t, func(t *testing.T) store.LoginFailureStore {
		mu.Lock()
		url, ok := urls[t]
		if !ok {
			url = newURL(t)
			urls[t] = url
		}
		mu.Unlock()
		s, err := pgstore.Open(context.Background(), pgstore.Options{URL: url})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}, true)
}

// The sweeper keeps an account's row while its check schedule runs, even
// once its failure level has drained, and forgets it after.
func TestLoginCheckScheduleOutlivesTheLevel(t *testing.T) {
	ctx := context.Background()
	s, err := pgstore.Open(ctx, pgstore.Options{URL: newURL(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now, leak := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), time.Second
	s.AddLoginFailure(ctx, "alice", now, leak) // drained at +1s
	for range 5 {
		s.ReserveLoginCheck(ctx, "alice", now, 3*time.Second, 20*time.Second) // the schedule runs to +15s
	}
	if res, err := s.Sweep(ctx, now.Add(10*time.Second)); err != nil || res.Removed != 0 {
		t.Fatalf("sweep while the schedule runs = %+v %v", res, err)
	}
	if wait, ok, err := s.ReserveLoginCheck(ctx, "alice", now.Add(10*time.Second), 3*time.Second, 20*time.Second); err != nil || !ok || wait != 5*time.Second {
		t.Fatalf("next slot after the sweep = %v %v %v, want 5s", wait, ok, err)
	}
	// A failure now must not shorten the row's life below the schedule.
	s.AddLoginFailure(ctx, "alice", now.Add(10*time.Second), leak)
	if res, err := s.Sweep(ctx, now.Add(17*time.Second)); err != nil || res.Removed != 0 {
		t.Fatalf("sweep before the last slot = %+v %v", res, err)
	}
	if res, err := s.Sweep(ctx, now.Add(19*time.Second)); err != nil || res.Removed != 1 {
		t.Fatalf("sweep after the last slot = %+v %v, want 1 removed", res, err)
	}
}
