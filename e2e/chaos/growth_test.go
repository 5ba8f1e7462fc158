package main

import (
	"encoding/xml"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// series makes samples every 5 s for d seconds with rss(t) and the other
// judged series flat.
func series(d float64, rss func(t float64) float64) []sample {
	var out []sample
	for t := 5.0; t <= d; t += 5 {
		out = append(out, sample{T: t, RSS: int64(rss(t)), RSSFile: 10 << 20, Goroutines: 40, FDs: 25, HeapInuse: 20 << 20,
			P99: 3 * time.Millisecond, Requests: 1000, interval: 5})
	}
	return out
}

func verdictOf(t *testing.T, vs []growthVerdict, name string) growthVerdict {
	t.Helper()
	for _, v := range vs {
		if v.Rule.Name == name {
			return v
		}
	}
	t.Fatalf("no verdict for %s in %v", name, vs)
	return growthVerdict{}
}

func TestGrowthRule(t *testing.T) {
	const mib = 1 << 20
	tests := []struct {
		name   string
		d      float64
		rss    func(t float64) float64
		wantOK bool
	}{
		// Noise of ±8 MiB around a flat 100 MiB: no trend, passes.
		{"flat and noisy", 1800, func(t float64) float64 { return 100*mib + 8*mib*math.Sin(t/7) }, true},
		// Warm-up growth in the first half only: passes.
		{"grows then settles", 1800, func(t float64) float64 { return 60*mib + 40*mib*min(t, 600)/600 }, true},
		// A leak of 2 MiB a minute: 30 MiB over the judged 15 minutes.
		{"steady leak", 1800, func(t float64) float64 { return 100*mib + 2*mib*t/60 }, false},
		// A step up late in the run.
		{"late step", 1800, func(t float64) float64 {
			if t > 1500 {
				return 160 * mib
			}
			return 100 * mib
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := verdictOf(t, judge(series(tt.d, tt.rss)), "rss")
			if v.OK() != tt.wantOK {
				t.Fatalf("%s: OK = %v, want %v", v, v.OK(), tt.wantOK)
			}
			if g := verdictOf(t, judge(series(tt.d, tt.rss)), "goroutines"); !g.OK() {
				t.Fatalf("flat goroutines judged growing: %s", g)
			}
		})
	}
}

// Total RSS is judged only in runs of 10 minutes or more; anonymous RSS,
// goroutines and descriptors always.
func TestGrowthRuleShortRun(t *testing.T) {
	vs := judge(series(60, func(t float64) float64 { return float64(50<<20) + t*(1<<20) }))
	for _, v := range vs {
		if v.Rule.Name == "rss" {
			t.Fatalf("total RSS judged in a 60 s run: %s", v)
		}
	}
	for _, name := range []string{"rss_anon", "goroutines", "fds"} {
		verdictOf(t, vs, name)
	}
	if judge(series(10, func(float64) float64 { return 1 })) != nil {
		t.Fatal("fewer than four samples must not be judged")
	}
}

func TestFitLine(t *testing.T) {
	a, b := fitLine([]float64{0, 1, 2, 3}, []float64{1, 3, 5, 7})
	if math.Abs(a-1) > 1e-9 || math.Abs(b-2) > 1e-9 {
		t.Fatalf("fit = %v + %v x, want 1 + 2x", a, b)
	}
}

// The chart is well-formed SVG with every panel, and the CSV has a row
// per sample.
func TestChartAndCSV(t *testing.T) {
	dir := t.TempDir()
	samples := series(1800, func(t float64) float64 { return 100 << 20 })
	svg, csvPath := filepath.Join(dir, "soak.svg"), filepath.Join(dir, "soak.csv")
	if err := writeChart(svg, "test <run>", samples, judge(samples)); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(svg)
	if err != nil {
		t.Fatal(err)
	}
	d := xml.NewDecoder(strings.NewReader(string(data)))
	for {
		if _, err := d.Token(); err != nil {
			if err.Error() != "EOF" {
				t.Fatalf("chart is not well-formed XML: %v", err)
			}
			break
		}
	}
	for _, p := range panels {
		if !strings.Contains(string(data), p.title) {
			t.Fatalf("chart lacks the panel %q", p.title)
		}
	}
	if err := writeCSV(csvPath, samples); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(csvPath)
	if lines := strings.Count(string(b), "\n"); lines != len(samples)+1 {
		t.Fatalf("CSV has %d lines, want %d", lines, len(samples)+1)
	}
	back, err := readCSV(csvPath)
	if err != nil || len(back) != len(samples) {
		t.Fatalf("readCSV = %d samples, %v; want %d", len(back), err, len(samples))
	}
	if back[3].RSS != samples[3].RSS || back[3].Goroutines != samples[3].Goroutines || back[3].P99 != samples[3].P99 {
		t.Fatalf("sample 3 read back as %+v, written as %+v", back[3], samples[3])
	}
}
