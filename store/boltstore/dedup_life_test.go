package boltstore

import (
	"context"
	"fmt"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/gatehouse-dev/gatehouse/store/storetest"
)

// logSize is the number of entries in the dedup log on disk.
func logSize(t *testing.T, s *Store) int {
	t.Helper()
	n := 0
	if err := s.db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(bucketClientDedupLog).Stats().KeyN
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestDedupIndexShrinks: the index and its log lose a client's entry when
// the client is used, deleted, changes its key, or expires and is swept,
// so neither grows with clients that can no longer absorb a registration.
func TestDedupIndexShrinks(t *testing.T) {
	ctx := context.Background()
	clock := storetest.NewClock()
	s, err := Open(t.TempDir(), Options{NoSync: true, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := clock.Now()
	for i := range 10 {
		c := dedupClient(fmt.Sprintf("dcr_%02d", i), fmt.Sprintf("key-%02d", i), now)
		if _, created, err := s.CreateClient(ctx, c, ""); err != nil || !created {
			t.Fatal(created, err)
		}
	}
	if s.dedup.size() != 10 || logSize(t, s) != 10 {
		t.Fatalf("after 10 registrations: index %d, log %d", s.dedup.size(), logSize(t, s))
	}
	if err := s.TouchClient(ctx, "dcr_00", now, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteClient(ctx, "dcr_01"); err != nil {
		t.Fatal(err)
	}
	changed, err := s.Client(ctx, "dcr_02")
	if err != nil {
		t.Fatal(err)
	}
	changed.DedupKey = "key-other"
	if err := s.UpdateClient(ctx, changed); err != nil {
		t.Fatal(err)
	}
	if s.dedup.size() != 7 || logSize(t, s) != 7 {
		t.Fatalf("after use, deletion and a key change: index %d, log %d, want 7", s.dedup.size(), logSize(t, s))
	}
	// The freed keys register afresh.
	for _, k := range []string{"key-00", "key-01", "key-02"} {
		if _, created, err := s.CreateClient(ctx, dedupClient("dcr_new-"+k, k, now), ""); err != nil || !created {
			t.Fatalf("%s after its client left: created=%v %v", k, created, err)
		}
	}
	// Everything unused expires a day later; the sweep takes the entries.
	clock.Advance(25 * time.Hour)
	if _, err := s.Sweep(ctx, clock.Now()); err != nil {
		t.Fatal(err)
	}
	if s.dedup.size() != 0 || logSize(t, s) != 0 {
		t.Fatalf("after the sweep: index %d, log %d, want 0", s.dedup.size(), logSize(t, s))
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
}

// TestDedupIndexExpiredNotSwept: an identical registration after the
// first client expired, before the sweep, makes a new client; the later
// sweep of the expired one leaves the new one's entry.
func TestDedupIndexExpiredNotSwept(t *testing.T) {
	ctx := context.Background()
	clock := storetest.NewClock()
	s, err := Open(t.TempDir(), Options{NoSync: true, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, _, err := s.CreateClient(ctx, dedupClient("dcr_a", "key", clock.Now()), ""); err != nil {
		t.Fatal(err)
	}
	clock.Advance(25 * time.Hour)
	got, created, err := s.CreateClient(ctx, dedupClient("dcr_b", "key", clock.Now()), "")
	if err != nil || !created || got.ID != "dcr_b" {
		t.Fatalf("after expiry: %s created=%v %v, want a new client", got.ID, created, err)
	}
	if _, err := s.Sweep(ctx, clock.Now()); err != nil {
		t.Fatal(err)
	}
	got, created, err = s.CreateClient(ctx, dedupClient("dcr_c", "key", clock.Now()), "")
	if err != nil || created || got.ID != "dcr_b" {
		t.Fatalf("after sweeping the expired client: %s created=%v %v, want a merge into dcr_b", got.ID, created, err)
	}
	if s.dedup.size() != 1 || logSize(t, s) != 1 {
		t.Fatalf("index %d, log %d, want 1", s.dedup.size(), logSize(t, s))
	}
}

// TestDedupIndexBounded: past its bound the index takes no new keys (the
// log still does, and registrations still succeed, undeduplicated);
// entries that leave make room again; a rebuild stops at the bound.
func TestDedupIndexBounded(t *testing.T) {
	ctx := context.Background()
	s, err := Open(t.TempDir(), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.dedup.max = 3
	now := time.Now()
	for i := range 5 {
		if _, created, err := s.CreateClient(ctx, dedupClient(fmt.Sprintf("dcr_%d", i), fmt.Sprintf("key-%d", i), now), ""); err != nil || !created {
			t.Fatal(created, err)
		}
	}
	if s.dedup.size() != 3 || logSize(t, s) != 5 {
		t.Fatalf("index %d, log %d; want 3 (bound) and 5", s.dedup.size(), logSize(t, s))
	}
	if got, created, _ := s.CreateClient(ctx, dedupClient("dcr_0b", "key-0", now), ""); created || got.ID != "dcr_0" {
		t.Fatalf("a key within the bound: %s created=%v, want a merge into dcr_0", got.ID, created)
	}
	if _, created, _ := s.CreateClient(ctx, dedupClient("dcr_4b", "key-4", now), ""); !created {
		t.Fatal("a key past the bound was deduplicated, want a new client")
	}
	if err := s.DeleteClient(ctx, "dcr_0"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.CreateClient(ctx, dedupClient("dcr_5", "key-5", now), ""); err != nil {
		t.Fatal(err)
	}
	if got, created, _ := s.CreateClient(ctx, dedupClient("dcr_5b", "key-5", now), ""); created || got.ID != "dcr_5" {
		t.Fatalf("after an entry left: %s created=%v, want a merge into dcr_5", got.ID, created)
	}
	rebuilt := newDedupIndex()
	rebuilt.max = 2
	if err := s.db.View(rebuilt.load); err != nil {
		t.Fatal(err)
	}
	if rebuilt.size() != 2 {
		t.Fatalf("rebuilt index of %d entries, want the bound 2", rebuilt.size())
	}
}

// TestDedupLogPrunedAtOpen: entries an older binary left stale (its
// client deleted, or used, without touching the log) are dropped when the
// store opens; live ones stay and still deduplicate.
func TestDedupLogPrunedAtOpen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	now := time.Now()
	s, err := Open(dir, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, _, err := s.CreateClient(ctx, dedupClient(fmt.Sprintf("dcr_%d", i), fmt.Sprintf("key-%d", i), now), ""); err != nil {
			t.Fatal(err)
		}
	}
	// What an older binary does: it deletes dcr_0 and marks dcr_1 used,
	// unaware of the log.
	used, err := s.Client(ctx, "dcr_1")
	if err != nil {
		t.Fatal(err)
	}
	used.FirstTokenAt, used.DedupKey = now, ""
	if err := s.db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketClients).Delete([]byte("dcr_0")); err != nil {
			return err
		}
		return clientsTable.put(tx, []byte("dcr_1"), used.ExpiresAt, used)
	}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err = Open(dir, Options{NoSync: true}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.dedup.size() != 1 || logSize(t, s) != 1 {
		t.Fatalf("after reopen: index %d, log %d, want only dcr_2's entry", s.dedup.size(), logSize(t, s))
	}
	if got, created, _ := s.CreateClient(ctx, dedupClient("dcr_2b", "key-2", now), ""); created || got.ID != "dcr_2" {
		t.Fatalf("the live entry: %s created=%v, want a merge into dcr_2", got.ID, created)
	}
	if _, created, _ := s.CreateClient(ctx, dedupClient("dcr_1b", "key-1", now), ""); !created {
		t.Fatal("the used client's key deduplicated")
	}
}
