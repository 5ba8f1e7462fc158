package cimd

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// refusal answers like a document host that stopped serving Gatehouse.
func refusal(status int, contentType, retryAfter string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		}
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		w.WriteHeader(status)
		if strings.Contains(contentType, "html") {
			w.Write([]byte("<!DOCTYPE html><html><title>Just a moment...</title><body>Checking your browser</body></html>"))
		} else if strings.Contains(contentType, "json") {
			w.Write([]byte(`{"error":"forbidden"}`))
		}
	}
}

// Issue 10 item 5: a host that served a valid document and then rate
// limits or challenges Gatehouse (429, 503, an HTML 403) does not kill the
// client: the last valid copy is served within stale_if_error, the next
// attempt waits for Retry-After (longer than the 30 s backoff here), and
// the fetch counts as throttled.
func TestThrottledRefusalServesLastValidCopy(t *testing.T) {
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
	}{
		{"429", refusal(http.StatusTooManyRequests, "text/plain", "120")},
		{"503", refusal(http.StatusServiceUnavailable, "", "120")},
		{"403 html challenge", refusal(http.StatusForbidden, "text/html; charset=UTF-8", "120")},
		{"403 xhtml challenge", refusal(http.StatusForbidden, "application/xhtml+xml", "120")},
		{"429 with an HTTP date", refusal(http.StatusTooManyRequests, "", "")}, // Retry-After set below
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t) // max-age=300, stale_if_error 1h, backoff 30s
			m := serveMutable(e, doc(testClientID))
			first := mustResolve(t, e)
			e.clock.Advance(301 * time.Second)
			h := tc.handler
			if tc.name == "429 with an HTTP date" {
				h = refusal(http.StatusTooManyRequests, "", e.clock.Now().Add(120*time.Second).UTC().Format(http.TimeFormat))
			}
			e.host.handle(testClientID, h)
			c, err := e.r.Resolve(bg, testClientID)
			if err != nil || c != first {
				t.Fatalf("refresh refused with %s: %v; want the last valid copy", tc.name, err)
			}
			if e.obs.fetch("document/throttled") != 1 || e.obs.fetch("document/bad_status") != 0 || e.obs.event("document/stale_served") != 1 {
				t.Fatalf("fetches %v, events %v; want one throttled fetch and a stale serve", e.obs.fetchCounts(), e.obs.events)
			}
			// Retry-After (120 s) outlasts the first backoff step (30 s):
			// no request before it, the stale copy meanwhile.
			e.clock.Advance(119 * time.Second)
			if c, err := e.r.Resolve(bg, testClientID); err != nil || c != first {
				t.Fatalf("during Retry-After: %v", err)
			}
			if n := e.host.hits(testClientID); n != 2 {
				t.Fatalf("%d requests; want none during Retry-After", n)
			}
			// After it, Gatehouse asks again; the host recovered.
			e.host.handle(testClientID, m.ServeHTTP)
			e.clock.Advance(2 * time.Second)
			if c, err := e.r.Resolve(bg, testClientID); err != nil || c.ID != first.ID || e.obs.fetch("document/ok") != 2 {
				t.Fatalf("after recovery: %v, fetches %v", err, e.obs.fetchCounts())
			}
			if n := e.host.hits(testClientID); n != 3 {
				t.Fatalf("%d requests; want one after Retry-After", n)
			}
		})
	}
}

// Past stale_if_error a throttling host's client is refused, with the
// throttled outcome and the status in the description.
func TestThrottledPastStaleWindow(t *testing.T) {
	e := newEnv(t)
	serveMutable(e, doc(testClientID))
	mustResolve(t, e)
	e.host.handle(testClientID, refusal(http.StatusTooManyRequests, "", ""))
	e.clock.Advance(301*time.Second + time.Hour)
	_, err := e.r.Resolve(bg, testClientID)
	if OutcomeOf(err) != OutcomeThrottled || !strings.Contains(err.Error(), "429") {
		t.Fatalf("err = %v; want the 429 as throttled", err)
	}
	if len(e.r.Entries()) != 0 {
		t.Fatal("the expired copy is still cached")
	}
}

