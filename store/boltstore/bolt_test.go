package boltstore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/store/boltstore"
	"github.com/gatehouse-dev/gatehouse/store/storetest"
)

// openTest opens a store in a fresh temp dir and checks the file's
// consistency when the test ends.
func openTest(t *testing.T, clock *storetest.Clock) *boltstore.Store {
	t.Helper()
	s, err := boltstore.Open(t.TempDir(), boltstore.Options{Now: clock.Now, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Check(); err != nil {
			t.Errorf("consistency check: %v", err)
		}
		s.Close()
	})
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, clock *storetest.Clock) store.Store {
		return openTest(t, clock)
	})
}

func TestSecondOpenFailsFastWithClearError(t *testing.T) {
	dir := t.TempDir()
	first, err := boltstore.Open(dir, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	start := time.Now()
	_, err = boltstore.Open(dir, boltstore.Options{LockTimeout: 100 * time.Millisecond})
	if !errors.Is(err, store.ErrLocked) {
		t.Fatalf("second open: err = %v, want ErrLocked", err)
	}
	if want := "is another gatehouse running?"; !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q does not say %q", err, want)
	}
	// Far above the 100 ms lock timeout and far below forever: a loaded
	// machine cannot fail it, an open that ignores the timeout does.
	if elapsed := time.Since(start); elapsed > time.Minute {
		t.Fatalf("second open took %v; it must not hang", elapsed)
	}
}

func TestDataSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s, err := boltstore.Open(dir, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := s.RotateSigningKey(ctx, store.SigningKey{ID: "kid1", Algorithm: "ES256", PrivateKey: []byte("pk"), CreatedAt: now}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUser(ctx, store.User{ID: "u1", Name: "alice", PasswordHash: "h"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = boltstore.Open(dir, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	keys, err := s.SigningKeys(ctx)
	if err != nil || len(keys) != 1 || keys[0].ID != "kid1" || string(keys[0].PrivateKey) != "pk" {
		t.Fatalf("keys after reopen = %+v, %v", keys, err)
	}
	if u, err := s.UserByName(ctx, "alice"); err != nil || u.ID != "u1" {
		t.Fatalf("user after reopen = %+v, %v", u, err)
	}
	info, err := os.Stat(filepath.Join(dir, boltstore.FileName))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("db file mode = %v, %v; want 0600", info.Mode(), err)
	}
}

func TestRefusesNewerSchema(t *testing.T) {
	dir := t.TempDir()
	s, err := boltstore.Open(dir, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, err := bolt.Open(filepath.Join(dir, boltstore.FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("meta")).Put([]byte("schema_version"), []byte("99"))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := boltstore.Open(dir, boltstore.Options{}); !errors.Is(err, store.ErrSchemaTooNew) {
		t.Fatalf("open newer schema: err = %v, want ErrSchemaTooNew", err)
	}
}
