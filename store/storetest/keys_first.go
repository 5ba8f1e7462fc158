package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
)

// testFirstSigningKey: instances starting together on an empty store each
// offer a first key; exactly one is stored and it is the only active key,
// so every instance signs with a key all of them publish. Once a key is
// active (or after a rotation) a first key is never added.
func testFirstSigningKey(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	const racers = 8
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		created []string
	)
	for i := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k := store.SigningKey{ID: fmt.Sprintf("first-%d", i), Algorithm: "ES256", PrivateKey: []byte{byte(i)}, CreatedAt: clock.Now()}
			ok, err := s.CreateFirstSigningKey(ctx, k)
			if err != nil {
				t.Error(err)
				return
			}
			if ok {
				mu.Lock()
				created = append(created, k.ID)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(created) != 1 {
		t.Fatalf("%d racing first keys stored (%v), want exactly 1", len(created), created)
	}
	keys, err := s.SigningKeys(ctx)
	if err != nil || len(keys) != 1 || keys[0].ID != created[0] || !keys[0].Active() {
		t.Fatalf("keys = %+v, %v; want only the active %s", keys, err, created[0])
	}
	if _, err := s.CreateFirstSigningKey(ctx, keys[0]); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("the same key again: err = %v, want ErrConflict", err)
	}

	clock.Advance(time.Minute)
	next := store.SigningKey{ID: "rotated", Algorithm: "ES256", PrivateKey: []byte{9}, CreatedAt: clock.Now()}
	if err := s.RotateSigningKey(ctx, next, clock.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	late := store.SigningKey{ID: "late", Algorithm: "ES256", PrivateKey: []byte{10}, CreatedAt: clock.Now()}
	if ok, err := s.CreateFirstSigningKey(ctx, late); ok || err != nil {
		t.Fatalf("a first key after a rotation: stored=%v, %v; want not stored", ok, err)
	}
	if keys, _ := s.SigningKeys(ctx); len(keys) != 2 || keys[0].ID != "rotated" {
		t.Fatalf("keys after the late first key = %+v, want rotated and the retired first", keys)
	}

	// A key published ahead, not signing yet, is the active key too: no
	// first key beside it.
	clock.Advance(2 * time.Hour)
	if err := s.RotateSigningKey(ctx, store.SigningKey{ID: "r2", Algorithm: "ES256", PrivateKey: []byte{11}, CreatedAt: clock.Now(),
		ActivatesAt: clock.Now().Add(time.Minute)}, clock.Now().Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.CreateFirstSigningKey(ctx, late); ok || err != nil {
		t.Fatalf("a first key while a published-ahead key is active: stored=%v, %v; want not stored", ok, err)
	}
}
