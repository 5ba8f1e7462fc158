package server

import (
	"context"
	"crypto/rand"
	"sync"
	"testing"

	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/store/pgstore"
	"github.com/gatehouse-dev/gatehouse/store/pgstore/pgtest"
	"github.com/gatehouse-dev/gatehouse/store/storetest"
)

// Instances starting together on an empty PostgreSQL database sign with
// one key: before, each created a key of its own, and a token signed on
// one was refused by another that had not loaded that key yet (seen as an
// e2e introspection of a fresh token answering active:false).
func TestInstancesStartingTogetherShareTheFirstKey(t *testing.T) {
	url := pgtest.NewDatabase(t)
	clock := storetest.NewClock()
	const instances = 4
	stores := make([]store.Store, instances)
	for i := range stores {
		st, err := pgstore.Open(context.Background(), pgstore.Options{URL: url, Now: clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		stores[i] = st
	}
	ids := make([]string, instances)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, st := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			ks, err := LoadKeySet(context.Background(), st, clock.Now, rand.Reader)
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = ks.ActiveKeyID()
		}()
	}
	close(start)
	wg.Wait()
	for i := range ids {
		if ids[i] == "" || ids[i] != ids[0] {
			t.Fatalf("instances sign with different keys: %q", ids)
		}
	}
	keys, err := stores[0].SigningKeys(context.Background())
	if err != nil || len(keys) != 1 {
		t.Fatalf("stored keys = %d, %v; want exactly the one shared key", len(keys), err)
	}
}
