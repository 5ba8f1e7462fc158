package main

// The soak: the crash run's flows plus CIMD clients whose hosts come and
// go, against one server for a long time, sampled every few seconds.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-dev/gatehouse/store/boltstore"
)

type soakConfig struct {
	Bin      string
	Dir      string
	Duration time.Duration
	Interval time.Duration // between samples
	Workers  int
	Think    time.Duration // pause between one worker's operations
	Phase    time.Duration // how long each metadata host keeps a behaviour
	Log      func(format string, args ...any)
}

type soakResult struct {
	Duration   time.Duration
	Requests   int64
	FiveXX     int64
	Unexpected int64
	Refusals   int64 // expected refusals: CIMD clients whose host was failing
	P50, P99   time.Duration
	Samples    []sample
	Verdicts   []growthVerdict
	Problems   []string
	ExitCode   int   // of the graceful stop
	DBCheck    error // the database file's check after the stop
	CSV, SVG   string
}

func (r soakResult) OK() bool {
	if r.FiveXX != 0 || r.Unexpected != 0 || r.ExitCode != 0 || r.DBCheck != nil || len(r.Verdicts) == 0 {
		return false
	}
	for _, v := range r.Verdicts {
		if !v.OK() {
			return false
		}
	}
	return true
}

func (r soakResult) Line() string {
	verdict := "PASS"
	if !r.OK() {
		verdict = "FAIL"
	}
	first, last := sample{}, sample{}
	if n := len(r.Samples); n > 0 {
		first, last = r.Samples[0], r.Samples[n-1]
	}
	mib := func(b int64) float64 { return float64(b) / (1 << 20) }
	return fmt.Sprintf("chaos soak %s: duration=%s requests=%d (%.0f/s) 5xx=%d unexpected=%d expected_refusals=%d p50=%s p99=%s rss=%.1f->%.1fMiB rss_anon=%.1f->%.1fMiB goroutines=%d->%d fds=%d->%d",
		verdict, r.Duration.Round(time.Second), r.Requests, float64(r.Requests)/max(r.Duration.Seconds(), 1), r.FiveXX, r.Unexpected, r.Refusals,
		r.P50.Round(10*time.Microsecond), r.P99.Round(10*time.Microsecond), mib(first.RSS), mib(last.RSS), mib(first.RSS-first.RSSFile), mib(last.RSS-last.RSSFile),
		first.Goroutines, last.Goroutines, first.FDs, last.FDs)
}

// soakSettings: short lifetimes, so that the sweeper has work all along
// and the database reaches its working size within the warm-up: nothing
// lives longer than 11 minutes (authorization codes are remembered 11
// minutes, grants end after 10, idle clients after 10).
func soakSettings() settings {
	return settings{
		"dcr:\n  rate_limit_per_ip: 100000000\n  rate_limit_global: 100000000\n  unused_client_ttl: 5m\n  idle_client_ttl: 10m",
		"tokens:\n  access_token_ttl: 2m\n  refresh_token_idle_ttl: 5m\n  refresh_token_max_ttl: 10m",
	}
}