// The exact rule's other side: 404 and 410 drop the client at once
// (TestGoneAndNotFoundEvictAtOnce), and a 403 that is not an HTML page, a
// 401 and other client errors keep the ordinary rule: no stale copy past
// freshness, counted as bad_status.
func TestNonThrottlingRefusalsKeepTheirRule(t *testing.T) {
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
	}{
		{"403 json", refusal(http.StatusForbidden, "application/json", "120")},
		{"403 plain", refusal(http.StatusForbidden, "text/plain", "")},
		{"403 no type", refusal(http.StatusForbidden, "", "")},
		{"401 html", refusal(http.StatusUnauthorized, "text/html", "")},
		{"400", refusal(http.StatusBadRequest, "", "")},
		{"404 html", refusal(http.StatusNotFound, "text/html", "120")},
		{"410", refusal(http.StatusGone, "", "")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			serveMutable(e, doc(testClientID))
			mustResolve(t, e)
			e.host.handle(testClientID, tc.handler)
			e.clock.Advance(301 * time.Second)
			_, err := e.r.Resolve(bg, testClientID)
			if OutcomeOf(err) != OutcomeBadStatus || e.obs.fetch("document/throttled") != 0 {
				t.Fatalf("err = %v, fetches %v; want bad_status and no stale copy", err, e.obs.fetchCounts())
			}
			if len(e.r.Entries()) != 0 || e.obs.event("document/stale_served") != 0 {
				t.Fatal("the client survived a definitive refusal")
			}
			// Retry-After is honoured only for throttling: the next
			// attempt comes after the ordinary 30 s backoff.
			e.clock.Advance(31 * time.Second)
			e.r.Resolve(bg, testClientID)
			if n := e.host.hits(testClientID); n != 3 {
				t.Fatalf("%d requests; want a retry after the 30 s backoff", n)
			}
		})
	}
}

// A Retry-After longer than the configured bound is cut to the longer of
// failure_backoff_max and stale_if_error.
func TestRetryAfterIsBounded(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Cache.StaleIfError = 10 * time.Minute })
	e.host.handle(testClientID, refusal(http.StatusServiceUnavailable, "", "86400"))
	if _, err := e.r.Resolve(bg, testClientID); OutcomeOf(err) != OutcomeThrottled {
		t.Fatalf("err = %v", err)
	}
	_, err := e.r.Resolve(bg, testClientID)
	if err == nil || !strings.Contains(err.Error(), "not retried for 10m0s") {
		t.Fatalf("err = %v; want a 10m pause (stale_if_error), not a day", err)
	}
	e.clock.Advance(10*time.Minute + time.Second)
	e.r.Resolve(bg, testClientID)
	if n := e.host.hits(testClientID); n != 2 {
		t.Fatalf("%d requests; want a retry once the bound passed", n)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		v    string
		want time.Duration
	}{
		{"", 0}, {"0", 0}, {"120", 120 * time.Second}, {" 7 ", 7 * time.Second},
		{"86400", MaxRetryAfter}, {"86401", MaxRetryAfter}, {"99999999999999999999999", MaxRetryAfter},
		{"-5", 0}, {"1.5", 0}, {"12abc", 0}, {"0x10", 0}, {"soon", 0},
		{"Sun, 01 Nov 2026 12:02:00 GMT", 2 * time.Minute},
		{"Sunday, 01-Nov-26 12:00:30 GMT", 30 * time.Second}, // RFC 850, obsolete but valid
		{"Sun Nov  1 12:00:10 2026", 10 * time.Second},       // asctime
		{"Sun, 01 Nov 2026 11:00:00 GMT", 0},                 // past
		{"Sun, 01 Nov 2027 12:00:00 GMT", MaxRetryAfter},
		{"Sun, 01 Nov 2026 12:02:00 +0100", 0}, // not an HTTP-date
	} {
		if got := parseRetryAfter(tc.v, now); got != tc.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tc.v, got, tc.want)
		}
	}
}

// FuzzParseRetryAfter: whatever a host sends, the pause is between 0 and
// MaxRetryAfter, and a plain number of seconds is read exactly.
func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"120", "Sun, 01 Nov 2026 12:02:00 GMT", "-1", "9999999999999999999999", "", " 3"} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		d := parseRetryAfter(v, now)
		if d < 0 || d > MaxRetryAfter {
			t.Fatalf("parseRetryAfter(%q) = %v", v, d)
		}
	})
}

func TestThrottledClassification(t *testing.T) {
	for _, tc := range []struct {
		status int
		ct     string
		want   bool
	}{
		{429, "", true}, {503, "application/json", true}, {403, "text/html", true}, {403, "TEXT/HTML; charset=utf-8", true},
		{403, "application/xhtml+xml", true}, {403, "application/json", false}, {403, "text/plain", false}, {403, "", false},
		{403, "text/htmlx", false}, {500, "text/html", false}, {502, "", false}, {404, "text/html", false}, {401, "text/html", false},
	} {
		r := &http.Response{StatusCode: tc.status, Header: http.Header{"Content-Type": {tc.ct}}}
		if got := throttled(r); got != tc.want {
			t.Errorf("throttled(%d, %q) = %v, want %v", tc.status, tc.ct, got, tc.want)
		}
	}
}
