package benchcpu

import (
	"crypto/sha256"
	"testing"
)

// TestCPUTimeAdvances: burning CPU moves the clock the metric reads.
func TestCPUTimeAdvances(t *testing.T) {
	before := cpuTime()
	sum := sha256.Sum256(nil)
	for i := 0; i < 200000; i++ {
		sum = sha256.Sum256(sum[:])
	}
	if after := cpuTime(); after <= before {
		t.Fatalf("CPU time did not advance: %v then %v (sum %x)", before, after, sum[:2])
	}
}

func BenchmarkStart(b *testing.B) {
	stop := Start(b)
	for b.Loop() {
		sha256.Sum256([]byte("x"))
	}
	stop()
}
