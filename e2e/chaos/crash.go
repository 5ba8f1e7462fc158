package main

// The crash run: a mixed write load from many workers, the server killed
// with SIGKILL at a random moment, the database file checked, the server
// restarted, every chain verified, and again.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-dev/gatehouse/store/boltstore"
)

// crashConfig sets up a crash run.
type crashConfig struct {
	Bin      string // the gatehouse binary
	Dir      string // working directory (config, data, logs)
	Kills    int
	Workers  int
	MinDelay time.Duration // load before each kill: uniform in [MinDelay, MaxDelay]
	MaxDelay time.Duration
	Seed     uint64
	// Extra settings, e.g. another store backend.
	Extra settings
	// CheckStore checks the data after each kill (default: bbolt's file).
	CheckStore func(g *gatehouse) error
	Log        func(format string, args ...any)
}

// crashResult is what one run found.
type crashResult struct {
	Kills     int
	Writes    int // acknowledged writes during the load
	Checked   int // acknowledged writes verified after restarts
	Resolved  int // writes in flight at kills, found whole
	Applied   int // of those, found applied
	Lost      int
	Half      int
	Errors    int
	FileCheck int // consistency checks of the database that failed
	Problems  []string
	Breakdown string
	Elapsed   time.Duration
}

// OK reports a clean run.
func (r crashResult) OK() bool {
	return r.Lost == 0 && r.Half == 0 && r.Errors == 0 && r.FileCheck == 0 && r.Kills > 0
}

// Line is the run's one-line summary.
func (r crashResult) Line(backend string) string {
	verdict := "PASS"
	if !r.OK() {
		verdict = "FAIL"
	}
	return fmt.Sprintf("chaos crash %s: backend=%s kills=%d acknowledged_writes=%d checked=%d lost=%d in_flight_resolved=%d (applied %d) half_applied=%d errors=%d db_check_failures=%d elapsed=%s",
		verdict, backend, r.Kills, r.Writes, r.Checked, r.Lost, r.Resolved, r.Applied, r.Half, r.Errors, r.FileCheck, r.Elapsed.Round(time.Second))
}

func runCrash(ctx context.Context, cfg crashConfig) (crashResult, error) {
	start := time.Now()
	if cfg.Log == nil {
		cfg.Log = func(string, ...any) {}
	}
	if cfg.CheckStore == nil {
		cfg.CheckStore = func(g *gatehouse) error { return boltstore.CheckFile(g.dbPath()) }
	}
	extra := append(append(settings{}, dcrSettings...), rsSettings...)
	g, err := newGatehouse(cfg.Bin, cfg.Dir, append(extra, cfg.Extra...))
	if err != nil {
		return crashResult{}, err
	}
	if err := g.addUser(ctx); err != nil {
		return crashResult{}, err
	}
	defer g.kill()
	rng := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))
	t := newTally()
	var killing atomic.Bool
	ag := newAgent(g.base, cfg.Workers)
	adm := &adminAPI{a: newAgent(g.admin, 2), token: g.token}
	workers := make([]*worker, cfg.Workers)
	for i := range workers {
		workers[i] = &worker{id: i, a: ag, b: newBrowser(ag), rng: rand.New(rand.NewPCG(rng.Uint64(), uint64(i))),
			tally: t, killing: killing.Load, maxLive: 6}
	}
	var res crashResult
	for round := 0; round <= cfg.Kills; round++ {
		if err := g.start(ctx); err != nil {
			return res, fmt.Errorf("start %d: %w", round, err)
		}
		ag.forget()
		if round == 0 {
			var others []*browser
			for _, w := range workers[1:] {
				others = append(others, w.b)
			}
			if err := workers[0].b.signIn(ctx, others); err != nil {
				return res, err
			}
		}
		killing.Store(false)
		// Verify everything acknowledged so far, all workers at once.
		if err := eachWorker(workers, func(w *worker) error { return w.verify(ctx, adm) }); err != nil {
			t.fail(fmt.Errorf("verification after restart %d: %w", round, err))
			break
		}
		if round == cfg.Kills {
			break
		}
		// Load, then a kill at a random moment.
		loadCtx, stopLoad := context.WithCancel(ctx)
		var wg sync.WaitGroup
		for _, w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for loadCtx.Err() == nil {
					if err := w.step(loadCtx); err != nil {
						if err != errStop && !killing.Load() {
							t.fail(fmt.Errorf("worker %d: %w", w.id, err))
						}
						return
					}
				}
			}()
		}
		delay := cfg.MinDelay + time.Duration(rng.Int64N(int64(cfg.MaxDelay-cfg.MinDelay)+1))
		select {
		case <-time.After(delay):
		case <-ctx.Done():
		}
		killing.Store(true)
		g.kill()
		stopLoad()
		wg.Wait()
		res.Kills++
		if err := cfg.CheckStore(g); err != nil {
			res.FileCheck++
			t.mu.Lock()
			t.note("DB CHECK after kill %d: %v", res.Kills, err)
			t.mu.Unlock()
		}
		cfg.Log("kill %d after %v: %d acknowledged writes so far, %d checked, %d lost", res.Kills, delay.Round(time.Millisecond), t.totalWrites(), t.checked, t.lost)
		if ctx.Err() != nil {
			break
		}
	}
	g.stop()
	res.Writes, res.Breakdown = t.totalWrites(), t.breakdown()
	t.mu.Lock()
	res.Checked, res.Resolved, res.Applied, res.Lost, res.Half, res.Errors, res.Problems = t.checked, t.resolved, t.applied, t.lost, t.half, t.errors, t.problems
	t.mu.Unlock()
	res.Elapsed = time.Since(start)
	return res, nil
}

// eachWorker runs fn for every worker concurrently and returns the first
// error.
func eachWorker(ws []*worker, fn func(*worker) error) error {
	errs := make(chan error, len(ws))
	for _, w := range ws {
		go func() { errs <- fn(w) }()
	}
	var first error
	for range ws {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// logf prints progress to stderr.
func logf(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