func runSoak(ctx context.Context, cfg soakConfig) (soakResult, error) {
	if cfg.Log == nil {
		cfg.Log = func(string, ...any) {}
	}
	hosts, err := startDocHosts(cfg.Dir, []string{hostSteady, hostSlow, hostFlaky, hostChanging}, cfg.Log)
	if err != nil {
		return soakResult{}, err
	}
	defer hosts.close()
	hosts.run(cfg.Phase)
	extra := append(append(soakSettings(), rsSettings...), hosts.cimdSettings()...)
	g, err := newGatehouse(cfg.Bin, cfg.Dir, extra)
	if err != nil {
		return soakResult{}, err
	}
	if err := g.addUser(ctx); err != nil {
		return soakResult{}, err
	}
	defer g.kill()
	if err := g.start(ctx); err != nil {
		return soakResult{}, err
	}
	st := newStats()
	ag := newAgent(g.base, cfg.Workers)
	ag.observe = st.observe
	var refusals atomic.Int64
	workers := make([]*worker, cfg.Workers)
	for i := range workers {
		workers[i] = &worker{id: i, a: ag, b: newBrowser(ag), rng: rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(i))),
			tally: newTally(), killing: func() bool { return false }, maxLive: 4}
	}
	var others []*browser
	for _, w := range workers[1:] {
		others = append(others, w.b)
	}
	if err := workers[0].b.signIn(ctx, others); err != nil {
		return soakResult{}, err
	}

	start := time.Now()
	loadCtx, stopLoad := context.WithTimeout(ctx, cfg.Duration)
	defer stopLoad()
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for loadCtx.Err() == nil {
				err := w.soakStep(loadCtx, hosts, &refusals)
				if err != nil && loadCtx.Err() == nil {
					st.unexpected(fmt.Errorf("worker %d: %w", w.id, err))
				}
				select {
				case <-loadCtx.Done():
				case <-time.After(cfg.Think):
				}
			}
		}()
	}
	sp := &sampler{g: g, admin: newAgent(g.admin, 2), start: start, st: st}
	var samples []sample
	var sampleErr error
	last := start
	tick := time.NewTicker(cfg.Interval)
	for done := false; !done; {
		select {
		case <-loadCtx.Done():
			done = true
			continue // no sample while the load winds down
		case <-tick.C:
		}
		s, err := sp.take(ctx)
		if err != nil {
			sampleErr = err
			break
		}
		if loadCtx.Err() != nil {
			break // the load ended while sampling: not a sample of the load
		}
		s.interval, last = time.Since(last).Seconds(), time.Now()
		samples = append(samples, s)
		if len(samples)%max(1, int(time.Minute/cfg.Interval)) == 0 {
			cfg.Log("soak %s: rss %.1f MiB, heap %.1f MiB, goroutines %d, fds %d, p99 %v, %d requests, %d errors",
				time.Since(start).Round(time.Second), float64(s.RSS)/(1<<20), float64(s.HeapInuse)/(1<<20), s.Goroutines, s.FDs, s.P99, s.Requests, s.Errors)
		}
	}
	tick.Stop()
	stopLoad()
	wg.Wait()
	res := soakResult{Duration: time.Since(start), Samples: samples, Refusals: refusals.Load()}
	g.stop()
	res.ExitCode = g.exitCode()
	res.DBCheck = boltstore.CheckFile(g.dbPath())
	st.mu.Lock()
	res.Requests, res.FiveXX, res.Problems = st.total, st.fivexx, st.problems
	res.P50, res.P99 = percentile(st.all, 0.50), percentile(st.all, 0.99)
	res.Unexpected = st.unexpectedN
	st.mu.Unlock()
	if sampleErr != nil {
		res.Problems = append(res.Problems, "sampling: "+sampleErr.Error())
		res.Unexpected++
	}
	res.Verdicts = judge(samples)
	res.CSV, res.SVG = filepath.Join(cfg.Dir, "soak.csv"), filepath.Join(cfg.Dir, "soak.svg")
	if err := writeCSV(res.CSV, samples); err != nil {
		return res, err
	}
	title := fmt.Sprintf("Gatehouse soak: %s, %d requests, %d 5xx, %d unexpected", res.Duration.Round(time.Second), res.Requests, res.FiveXX, res.Unexpected)
	return res, writeChart(res.SVG, title, samples, res.Verdicts)
}

// soakStep is one operation of the soak's mix.
func (w *worker) soakStep(ctx context.Context, hosts *docHosts, refusals *atomic.Int64) error {
	switch r := w.rng.IntN(100); {
	case r < 60:
		err := w.step(ctx)
		w.prune()
		return err
	case r < 85:
		return w.cimdFlow(ctx, hosts, refusals)
	default:
		return w.reads(ctx)
	}
}

// prune forgets retired chains: the soak verifies nothing after the fact.
func (w *worker) prune() {
	kept := w.chains[:0]
	for _, c := range w.chains {
		if !c.retired {
			kept = append(kept, c)
		}
	}
	w.chains = kept
}

