package main

import (
	"io"
	"log/slog"
	"runtime"
	"testing"
)

func TestEnsureProcs(t *testing.T) {
	was := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(was)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

	ensureProcs([]string{"GOMAXPROCS=1", "HOME=/root"}, log)
	if got := runtime.GOMAXPROCS(0); got != 1 {
		t.Fatalf("operator's GOMAXPROCS=1 overridden: now %d", got)
	}
	ensureProcs([]string{"HOME=/root"}, log)
	if got := runtime.GOMAXPROCS(0); got != minProcs {
		t.Fatalf("GOMAXPROCS = %d, want the floor %d", got, minProcs)
	}
	runtime.GOMAXPROCS(8)
	ensureProcs(nil, log)
	if got := runtime.GOMAXPROCS(0); got != 8 {
		t.Fatalf("GOMAXPROCS lowered to %d; a floor must never lower it", got)
	}
}
