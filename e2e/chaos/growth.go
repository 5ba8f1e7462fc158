package main

// The soak's growth rule. A series grows when the least-squares line
// through its samples in the second half of the run (the first half is
// warm-up: caches fill, the heap finds its size, the database reaches its
// working size) rises, across that half, by more than max(Rel × the
// half's median, Abs). A flat series passes however noisy; a leak of any
// steady rate fails once it adds up to the allowance.
//
// Judged: anonymous RSS (what the process allocates: heap, stacks,
// runtime), goroutines and open descriptors in every run; total RSS, which
// also counts the database's memory-mapped file pages, in runs of 10
// minutes or more. The soak's records live at most 11 minutes
// (soakSettings), so by the second half of a 30-minute run the database
// holds a steady working set; in a shorter run it is still filling, and
// its mapped pages grow with it.

import (
	"fmt"
	"sort"
)

// growthRule is the allowance for one series.
type growthRule struct {
	Name string
	Rel  float64 // fraction of the median
	Abs  float64 // in the series' unit
	Unit string
	// MinRun: judged only in runs at least this long.
	MinRun float64 // seconds
	get    func(sample) float64
}

// growthRules are the judged series: RSS, goroutines, open descriptors.
var growthRules = []growthRule{
	{Name: "rss_anon", Rel: 0.10, Abs: 16 << 20, Unit: "bytes", get: func(s sample) float64 { return float64(s.RSS - s.RSSFile) }},
	{Name: "rss", Rel: 0.10, Abs: 16 << 20, Unit: "bytes", MinRun: 600, get: func(s sample) float64 { return float64(s.RSS) }},
	{Name: "goroutines", Rel: 0.10, Abs: 10, get: func(s sample) float64 { return float64(s.Goroutines) }},
	{Name: "fds", Rel: 0.10, Abs: 10, get: func(s sample) float64 { return float64(s.FDs) }},
}

// growthVerdict is one series judged.
type growthVerdict struct {
	Rule      growthRule
	Start     float64 // the fitted line at the window's start and end
	End       float64
	Growth    float64 // End - Start
	Allowance float64
	Median    float64
	From, To  float64 // the window, in seconds since the start
}

func (v growthVerdict) OK() bool { return v.Growth <= v.Allowance }

func (v growthVerdict) String() string {
	f := func(x float64) string {
		if v.Rule.Unit == "bytes" {
			return fmt.Sprintf("%.1f MiB", x/(1<<20))
		}
		return fmt.Sprintf("%.1f", x)
	}
	verdict := "flat"
	if !v.OK() {
		verdict = "GROWING"
	}
	return fmt.Sprintf("%s %s: fitted %s -> %s over %.0f-%.0f s (growth %s, allowed %s)", v.Rule.Name, verdict,
		f(v.Start), f(v.End), v.From, v.To, f(v.Growth), f(v.Allowance))
}

// judge applies every rule to the samples of the second half of the run.
func judge(samples []sample) []growthVerdict {
	if len(samples) < 4 {
		return nil
	}
	mid := samples[len(samples)-1].T / 2
	var window []sample
	for _, s := range samples {
		if s.T >= mid {
			window = append(window, s)
		}
	}
	var out []growthVerdict
	for _, r := range growthRules {
		if samples[len(samples)-1].T < r.MinRun {
			continue
		}
		xs, ys := make([]float64, len(window)), make([]float64, len(window))
		for i, s := range window {
			xs[i], ys[i] = s.T, r.get(s)
		}
		a, b := fitLine(xs, ys)
		from, to := xs[0], xs[len(xs)-1]
		med := median(ys)
		v := growthVerdict{Rule: r, Start: a + b*from, End: a + b*to, Median: med, From: from, To: to}
		v.Growth = v.End - v.Start
		v.Allowance = max(r.Rel*med, r.Abs)
		out = append(out, v)
	}
	return out
}

// fitLine is the least-squares line y = a + b·x.
func fitLine(xs, ys []float64) (a, b float64) {
	n := float64(len(xs))
	var sx, sy, sxx, sxy float64
	for i := range xs {
		sx += xs[i]
		sy += ys[i]
		sxx += xs[i] * xs[i]
		sxy += xs[i] * ys[i]
	}
	den := n*sxx - sx*sx
	if den == 0 {
		return sy / n, 0
	}
	b = (n*sxy - sx*sy) / den
	return (sy - b*sx) / n, b
}

func median(ys []float64) float64 {
	s := append([]float64(nil), ys...)
	sort.Float64s(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}
