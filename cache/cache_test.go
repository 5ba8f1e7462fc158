package cache

import (
	"fmt"
	"slices"
	"testing"
	"testing/synctest"
	"time"
)

func newTestCache[V any](t *testing.T, cfg Config) *Cache[V] {
	t.Helper()
	c, err := New[V](cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func TestNewRefusesZeroBudget(t *testing.T) {
	if _, err := New[string](Config{}); err == nil {
		t.Fatal("New accepted MaxCost 0")
	}
	if _, err := New[string](Config{MaxCost: -1}); err == nil {
		t.Fatal("New accepted a negative MaxCost")
	}
}

func TestSetWaitGet(t *testing.T) {
	c := newTestCache[string](t, Config{MaxCost: 1 << 20})
	if _, ok := c.Get("k"); ok {
		t.Fatal("hit on an empty cache")
	}
	if !c.Set("k", "v", 10, 0) {
		t.Fatal("Set dropped on an empty cache")
	}
	c.Wait()
	v, ok := c.Get("k")
	if !ok || v != "v" {
		t.Fatalf("Get = %q, %v; want v, true", v, ok)
	}
	c.Set("k", "v2", 10, 0)
	c.Wait()
	if v, _ := c.Get("k"); v != "v2" {
		t.Fatalf("update not visible: %q", v)
	}
	c.Del("k")
	if _, ok := c.Get("k"); ok {
		t.Fatal("hit after Del")
	}
	s := c.Stats()
	if s.Hits != 2 || s.Misses != 2 || s.KeysAdded != 1 || s.KeysUpdated != 1 {
		t.Fatalf("stats = %+v; want 2 hits, 2 misses, 1 added, 1 updated", s)
	}
	if got := s.HitRatio(); got != 0.5 {
		t.Fatalf("hit ratio %v; want 0.5", got)
	}
}

// TTLs are ristretto's (wall clock); synctest's fake clock makes the test
// instant and exact.
func TestTTLExpires(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, err := New[int](Config{MaxCost: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Set("short", 1, 1, 10*time.Second)
		c.Set("long", 2, 1, time.Hour)
		c.Set("forever", 3, 1, 0)
		if c.Set("negative", 4, 1, -time.Second) {
			t.Fatal("a negative TTL must store nothing")
		}
		c.Wait()
		time.Sleep(11 * time.Second)
		if _, ok := c.Get("short"); ok {
			t.Fatal("item served after its TTL")
		}
		for _, k := range []string{"long", "forever"} {
			if _, ok := c.Get(k); !ok {
				t.Fatalf("%s expired early", k)
			}
		}
		if _, ok := c.Get("negative"); ok {
			t.Fatal("negative TTL item stored")
		}
	})
}

func TestCostBoundsMemory(t *testing.T) {
	const budget = 10_000
	c := newTestCache[[]byte](t, Config{MaxCost: budget, ExpectedEntries: 100})
	for i := range 100 {
		c.Set(fmt.Sprint("k", i), make([]byte, 1000), 1000, 0)
		c.Wait()
	}
	s := c.Stats()
	if s.CostUsed > budget {
		t.Fatalf("cost used %d exceeds the %d byte budget", s.CostUsed, budget)
	}
	if n := c.Len(); n > 10 || n == 0 {
		t.Fatalf("%d items of 1000 bytes live in a 10000 byte cache", n)
	}
	if s.KeysEvicted+s.SetsRejected == 0 {
		t.Fatalf("nothing evicted or rejected: %+v", s)
	}
}

// The CIMD default budget (256 MiB) must hold 100,000 documents of a few KB
// without thrashing: every one of them stays.
func TestHoldsHundredThousandDocuments(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates ~150 MB")
	}
	c := newTestCache[[]byte](t, Config{MaxCost: 256 << 20, ExpectedEntries: 200_000})
	doc := make([]byte, 1500)
	const n = 100_000
	for i := range n {
		// The cost models a few-KB document plus its parsed form.
		c.Set(fmt.Sprintf("https://client%d.example/oauth/client.json", i), doc, 2500, time.Hour)
		if i%1000 == 999 {
			c.Wait() // a real server sees sets spread over time
		}
	}
	c.Wait()
	if got := c.Len(); got != n {
		t.Fatalf("cache holds %d of %d documents (stats %+v)", got, n, c.Stats())
	}
	if s := c.Stats(); s.KeysEvicted != 0 || s.SetsRejected != 0 {
		t.Fatalf("thrashing under budget: %+v", s)
	}
}

func TestValuesAndClear(t *testing.T) {
	c := newTestCache[string](t, Config{MaxCost: 1 << 20})
	for _, k := range []string{"a", "b", "c"} {
		c.Set(k, "v"+k, 1, 0)
	}
	c.Wait()
	var got []string
	for v := range c.Values() {
		got = append(got, v)
	}
	slices.Sort(got)
	if !slices.Equal(got, []string{"va", "vb", "vc"}) {
		t.Fatalf("Values = %v", got)
	}
	for range c.Values() {
		break // early stop must not panic or deadlock
	}
	c.Clear()
	if c.Len() != 0 {
		t.Fatal("Clear left items")
	}
	c.Set("d", "vd", 1, 0)
	c.Wait()
	if v, ok := c.Get("d"); !ok || v != "vd" {
		t.Fatal("cache unusable after Clear")
	}
}

func TestClosedCacheIsInert(t *testing.T) {
	c, err := New[string](Config{MaxCost: 100})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	c.Close()
	if c.Set("k", "v", 1, 0) {
		t.Fatal("Set on a closed cache reported success")
	}
	if _, ok := c.Get("k"); ok {
		t.Fatal("Get on a closed cache hit")
	}
	c.Wait()
	c.Del("k")
}

func BenchmarkGetHit(b *testing.B) {
	c, _ := New[*string](Config{MaxCost: 1 << 20})
	defer c.Close()
	v := "value"
	c.Set("https://claude.ai/oauth/claude-code-client-metadata", &v, 1, 0)
	c.Wait()
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := c.Get("https://claude.ai/oauth/claude-code-client-metadata"); !ok {
			b.Fatal("miss")
		}
	}
}
