package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var ok bool
	switch os.Args[1] {
	case "crash":
		ok = crashMain(ctx, os.Args[2:])
	case "soak":
		ok = soakMain(ctx, os.Args[2:])
	case "chart":
		ok = chartMain(os.Args[2:])
	default:
		usage()
	}
	if !ok {
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: chaos crash [-kills N] [-workers N] | chaos soak [-d DURATION] | chaos chart -csv soak.csv -o soak.svg (see -h of each)")
	os.Exit(2)
}

// workDir is -dir, or a fresh temporary directory kept for inspection.
func workDir(dir, prefix string) string {
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", prefix); err != nil {
			fatal(err)
		}
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		fatal(err)
	}
	return dir
}

func binary(ctx context.Context, bin, dir string) string {
	if bin != "" {
		return bin
	}
	b, err := buildGatehouse(ctx, dir)
	if err != nil {
		fatal(err)
	}
	return b
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "chaos:", err)
	os.Exit(2)
}

func crashMain(ctx context.Context, args []string) bool {
	fs := flag.NewFlagSet("crash", flag.ExitOnError)
	kills := fs.Int("kills", 20, "SIGKILLs (and restarts) in the run")
	workers := fs.Int("workers", 16, "concurrent clients")
	minDelay := fs.Duration("min-delay", 300*time.Millisecond, "least load before a kill")
	maxDelay := fs.Duration("max-delay", 2500*time.Millisecond, "most load before a kill")
	seed := fs.Uint64("seed", uint64(time.Now().UnixNano()), "random seed (kill moments, operations)")
	dir := fs.String("dir", "", "working directory (default: a new temporary one, kept)")
	bin := fs.String("gatehouse", "", "gatehouse binary (default: go build ./cmd/gatehouse)")
	backend := fs.String("backend", "bolt", "store backend: bolt, or postgres (a throwaway cluster in the working directory)")
	_ = fs.Parse(args)
	d := workDir(*dir, "gatehouse-chaos-crash-")
	cfg := crashConfig{Bin: binary(ctx, *bin, d), Dir: d, Kills: *kills, Workers: *workers, MinDelay: *minDelay, MaxDelay: *maxDelay,
		Seed: *seed, Log: logf}
	stopBackend, err := applyBackend(ctx, &cfg, *backend)
	if err != nil {
		fatal(err)
	}
	defer stopBackend()
	logf("chaos crash: seed %d, working directory %s", *seed, d)
	res, err := runCrash(ctx, cfg)
	if err != nil {
		fatal(err)
	}
	for _, p := range res.Problems {
		logf("  %s", p)
	}
	logf("acknowledged writes by kind: %s", res.Breakdown)
	fmt.Println(res.Line(*backend))
	return res.OK()
}

// applyBackend points the run at a store backend; stop ends what it
// started.
func applyBackend(ctx context.Context, cfg *crashConfig, backend string) (stop func(), err error) {
	switch strings.ToLower(backend) {
	case "bolt", "bbolt":
		return func() {}, nil
	case "postgres", "postgresql", "pg":
		pg, err := startPostgres(ctx)
		if err != nil {
			return nil, err
		}
		cfg.Extra = append(cfg.Extra, pg.settings()...)
		cfg.CheckStore = func(*gatehouse) error { return pg.check(ctx) }
		return pg.close, nil
	}
	return nil, fmt.Errorf("unknown backend %q", backend)
}

// chartMain draws a soak's CSV again (and judges it by the same rule).
func chartMain(args []string) bool {
	fs := flag.NewFlagSet("chart", flag.ExitOnError)
	in := fs.String("csv", "soak.csv", "samples written by a soak")
	out := fs.String("o", "soak.svg", "the chart to write")
	title := fs.String("title", "Gatehouse soak", "the chart's title")
	_ = fs.Parse(args)
	samples, err := readCSV(*in)
	if err != nil {
		fatal(err)
	}
	verdicts := judge(samples)
	ok := len(verdicts) > 0
	for _, v := range verdicts {
		logf("%s", v)
		ok = ok && v.OK()
	}
	if err := writeChart(*out, *title, samples, verdicts); err != nil {
		fatal(err)
	}
	return ok
}