// cimdFlow authorizes a CIMD client, redeems the code and refreshes once.
// A client of the steady host must always succeed; the others may be
// refused (4xx) while their host fails, never answered with a 5xx.
func (w *worker) cimdFlow(ctx context.Context, hosts *docHosts, refusals *atomic.Int64) error {
	h, k := hosts.pick(w.rng)
	c := &chain{id: h.clientID(k), name: h.kind}
	if h.kind != hostSteady {
		ctx = context.WithValue(ctx, waitsOnHostKey{}, true)
	}
	refused := func(err error) error {
		var ue *errUnexpected
		if h.kind != hostSteady && errors.As(err, &ue) && ue.a.err == nil && ue.a.status >= 400 && ue.a.status < 500 {
			refusals.Add(1)
			return nil
		}
		return fmt.Errorf("CIMD client on the %s host: %w", h.kind, err)
	}
	verifier, challenge := pkce()
	az, err := w.b.authorize(ctx, c, challenge)
	if err != nil {
		return refused(err)
	}
	if az.stage != "" {
		return refused(unexpected("authorize", az.last))
	}
	an := w.a.exchange(ctx, c, az.code, verifier)
	if an.inFlight() || an.status != http.StatusOK {
		return refused(unexpected("CIMD exchange", an))
	}
	if w.rng.IntN(2) == 0 {
		return nil
	}
	an = w.a.refresh(ctx, c, an.str("refresh_token"))
	if an.inFlight() || an.status != http.StatusOK {
		return refused(unexpected("CIMD refresh", an))
	}
	return nil
}

// reads are what resource servers and clients fetch most: metadata, keys,
// introspection.
func (w *worker) reads(ctx context.Context) error {
	for _, p := range []string{"/.well-known/oauth-authorization-server", "/jwks.json"} {
		req, _ := http.NewRequest(http.MethodGet, w.a.base+p, nil)
		if an := w.a.do(ctx, "read", req, nil); an.inFlight() || an.status != http.StatusOK {
			return unexpected("GET "+p, an)
		}
	}
	for _, c := range w.chains {
		if c.accessLive && time.Until(c.accessExp) > 5*time.Second {
			an := w.a.introspectRS(ctx, c.access)
			if active, ok := activeIn(an); !ok || !active {
				return unexpected("introspect a live access token", an)
			}
			break
		}
	}
	return nil
}

func soakMain(ctx context.Context, args []string) bool {
	fs := flag.NewFlagSet("soak", flag.ExitOnError)
	d := fs.Duration("d", 30*time.Minute, "how long to run")
	interval := fs.Duration("interval", 5*time.Second, "time between samples")
	workers := fs.Int("workers", 16, "concurrent clients")
	think := fs.Duration("think", 5*time.Millisecond, "pause between one client's operations")
	phase := fs.Duration("phase", 10*time.Second, "how long a metadata host keeps one behaviour")
	dir := fs.String("dir", "", "working directory: config, data, logs, soak.csv, soak.svg (default: a new temporary one)")
	bin := fs.String("gatehouse", "", "gatehouse binary (default: go build ./cmd/gatehouse)")
	_ = fs.Parse(args)
	wd := workDir(*dir, "gatehouse-chaos-soak-")
	logf("chaos soak: %s, working directory %s", *d, wd)
	res, err := runSoak(ctx, soakConfig{Bin: binary(ctx, *bin, wd), Dir: wd, Duration: *d, Interval: *interval, Workers: *workers,
		Think: *think, Phase: *phase, Log: logf})
	if err != nil {
		fatal(err)
	}
	reportSoak(res, logf)
	fmt.Println(res.Line())
	return res.OK()
}

// reportSoak logs the problems, the verdicts and where the files are.
func reportSoak(res soakResult, log func(string, ...any)) {
	for _, p := range res.Problems {
		log("  %s", p)
	}
	for _, v := range res.Verdicts {
		log("  %s", v)
	}
	if res.ExitCode != 0 {
		log("  graceful stop exited %d", res.ExitCode)
	}
	if res.DBCheck != nil {
		log("  database check: %v", res.DBCheck)
	}
	log("samples: %s; chart: %s", res.CSV, res.SVG)
}
