package main

// The soak's chart: one SVG file, one panel per series over time, the
// warm-up half shaded, and for the judged series the fitted line of the
// growth rule drawn over the second half.

import (
	"fmt"
	"html"
	"math"
	"os"
	"strings"
)

type panel struct {
	title  string
	unit   string
	scale  float64 // divides the raw value for display
	get    func(sample) float64
	second func(sample) float64 // an optional second series (lighter)
	rule   string               // the growth rule drawn on this panel
}

var panels = []panel{
	{title: "Resident set (RSS; lighter: its file-backed part, the mapped database)", unit: "MiB", scale: 1 << 20, get: func(s sample) float64 { return float64(s.RSS) },
		second: func(s sample) float64 { return float64(s.RSSFile) }, rule: "rss"},
	{title: "Anonymous RSS (darker) and Go heap in use", unit: "MiB", scale: 1 << 20, get: func(s sample) float64 { return float64(s.RSS - s.RSSFile) },
		second: func(s sample) float64 { return float64(s.HeapInuse) }, rule: "rss_anon"},
	{title: "Goroutines", scale: 1, get: func(s sample) float64 { return float64(s.Goroutines) }, rule: "goroutines"},
	{title: "Open file descriptors", scale: 1, get: func(s sample) float64 { return float64(s.FDs) }, rule: "fds"},
	{title: "p99 latency per interval", unit: "ms", scale: 1, get: func(s sample) float64 { return float64(s.P99.Microseconds()) / 1000 }},
	{title: "Requests per second", scale: 1, get: func(s sample) float64 { return s.rate() }},
}

// rate is the sample's request rate (requests over its interval).
func (s sample) rate() float64 {
	if s.interval <= 0 {
		return 0
	}
	return float64(s.Requests) / s.interval
}

const (
	chartW  = 960
	panelH  = 150
	marginL = 70
	marginR = 20
	marginT = 28
	gapH    = 30
)

// writeChart draws the samples and verdicts into an SVG file.
func writeChart(path, title string, samples []sample, verdicts []growthVerdict) error {
	h := len(panels)*(panelH+gapH) + 50
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", chartW, h)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/><text x="%d" y="20" font-size="15" font-weight="bold">%s</text>`+"\n", marginL, html.EscapeString(title))
	tEnd := 1.0
	if len(samples) > 0 {
		tEnd = max(samples[len(samples)-1].T, 1)
	}
	for i, p := range panels {
		top := 40 + i*(panelH+gapH)
		drawPanel(&b, p, top, samples, tEnd, verdicts)
	}
	b.WriteString("</svg>\n")
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

func drawPanel(b *strings.Builder, p panel, top int, samples []sample, tEnd float64, verdicts []growthVerdict) {
	plotW := float64(chartW - marginL - marginR)
	ph := float64(panelH - marginT)
	y0 := float64(top + marginT)
	hi := 0.0
	for _, s := range samples {
		hi = max(hi, p.get(s)/p.scale)
		if p.second != nil {
			hi = max(hi, p.second(s)/p.scale)
		}
	}
	hi = niceCeil(hi * 1.1)
	x := func(t float64) float64 { return marginL + plotW*t/tEnd }
	y := func(v float64) float64 { return y0 + ph - ph*v/hi }
	label := p.title
	if p.unit != "" {
		label += " (" + p.unit + ")"
	}
	fmt.Fprintf(b, `<text x="%d" y="%d" font-weight="bold">%s</text>`+"\n", marginL, top+16, html.EscapeString(label))
	// Warm-up: the first half, not judged.
	fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#f2f2f2"/>`+"\n", x(0), y0, x(tEnd/2)-x(0), ph)
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" fill="#999">warm-up</text>`+"\n", x(0)+4, y0+14)
	fmt.Fprintf(b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#333"/>`+"\n", marginL, y0+ph, chartW-marginR, y0+ph)
	fmt.Fprintf(b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#333"/>`+"\n", marginL, y0, marginL, y0+ph)
	for _, f := range []float64{0, 0.5, 1} {
		fmt.Fprintf(b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", marginL-6, y(hi*f)+4, short(hi*f))
	}
	for _, f := range []float64{0, 0.25, 0.5, 0.75, 1} {
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle" fill="#555">%s</text>`+"\n", x(tEnd*f), y0+ph+14, clock(tEnd*f))
	}
	line := func(get func(sample) float64, color string) {
		var pts []string
		for _, s := range samples {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(s.T), y(get(s)/p.scale)))
		}
		fmt.Fprintf(b, `<polyline fill="none" stroke="%s" stroke-width="1.5" points="%s"/>`+"\n", color, strings.Join(pts, " "))
	}
	if p.second != nil {
		line(p.second, "#9ecae1")
	}
	line(p.get, "#08519c")
	for _, v := range verdicts {
		if v.Rule.Name != p.rule {
			continue
		}
		color := "#2ca02c"
		if !v.OK() {
			color = "#d62728"
		}
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="2" stroke-dasharray="6,4"/>`+"\n",
			x(v.From), y(v.Start/p.scale), x(v.To), y(v.End/p.scale), color)
		// Inside the plot's top right corner, clear of the panel title.
		fmt.Fprintf(b, `<text x="%d" y="%.1f" text-anchor="end" fill="%s">%s</text>`+"\n", chartW-marginR-4, y0+14, color, html.EscapeString(v.String()))
	}
}

// niceCeil rounds up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func short(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.1fM", v/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%.0fk", v/1e3)
	case v >= 10 || v == 0:
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

// clock formats seconds as m:ss.
func clock(t float64) string {
	s := int(t + 0.5)
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}
