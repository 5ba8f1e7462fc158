package pgstore_test

import (
	"context"
	"sync"
	"testing"

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
