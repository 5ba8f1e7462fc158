package cimd

import (
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// OutcomeThrottled is a document host refusing Gatehouse for now rather
// than refusing the client: 429 Too Many Requests, 503 Service
// Unavailable, or 403 Forbidden with an HTML body (the bot challenge page
// of a CDN or web application firewall). Its own fetch-outcome label, so
// operators can tell a host that rate-limits or challenges Gatehouse from
// one that is down (bad_status, network_error) or gone (404/410).
const OutcomeThrottled = "throttled"

// MaxRetryAfter bounds a host's Retry-After whatever the configuration: a
// host cannot park a client_id in backoff for longer than a day.
const MaxRetryAfter = 24 * time.Hour

// throttled reports whether a non-200 answer is a transient refusal (see
// OutcomeThrottled). A 403 with a JSON or plain-text body is an answer
// about the document (access denied) and keeps the ordinary rule for
// client errors; only an HTML 403 is a challenge meant for browsers.
func throttled(r *http.Response) bool {
	switch r.StatusCode {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		return true
	case http.StatusForbidden:
		return isHTMLMediaType(r.Header.Get("Content-Type"))
	}
	return false
}

// isHTMLMediaType accepts text/html and application/xhtml+xml, with any
// parameters, in any case (RFC 9110 §8.3.1).
func isHTMLMediaType(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == "text/html" || mt == "application/xhtml+xml")
}

// parseRetryAfter reads a Retry-After header (RFC 9110 §10.2.3): a number
// of seconds, or an HTTP-date, relative to now. It returns 0 for an
// absent, malformed or past value and never more than MaxRetryAfter.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if v[0] >= '0' && v[0] <= '9' {
		// delay-seconds = 1*DIGIT; a value too large for int64 is "long".
		for i := 0; i < len(v); i++ {
			if v[i] < '0' || v[i] > '9' {
				return 0
			}
		}
		secs, err := strconv.ParseInt(v, 10, 64)
		if err != nil || secs > int64(MaxRetryAfter/time.Second) {
			return MaxRetryAfter
		}
		return time.Duration(secs) * time.Second
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0
	}
	d := t.Sub(now)
	switch {
	case d <= 0:
		return 0
	case d > MaxRetryAfter:
		return MaxRetryAfter
	}
	return d
}
