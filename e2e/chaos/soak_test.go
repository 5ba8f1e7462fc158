//go:build chaos

package main

import (
	"context"
	"testing"
	"time"
)

// TestSoak is `make soak`: SOAK (default 60 s, the CI form) of mixed load
// with CIMD hosts coming and going. It fails on any 5xx, any unexpected
// answer, an unclean stop, a database that fails its check, or growth by
// the rule in growth.go. soak.csv and soak.svg go to
// e2e/chaos/artifacts/TestSoak.
func TestSoak(t *testing.T) {
	d := envDuration(t, "SOAK", time.Minute)
	interval := 5 * time.Second
	if d < 5*time.Minute {
		interval = 2 * time.Second
	}
	dir := artifacts(t)
	res, err := runSoak(context.Background(), soakConfig{Bin: gatehouseBin, Dir: dir, Duration: d, Interval: interval,
		Workers: 16, Think: 5 * time.Millisecond, Phase: 10 * time.Second, Log: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	reportSoak(res, t.Logf)
	t.Log(res.Line())
	if !res.OK() {
		t.Fatal(res.Line())
	}
	if res.Refusals == 0 {
		t.Fatal("no CIMD client was ever refused: the failing hosts never failed")
	}
}
