package boltstore_test

import (
	"context"
	"errors"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/store/boltstore"
	"github.com/gatehouse-dev/gatehouse/store/storetest"
)

// A database written before consents_by_client existed gets the index on
// its next open, and loses the consents to registered clients deleted
// before consents went with their client.
func TestOpenIndexesConsentsOfAnOlderDatabase(t *testing.T) {
	ctx := context.Background()
	clock := storetest.NewClock()
	dir := t.TempDir()
	s, err := boltstore.Open(dir, boltstore.Options{Now: clock.Now, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, client := range []string{"https://app.example/client.json", "static-app", "dcr_gone", "dcr_kept"} {
		if err := s.PutConsent(ctx, store.Consent{UserID: "u1", ClientID: client, Fingerprint: "f"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := s.CreateClient(ctx, store.RegisteredClient{ID: "dcr_kept", ExpiresAt: clock.Now().AddDate(1, 0, 0)}, ""); err != nil {
		t.Fatal(err)
	}
	path := s.Path()
	s.Close()
	// What an older version left: no index.
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error { return tx.DeleteBucket([]byte("consents_by_client")) }); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s, err = boltstore.Open(dir, boltstore.Options{Now: clock.Now, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Check(); err != nil {
		t.Fatalf("after indexing: %v", err)
	}
	if _, err := s.Consent(ctx, "u1", "dcr_gone"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the consent to a deleted client survived: %v", err)
	}
	if list, _ := s.ConsentsByUser(ctx, "u1"); len(list) != 3 {
		t.Fatalf("ConsentsByUser = %d consents, want 3", len(list))
	}
	// The index works: deleting the kept client takes its consent.
	if err := s.DeleteClient(ctx, "dcr_kept"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Consent(ctx, "u1", "dcr_kept"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the consent to a deleted client survived: %v", err)
	}
}
