package boltstore_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/store/boltstore"
	"github.com/gatehouse-dev/gatehouse/store/storetest"
)

// populated writes one of each indexed record through the store's API and
// closes it, returning the database file.
func populated(t *testing.T) string {
	t.Helper()
	clock := storetest.NewClock()
	dir := t.TempDir()
	s, err := boltstore.Open(dir, boltstore.Options{Now: clock.Now, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	now := clock.Now()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.CreateUser(ctx, store.User{ID: "usr_1", Name: "alice", PasswordHash: "h", CreatedAt: now, UpdatedAt: now}))
	must(s.CreateSession(ctx, store.Session{ID: "sess1", UserID: "usr_1", AuthTime: now, ExpiresAt: now.Add(time.Hour)}))
	must(s.CreateCode(ctx, store.AuthCode{ID: "code1", ClientID: "c1", UserID: "usr_1", Resources: []string{"https://rs.example/mcp"},
		IssuedAt: now, ExpiresAt: now.Add(time.Minute), KeepUntil: now.Add(10 * time.Minute)}))
	must(s.RedeemCode(ctx, "code1", now, store.Grant{ID: "g1", ClientID: "c1", UserID: "usr_1", Resources: []string{"https://rs.example/mcp"},
		CreatedAt: now, ExpiresAt: now.Add(24 * time.Hour)}, store.RefreshToken{ID: "rt1", ExpiresAt: now.Add(time.Hour), CreatedAt: now}))
	must(s.Close())
	return filepath.Join(dir, boltstore.FileName)
}

func TestCheckFilePassesAHealthyDatabase(t *testing.T) {
	if err := boltstore.CheckFile(populated(t)); err != nil {
		t.Fatalf("a database written through the API fails its check: %v", err)
	}
}

// Each corruption is what a write that half-happened would leave; the
// check must name it.
func TestCheckFileFindsHalfWrites(t *testing.T) {
	tests := []struct {
		name    string
		corrupt func(tx *bolt.Tx) error
		want    string
	}{
		{"grant without its by-user entry", func(tx *bolt.Tx) error {
			return tx.Bucket([]byte("grants_by_user")).Delete([]byte("usr_1\x00g1"))
		}, `grants "g1": missing from grants_by_user`},
		{"by-client entry without its grant", func(tx *bolt.Tx) error {
			return tx.Bucket([]byte("grants_by_client")).Put([]byte("c1\x00g-gone"), nil)
		}, `grants_by_client "c1\x00g-gone": no grants record`},
		{"session without its expiry entry", func(tx *bolt.Tx) error {
			c := tx.Bucket([]byte("expiry")).Cursor()
			for k, _ := c.First(); k != nil; k, _ = c.Next() {
				if strings.Contains(string(k), "sessions\x00sess1") {
					return tx.Bucket([]byte("expiry")).Delete(k)
				}
			}
			t.Fatal("no expiry entry for the session")
			return nil
		}, `sessions "sess1": expires but is missing from the expiry index`},
		{"expiry entry without its record", func(tx *bolt.Tx) error {
			return tx.Bucket([]byte("refresh_tokens")).Delete([]byte("rt1"))
		}, `expiry index: entry for refresh_tokens "rt1" has no record`},
		{"record that is not JSON", func(tx *bolt.Tx) error {
			return tx.Bucket([]byte("users")).Put([]byte("usr_1"), []byte("\x00\x00\x00\x00\x00\x00\x00\x00{half"))
		}, `users "usr_1": the record is not valid JSON`},
		{"user name pointing nowhere", func(tx *bolt.Tx) error {
			return tx.Bucket([]byte("users_by_name")).Put([]byte("bob"), []byte("usr_gone"))
		}, `users_by_name "bob": user "usr_gone" is missing`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := populated(t)
			db, err := bolt.Open(path, 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := db.Update(tt.corrupt); err != nil {
				t.Fatal(err)
			}
			db.Close()
			err = boltstore.CheckFile(path)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("CheckFile = %v, want a problem containing %q", err, tt.want)
			}
		})
	}
}

func TestCheckFileNamesAMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.db")
	if err := boltstore.CheckFile(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("CheckFile of a missing file = %v", err)
	}
}
