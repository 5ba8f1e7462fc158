package boltstore

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/gatehouse-dev/gatehouse/store"
)

func dedupClient(id, key string, now time.Time) store.RegisteredClient {
	return store.RegisteredClient{ID: id, RegistrationTokenHash: "rat-" + id, IssuedAt: now, UpdatedAt: now,
		ExpiresAt: now.Add(24 * time.Hour), DedupKey: key}
}

// randomKey is a DedupKey as dcr makes them: hex SHA-256, so random.
func randomKey(t testing.TB) string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b[:])
	return hex.EncodeToString(sum[:])
}

// TestDedupIndexTransactions: a transaction sees its own changes, a
// committed one publishes them, a rolled-back one leaves nothing, and a
// removal only removes the entry of the client named.
func TestDedupIndexTransactions(t *testing.T) {
	d := newDedupIndex()
	d.add("k", "c1")
	if id, ok := d.lookup("k"); !ok || id != "c1" {
		t.Fatalf("own pending change not seen: %q %v", id, ok)
	}
	d.finish(false)
	if _, ok := d.lookup("k"); ok || d.size() != 0 {
		t.Fatal("a rolled-back transaction left an entry")
	}
	d.add("k", "c1")
	d.finish(true)
	d.remove("k", "c2") // another client: the entry stays
	d.finish(true)
	if id, ok := d.lookup("k"); !ok || id != "c1" {
		t.Fatalf("removing another client's entry removed c1's: %q %v", id, ok)
	}
	d.remove("k", "c1")
	if _, ok := d.lookup("k"); ok {
		t.Fatal("pending removal not seen")
	}
	d.finish(false)
	if _, ok := d.lookup("k"); !ok {
		t.Fatal("a rolled-back removal removed the entry")
	}
	d.remove("k", "c1")
	d.finish(true)
	if _, ok := d.lookup("k"); ok || d.size() != 0 {
		t.Fatal("committed removal kept the entry")
	}
}

// TestDedupSurvivesReopen: the index is rebuilt from the log, so an
// identical registration after a restart still merges, and a client
// used before the restart absorbs nothing after it.
func TestDedupSurvivesReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	now := time.Now()
	s, err := Open(dir, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []store.RegisteredClient{dedupClient("dcr_1", "key-a", now), dedupClient("dcr_2", "key-b", now)} {
		if _, created, err := s.CreateClient(ctx, c, ""); err != nil || !created {
			t.Fatal(created, err)
		}
	}
	if err := s.TouchClient(ctx, "dcr_2", now, time.Hour); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err = Open(dir, Options{NoSync: true}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n := s.dedup.size(); n != 1 {
		t.Fatalf("rebuilt index has %d entries, want 1 (dcr_2 is used)", n)
	}
	got, created, err := s.CreateClient(ctx, dedupClient("dcr_3", "key-a", now), "")
	if err != nil || created || got.ID != "dcr_1" {
		t.Fatalf("after reopen: %s created=%v %v; want a merge into dcr_1", got.ID, created, err)
	}
	if _, created, _ := s.CreateClient(ctx, dedupClient("dcr_4", "key-b", now), ""); !created {
		t.Fatal("a client used before the restart absorbed a registration")
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
}

// TestDedupMigratesOldIndex: a file written by an earlier version (a
// DedupKey → client ID bucket) keeps deduplicating, and the old bucket
// goes.
func TestDedupMigratesOldIndex(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	now := time.Now()
	s, err := Open(dir, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.CreateClient(ctx, dedupClient("dcr_old", "key-old", now), ""); err != nil {
		t.Fatal(err)
	}
	// Rewrite the file as an earlier version left it.
	err = s.db.Update(func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket(bucketClientDedupLog); err != nil {
			return err
		}
		old, err := tx.CreateBucket(bucketClientDedupV1)
		if err != nil {
			return err
		}
		return old.Put([]byte("key-old"), []byte("dcr_old"))
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err = Open(dir, Options{NoSync: true}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, created, err := s.CreateClient(ctx, dedupClient("dcr_new", "key-old", now), "")
	if err != nil || created || got.ID != "dcr_old" {
		t.Fatalf("after migration: %s created=%v %v; want a merge into dcr_old", got.ID, created, err)
	}
	s.db.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketClientDedupV1) != nil {
			t.Error("the old index bucket is still there")
		}
		return nil
	})
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
}

// TestRegistrationCommitsWriteFewPages: a registration's dedup entry no
// longer lands on a random page. With thousands of unused clients
// stored, one commit of 64 registrations (distinct, each with a random
// DedupKey, as a group commit carries them) writes a handful of pages;
// the hash-keyed index it replaced added a random leaf per registration,
// and their branch pages.
func TestRegistrationCommitsWriteFewPages(t *testing.T) {
	s, err := Open(t.TempDir(), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Now()
	var seq int
	commit := func() {
		err := s.write(func(tx *bolt.Tx) error {
			for range 64 {
				seq++
				// Time-ordered IDs, as dcr makes them.
				c := dedupClient(fmt.Sprintf("dcr_%012d", seq), randomKey(t), now)
				if _, created, outcome, err := s.createClient(tx, now, c, ""); err != nil || outcome != nil || !created {
					return fmt.Errorf("register %s: created=%v %v %v", c.ID, created, outcome, err)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for range 200 {
		commit()
	}
	pagesWritten := func() int64 { st := s.db.Stats(); return st.TxStats.GetWrite() }
	before := pagesWritten()
	commit()
	if n := pagesWritten() - before; n > 40 {
		t.Fatalf("one commit of 64 registrations wrote %d pages, want a handful (the old index alone wrote one a registration)", n)
	} else {
		t.Logf("one commit of 64 registrations wrote %d pages", n)
	}
	if got := s.dedup.size(); got != 201*64 {
		t.Fatalf("index holds %d entries, want %d", got, 201*64)
	}
}
