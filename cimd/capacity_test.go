package cimd

import (
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/policy"
)

// The cache budget is only a memory bound if a document's cost is at least
// what it really keeps alive. Measure it on the real documents.
func TestDocumentCostCoversRetainedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("measures the heap")
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "vendor", "*.json"))
	for _, file := range files {
		body, id := vendorDoc(t, filepath.Base(file))
		const n = 500
		keep := make([]*resource[*clientDoc], n)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for i := range n {
			val, err := ValidateDocument(body, id, id, policy.RedirectSameSite)
			if err != nil {
				t.Fatal(err)
			}
			keep[i] = &resource[*clientDoc]{key: id, value: &clientDoc{client: val.Client, dropped: val.DroppedRedirects,
				keys: val.Keys}, expiresAt: time.Now(), etag: `"0123456789abcdef"`}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		retained := int64(after.HeapAlloc-before.HeapAlloc) / n
		runtime.KeepAlive(keep)
		if cost := docCost(int64(len(body))); retained > cost {
			t.Errorf("%s: keeps %d bytes per cached document but costs %d", filepath.Base(file), retained, cost)
		}
	}
}

// The default budget holds 100,000 documents as large as the largest real
// one (the cache package's test shows ristretto keeps every item while the
// sum of costs is under the budget).
func TestDefaultBudgetHoldsHundredThousandDocuments(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "vendor", "*.json"))
	largest := 0
	for _, file := range files {
		body, _ := vendorDoc(t, filepath.Base(file))
		largest = max(largest, len(body))
	}
	need := 100_000 * docCost(int64(largest))
	if budget := DefaultConfig().Cache.MaxBytes; need > budget {
		t.Fatalf("100,000 documents of %d bytes cost %d; the default budget is %d", largest, need, budget)
	}
}
