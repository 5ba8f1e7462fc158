package benchcpu

import (
	"syscall"
	"testing"
	"time"
)

// Start records the process's CPU time; the returned function reports the
// CPU time spent since, divided by b.N, as the metric cpu-ns/op. Call it
// after the benchmark's setup (with or after b.ResetTimer) and call the
// result after the measured loop:
//
//	stop := benchcpu.Start(b)
//	b.RunParallel(...)
//	stop()
func Start(b *testing.B) func() {
	start := cpuTime()
	return func() {
		if b.N > 0 {
			b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
		}
	}
}

// cpuTime is the user and system time of every thread of this process.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
