package main

// Sampling the server from outside: RSS and open descriptors from /proc,
// heap and goroutines from its Prometheus /metrics (the admin listener),
// latency and errors from the load's own answers.

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"math"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// sample is one observation of the server.
type sample struct {
	T          float64 // seconds since the start
	RSS        int64   // resident set, bytes
	RSSFile    int64   // of which file-backed pages (bbolt's memory-mapped database)
	HeapInuse  int64   // Go heap in use, bytes
	Goroutines int64
	FDs        int64
	P99        time.Duration // of the requests answered since the last sample (those not waiting on a metadata host)
	Requests   int64         // answered since the last sample
	Errors     int64         // 5xx and unexpected answers since the last sample
	DBBytes    int64         // size of the database file
	interval   float64       // seconds since the previous sample
}

// stats collects the load's answers between samples.
type stats struct {
	mu          sync.Mutex
	latencies   []time.Duration
	requests    int64
	errors      int64
	all         []time.Duration // every latency, for the run's percentiles
	total       int64
	fivexx      int64
	unexpectedN int64
	problems    []string
}

func newStats() *stats { return &stats{} }

// observe is the agent's hook: every answer of the public endpoints.
func (s *stats) observe(op string, a answer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a.err == nil && !a.waitsOnHost {
		s.latencies = append(s.latencies, a.took)
		if len(s.all) < 2_000_000 {
			s.all = append(s.all, a.took)
		}
	}
	s.requests++
	s.total++
	if a.err == nil && a.status >= 500 {
		s.fivexx++
		s.errors++
		if len(s.problems) < maxProblems {
			s.problems = append(s.problems, fmt.Sprintf("5xx from %s: %s", op, a))
		}
	}
}

// unexpected counts an answer the flow could not explain.
func (s *stats) unexpected(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errors++
	s.unexpectedN++
	if len(s.problems) < maxProblems {
		s.problems = append(s.problems, err.Error())
	}
}

// interval returns and resets the counters since the last call.
func (s *stats) interval() (p99 time.Duration, requests, errors int64) {
	s.mu.Lock()
	lat := s.latencies
	requests, errors = s.requests, s.errors
	s.latencies, s.requests, s.errors = nil, 0, 0
	s.mu.Unlock()
	return percentile(lat, 0.99), requests, errors
}

func percentile(lat []time.Duration, p float64) time.Duration {
	if len(lat) == 0 {
		return 0
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return lat[int(math.Ceil(p*float64(len(lat))))-1]
}

// sampler reads one process's resources.
type sampler struct {
	g     *gatehouse
	admin *agent
	start time.Time
	st    *stats
}

func (sp *sampler) take(ctx context.Context) (sample, error) {
	pid := sp.g.pid()
	if pid == 0 {
		return sample{}, fmt.Errorf("gatehouse is not running; log:\n%s", sp.g.logTail())
	}
	s := sample{T: time.Since(sp.start).Seconds()}
	var err error
	if s.RSS, s.RSSFile, err = procRSS(pid); err != nil {
		return s, err
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return s, err
	}
	s.FDs = int64(len(fds))
	m, err := sp.metrics(ctx)
	if err != nil {
		return s, err
	}
	s.HeapInuse, s.Goroutines = int64(m["go_memstats_heap_inuse_bytes"]), int64(m["go_goroutines"])
	if fi, err := os.Stat(sp.g.dbPath()); err == nil {
		s.DBBytes = fi.Size()
	}
	s.P99, s.Requests, s.Errors = sp.st.interval()
	return s, nil
}

// procRSS reads VmRSS and RssFile from /proc/PID/status, in bytes.
func procRSS(pid int) (rss, file int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	kb := func(rest string) int64 {
		n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		return n << 10
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			rss = kb(rest)
		} else if rest, ok := strings.CutPrefix(sc.Text(), "RssFile:"); ok {
			file = kb(rest)
		}
	}
	if rss == 0 {
		return 0, 0, fmt.Errorf("no VmRSS for pid %d", pid)
	}
	return rss, file, sc.Err()
}

// metrics reads the unlabelled samples of the server's /metrics.
func (sp *sampler) metrics(ctx context.Context) (map[string]float64, error) {
	req, _ := http.NewRequest(http.MethodGet, sp.g.admin+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+sp.g.token)
	an := sp.admin.do(ctx, "metrics", req, nil)
	if an.inFlight() || an.status != http.StatusOK {
		return nil, unexpected("admin /metrics", an)
	}
	out := map[string]float64{}
	for _, line := range strings.Split(an.raw, "\n") {
		name, val, ok := strings.Cut(line, " ")
		if !ok || strings.HasPrefix(line, "#") || strings.Contains(name, "{") {
			continue
		}
		if v, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil {
			out[name] = v
		}
	}
	return out, nil
}

// writeCSV writes the samples with a header line.
func writeCSV(path string, samples []sample) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	_ = w.Write([]string{"t_seconds", "rss_bytes", "rss_file_bytes", "heap_inuse_bytes", "goroutines", "open_fds", "p99_ms", "requests", "errors", "db_bytes"})
	for _, s := range samples {
		_ = w.Write([]string{strconv.FormatFloat(s.T, 'f', 1, 64), itoa(s.RSS), itoa(s.RSSFile), itoa(s.HeapInuse), itoa(s.Goroutines), itoa(s.FDs),
			strconv.FormatFloat(float64(s.P99.Microseconds())/1000, 'f', 2, 64), itoa(s.Requests), itoa(s.Errors), itoa(s.DBBytes)})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// readCSV reads samples written by writeCSV.
func readCSV(path string) ([]sample, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 || len(rows[0]) != 10 || rows[0][0] != "t_seconds" {
		return nil, fmt.Errorf("%s: not a soak CSV", path)
	}
	var out []sample
	var prev float64
	for i, r := range rows[1:] {
		var n [10]float64
		for j, v := range r {
			if n[j], err = strconv.ParseFloat(v, 64); err != nil {
				return nil, fmt.Errorf("%s line %d: %v", path, i+2, err)
			}
		}
		out = append(out, sample{T: n[0], RSS: int64(n[1]), RSSFile: int64(n[2]), HeapInuse: int64(n[3]), Goroutines: int64(n[4]),
			FDs: int64(n[5]), P99: time.Duration(n[6] * float64(time.Millisecond)), Requests: int64(n[7]), Errors: int64(n[8]),
			DBBytes: int64(n[9]), interval: n[0] - prev})
		prev = n[0]
	}
	return out, nil
}
