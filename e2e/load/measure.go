package main

// Running an operation from many clients at once and reporting throughput
// and latency percentiles.

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

var errExhausted = fmt.Errorf("out of codes")

type result struct {
	n, errs   int64
	elapsed   time.Duration
	latencies []time.Duration
	firstErr  string
}

func run(op func(int64) error) result {
	ctx, cancel := context.WithTimeout(context.Background(), *duration)
	defer cancel()
	var n, errs, seq atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for range *conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, 4096)
			for ctx.Err() == nil {
				t0 := time.Now()
				err := op(seq.Add(1) - 1)
				if err == errExhausted {
					cancel()
					break
				}
				local = append(local, time.Since(t0))
				n.Add(1)
				if err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				}
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	r := result{n: n.Load(), errs: errs.Load(), elapsed: time.Since(start), latencies: lat}
	if e, ok := firstErr.Load().(string); ok {
		r.firstErr = e
	}
	return r
}

func report(r result) {
	sort.Slice(r.latencies, func(i, j int) bool { return r.latencies[i] < r.latencies[j] })
	pct := func(p float64) time.Duration {
		if len(r.latencies) == 0 {
			return 0
		}
		return r.latencies[int(p*float64(len(r.latencies)-1))]
	}
	fmt.Printf("%s: %d requests in %v, %.0f req/s, p50 %v, p99 %v, errors %d\n", *mode, r.n, r.elapsed.Round(time.Millisecond),
		float64(r.n)/r.elapsed.Seconds(), pct(0.5).Round(time.Microsecond), pct(0.99).Round(time.Microsecond), r.errs)
	if r.firstErr != "" {
		fmt.Println("first error:", r.firstErr)
	}
}
