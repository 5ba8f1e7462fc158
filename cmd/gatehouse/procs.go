package main

import (
	"log/slog"
	"runtime"
	"strings"
)

// minProcs is the fewest Go processors serve runs with.
//
// Why: every durable write ends in fdatasync, which blocks an OS thread
// for a fraction of a millisecond to several milliseconds. With
// GOMAXPROCS=1 (one CPU, or a container limited to one CPU) the blocked
// thread keeps the only processor until the runtime's monitor takes it
// back, and meanwhile no request is parsed and the network is not polled.
// Measured on one pinned core (e2e/load, authorize with a code write):
// 6.3k req/s with p99 50 ms at GOMAXPROCS=1, 13.6k req/s with p99 10 ms at
// 2. A second processor only runs while the first waits on the disk, so it
// adds no CPU demand of its own.
const minProcs = 2

// ensureProcs raises GOMAXPROCS to minProcs unless the operator chose a
// value through the GOMAXPROCS environment variable.
func ensureProcs(environ []string, log *slog.Logger) {
	for _, kv := range environ {
		if strings.HasPrefix(kv, "GOMAXPROCS=") {
			return
		}
	}
	if n := runtime.GOMAXPROCS(0); n < minProcs {
		runtime.GOMAXPROCS(minProcs)
		log.Debug("raised GOMAXPROCS so disk syncs do not stall request handling", "from", n, "to", minProcs)
	}
}
