package server

import (
	"encoding/json"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/cimd"
)

// TestMetricsCountEachCIMDFetchOutcome drives one authorization request
// per fetch outcome an operator can provoke and reads /metrics: every
// fetch is counted once, under its final outcome (a 200 whose document
// fails validation is invalid_document), and a host refused by the
// operator's policy is policy_denied without a latency observation.
func TestMetricsCountEachCIMDFetchOutcome(t *testing.T) {
	e := newObservedEnv(t, func(c *cimd.Config) { c.Hosts.Deny = []string{"denied.example"} })
	_, challenge := pkce()
	authorize := func(e *observedEnv, clientID string) {
		e.get(authorizePath + "?" + authzParams(clientID, "http://127.0.0.1/callback", challenge).Encode())
	}

	// ok, then not_modified: the expired entry is revalidated by ETag.
	etagged := e.host.url("/etag.json")
	e.host.serve("/etag.json", docBody(etagged), "application/json", http.Header{"Etag": {`"v1"`}})
	authorize(e, etagged)
	e.host.serveStatus("/etag.json", http.StatusNotModified, http.Header{"Etag": {`"v1"`}})
	e.clock.Advance(10 * time.Minute)
	authorize(e, etagged)
	// bad_status: 404.
	authorize(e, e.host.url("/missing.json"))
	// too_large: over the 5 KB document limit (CIMD -02 §5).
	e.host.serve("/large.json", []byte(`{"client_id":"`+strings.Repeat("x", 6000)+`"}`), "application/json", nil)
	authorize(e, e.host.url("/large.json"))
	// invalid_document: valid JSON, 200 OK, but naming another client_id.
	e.host.serve("/mismatch.json", docBody(e.host.url("/someone-else.json")), "application/json", nil)
	authorize(e, e.host.url("/mismatch.json"))
	// policy_denied: cimd.hosts.deny, refused before any I/O.
	authorize(e, "https://denied.example/oauth/client.json")

	if got := e.host.fetches("/etag.json"); got != 2 {
		t.Fatalf("/etag.json fetched %d times; want 2 (200, then 304)", got)
	}
	want := map[string]string{
		`kind="document",outcome="ok"`:               "1",
		`kind="document",outcome="not_modified"`:     "1",
		`kind="document",outcome="bad_status"`:       "1",
		`kind="document",outcome="too_large"`:        "1",
		`kind="document",outcome="invalid_document"`: "1",
		`kind="document",outcome="policy_denied"`:    "1",
	}
	body := e.metrics()
	if got := metricSeries(body, "gatehouse_cimd_fetches_total"); !maps.Equal(got, want) {
		t.Fatalf("gatehouse_cimd_fetches_total = %v; want %v", got, want)
	}
	// Five fetches went out; the policy refusal has no latency.
	if got := metricSeries(body, "gatehouse_cimd_fetch_duration_seconds_count"); got[`kind="document"`] != "5" {
		t.Fatalf("gatehouse_cimd_fetch_duration_seconds_count = %v; want 5 for documents", got)
	}

	// blocked_address: without cimd.allow_private_addresses, a private
	// address and the (live) loopback host are refused at dial time.
	strict := newObservedEnv(t, func(c *cimd.Config) { c.AllowPrivateAddresses = false })
	loopback := strict.host.publish("/client.json", publicDoc())
	authorize(strict, loopback)
	authorize(strict, "https://10.0.0.1/oauth/client.json")
	if n := strict.host.fetches("/client.json"); n != 0 {
		t.Fatalf("the loopback host was fetched %d times", n)
	}
	want = map[string]string{`kind="document",outcome="blocked_address"`: "2"}
	if got := metricSeries(strict.metrics(), "gatehouse_cimd_fetches_total"); !maps.Equal(got, want) {
		t.Fatalf("gatehouse_cimd_fetches_total = %v; want %v", got, want)
	}
}

// metrics returns the admin /metrics exposition.
func (e *observedEnv) metrics() string {
	e.t.Helper()
	resp, body := e.adminCall(http.MethodGet, "/metrics", adminToken)
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("/metrics = %d", resp.StatusCode)
	}
	return body
}

// metricSeries maps the label set of every sample of name to its value.
func metricSeries(exposition, name string) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(exposition, "\n") {
		if rest, ok := strings.CutPrefix(line, name+"{"); ok {
			labels, value, _ := strings.Cut(rest, "} ")
			out[labels] = value
		}
	}
	return out
}

// docBody is publicDoc for clientID, as served.
func docBody(clientID string) []byte {
	doc := publicDoc()
	doc["client_id"] = clientID
	b, _ := json.Marshal(doc)
	return b
}

// serveStatus answers path with a bodiless status and header.
func (h *docHost) serveStatus(path string, status int, header http.Header) {
	h.mu.Lock()
	h.files[path] = hostedFile{ctype: "application/json", header: header, status: status}
	h.mu.Unlock()
}
