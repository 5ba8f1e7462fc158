package server

import (
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/store/storetest"
	"testing"
	"time"
)

func TestKeyedLimiterReservesBeforeTheCheck(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	k := newKeyedLimiter(3, 3*time.Minute) // one unit back per minute
	for i := range 3 {
		if wait := k.reserve("alice", now); wait != 0 {
			t.Fatalf("reservation %d: wait %v, want 0", i+1, wait)
		}
	}
	// Three checks in flight use up the allowance before any has failed.
	if wait := k.reserve("alice", now); wait != time.Minute {
		t.Fatalf("4th concurrent reservation: wait %v, want 1m", wait)
	}
	if wait := k.peek("alice", now); wait != time.Minute {
		t.Fatalf("peek: %v, want 1m", wait)
	}
	if wait := k.reserve("bob", now); wait != 0 {
		t.Fatalf("another key: wait %v", wait)
	}
	k.finish("bob", now, false)

	// Cleanup keeps a key with checks in flight even though no failure is
	// recorded yet; a key whose only check succeeded is forgotten.
	k.cleanup(now)
	if _, ok := k.m["alice"]; !ok {
		t.Fatal("cleanup dropped a key with checks in flight")
	}
	if _, ok := k.m["bob"]; ok {
		t.Fatal("cleanup kept a key with a full bucket and nothing in flight")
	}

	k.finish("alice", now, false) // a success gives its unit back...
	if wait := k.reserve("alice", now); wait != 0 {
		t.Fatalf("after a success: wait %v, want 0", wait)
	}
	for range 3 { // ...failures keep theirs
		k.finish("alice", now, true)
	}
	if wait := k.peek("alice", now); wait != time.Minute {
		t.Fatalf("after three failures: wait %v, want 1m", wait)
	}
	k.finish("alice", now, true) // not reserved: ignored, no underflow
	if b := k.m["alice"]; b.inFlight != 0 {
		t.Fatalf("in flight = %d after every check finished", b.inFlight)
	}
	if wait := k.peek("alice", now.Add(time.Minute)); wait != 0 {
		t.Fatalf("a minute later: wait %v, want 0", wait)
	}
	k.cleanup(now.Add(2 * time.Minute))
	if _, ok := k.m["alice"]; !ok {
		t.Fatal("cleanup dropped a key whose bucket is still refilling")
	}
	k.cleanup(now.Add(3 * time.Minute))
	if len(k.m) != 0 {
		t.Fatalf("after the window %d keys remain", len(k.m))
	}
}

func TestLoginLimiterBeginReleasesOnRefusal(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newLoginLimiter(LoginLimits{MaxFailuresAccountIP: 5, MaxFailuresIP: 1, Window: time.Minute})
	if wait := l.begin("alice", "198.51.100.1", now); wait != 0 {
		t.Fatalf("first: wait %v", wait)
	}
	// The address is busy: the account's reservation must be given back.
	for range 10 {
		if wait := l.begin("alice", "198.51.100.1", now); wait == 0 {
			t.Fatal("second check from a one-failure address admitted while the first is in flight")
		}
	}
	if b := l.accountIP.m[accountIPKey("alice", "198.51.100.1")]; b.inFlight != 1 {
		t.Fatalf("account in flight = %d, want 1 (refused attempts hold nothing)", b.inFlight)
	}
	l.finish("alice", "198.51.100.1", now, false)
	if wait := l.begin("alice", "198.51.100.1", now); wait != 0 {
		t.Fatalf("after a success: wait %v", wait)
	}
}

// The in-memory per-account count passes the same conformance suite as a
// database-backed one (store/storetest).
func TestMemoryLoginFailuresConformance(t *testing.T) {
	storetest.RunLoginFailures(t, func(*testing.T) store.LoginFailureStore { return newMemoryLoginFailures() }, false)
}
