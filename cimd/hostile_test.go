package cimd

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"maps"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Hostile document hosts, over real TLS. Each row serves a response at
// the client_id URL and names the outcome Gatehouse must reach.
func TestHostileDocumentHosts(t *testing.T) {
	const id = testClientID
	gzipBomb := makeGzipBomb(t, 4<<20) // 4 MiB of zeros in about 4 KB
	tests := []struct {
		name    string
		handler http.HandlerFunc
		outcome string
		detail  string
	}{
		{"valid control", jsonHandler(doc(id)), OutcomeOK, ""},
		{"json with charset", withType("application/json; charset=utf-8", doc(id)), OutcomeOK, ""},
		{"json suffix type", withType("application/cimd+json", doc(id)), OutcomeOK, ""},
		{"slow body trickles past the deadline", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"client_id":`))
			w.(http.Flusher).Flush()
			<-r.Context().Done() // never finishes
		}, OutcomeTimeout, "timed out"},
		{"slow headers", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }, OutcomeTimeout, "timed out"},
		{"endless body", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			chunk := bytes.Repeat([]byte(" "), 4096)
			for r.Context().Err() == nil {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		}, OutcomeTooLarge, "larger than the 5120 byte limit"},
		{"declared too large", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", "1000000")
			w.Write(bytes.Repeat([]byte(" "), 6000))
		}, OutcomeTooLarge, "1000000 bytes"},
		{"exactly over the cap", withType("application/json", doc(id)+strings.Repeat(" ", 5121-len(doc(id)))), OutcomeTooLarge, "5120"},
		{"gzip bomb", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(gzipBomb)
		}, OutcomeInvalidDocument, `Content-Encoding "gzip"`},
		{"301", redirectHandler(http.StatusMovedPermanently), OutcomeBadStatus, "301"},
		{"302", redirectHandler(http.StatusFound), OutcomeBadStatus, "302"},
		{"307", redirectHandler(http.StatusTemporaryRedirect), OutcomeBadStatus, "307"},
		{"308", redirectHandler(http.StatusPermanentRedirect), OutcomeBadStatus, "308"},
		{"500", statusHandler(http.StatusInternalServerError), OutcomeBadStatus, "500"},
		{"404", statusHandler(http.StatusNotFound), OutcomeBadStatus, "404"},
		{"410", statusHandler(http.StatusGone), OutcomeBadStatus, "410"},
		{"403", statusHandler(http.StatusForbidden), OutcomeBadStatus, "403"},
		{"201 is not 200", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusCreated)
			w.Write([]byte(doc(id)))
		}, OutcomeBadStatus, "201"},
		{"unsolicited 304", statusHandler(http.StatusNotModified), OutcomeBadStatus, "304"},
		{"text/html", withType("text/html", doc(id)), OutcomeInvalidDocument, "text/html"},
		{"text/plain", withType("text/plain", doc(id)), OutcomeInvalidDocument, "text/plain"},
		{"no content type", withType("", doc(id)), OutcomeInvalidDocument, "Content-Type"},
		{"application/jsonp", withType("application/jsonp", doc(id)), OutcomeInvalidDocument, "application/jsonp"},
		{"invalid UTF-8", jsonHandler(`{"client_id":"` + id + `","client_name":"` + "\xff\xfe" + `","redirect_uris":["http://localhost/cb"]}`),
			OutcomeInvalidDocument, "not valid UTF-8"},
		{"deeply nested", jsonHandler(`{"client_id":"` + id + `","x":` + strings.Repeat("[", 50) + strings.Repeat("]", 50) + `}`),
			OutcomeInvalidDocument, "nested more than"},
		{"duplicate keys", jsonHandler(`{"client_id":"` + id + `","client_name":"A","client_name":"B","redirect_uris":["http://localhost/cb"]}`),
			OutcomeInvalidDocument, `"client_name" twice`},
		{"client_id mismatch", jsonHandler(doc("https://evil.example/client.json")), OutcomeInvalidDocument, "does not match"},
		{"array top level", jsonHandler(`[` + doc(id) + `]`), OutcomeInvalidDocument, "must be a JSON object"},
		{"trailing garbage", jsonHandler(doc(id) + `{}`), OutcomeInvalidDocument, "data after"},
		{"html error page", withType("application/json", "<html>oops</html>"), OutcomeInvalidDocument, "not valid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Only the rows about the deadline get a short one: their host
			// never finishes, so they time out however loaded the machine
			// is, and every other row has testConfig's generous deadline.
			var short []func(*Config)
			if tt.outcome == OutcomeTimeout {
				short = append(short, func(c *Config) { c.Fetch.Timeout = 400 * time.Millisecond })
			}
			e := newEnv(t, short...)
			e.host.handle(id, tt.handler)
			e.host.serveJSON("https://redirect-target.example/client.json", doc(id))
			_, err := e.r.Resolve(context.Background(), id)
			if got := OutcomeOf(err); got != tt.outcome {
				t.Fatalf("outcome %q (%v); want %q", got, err, tt.outcome)
			}
			if tt.detail != "" && !strings.Contains(err.Error(), tt.detail) {
				t.Fatalf("error %q does not mention %q", err, tt.detail)
			}
			if n := e.host.hits("https://redirect-target.example/client.json"); n != 0 {
				t.Fatalf("the redirect target was requested %d times", n)
			}
			if tt.outcome != OutcomeOK && len(e.r.Entries()) != 0 {
				t.Fatal("a failed fetch left a cache entry (CIMD -02 §5.2)")
			}
			// The metric counts the fetch once, under its final outcome:
			// a 200 whose document then fails validation is not "ok".
			if got, want := e.obs.fetchCounts(), map[string]int{"document/" + tt.outcome: 1}; !maps.Equal(got, want) {
				t.Fatalf("fetches counted %v; want %v", got, want)
			}
		})
	}
}

func jsonHandler(body string) http.HandlerFunc { return withType("application/json", body) }

func withType(ct, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if ct != "" {
			w.Header().Set("Content-Type", ct)
		} else {
			w.Header()["Content-Type"] = nil // suppress sniffing
		}
		fmt.Fprint(w, body)
	}
}

func statusHandler(code int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(code) }
}

func redirectHandler(code int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://redirect-target.example/client.json", code)
	}
}

func makeGzipBomb(t *testing.T, size int) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zeros := make([]byte, 1<<20)
	for i := 0; i < size>>20; i++ {
		zw.Write(zeros)
	}
	zw.Close()
	if buf.Len() > 5120 {
		t.Fatalf("bomb is %d bytes; it must fit under the cap to test decompression", buf.Len())
	}
	return buf.Bytes()
}

// The gzip bomb must not be expanded: the fetch allocates well under the
// 4 MiB it would expand to.
func TestGzipBombMemoryBounded(t *testing.T) {
	e := newEnv(t)
	bomb := makeGzipBomb(t, 4<<20)
	e.host.handle(testClientID, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(bomb)
	})
	f := e.fetcher()
	f.Fetch(context.Background(), Request{Kind: KindDocument, URL: testClientID}) // warm the connection
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := f.Fetch(context.Background(), Request{Kind: KindDocument, URL: testClientID})
	runtime.ReadMemStats(&after)
	if OutcomeOf(err) != OutcomeInvalidDocument {
		t.Fatalf("err = %v", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Fatalf("fetching a gzip bomb allocated %d bytes", grew)
	}
}

// Documents are fetched with one User-Agent, Accept: application/json and
// no compression; keep-alive serves many fetches over one connection.
func TestRequestHeadersAndKeepAlive(t *testing.T) {
	e := newEnv(t)
	var got http.Header
	e.host.handle(testClientID, func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, doc(testClientID))
	})
	f := e.fetcher()
	for range 5 {
		if _, err := f.Fetch(context.Background(), Request{Kind: KindDocument, URL: testClientID}); err != nil {
			t.Fatal(err)
		}
	}
	if got.Get("User-Agent") != DefaultUserAgent || got.Get("Accept") != "application/json" {
		t.Fatalf("headers %v", got)
	}
	if ae := got.Get("Accept-Encoding"); ae != "identity" {
		t.Fatalf("Accept-Encoding %q; want identity", ae)
	}
	if n := e.net.dialCount(); n != 1 {
		t.Fatalf("%d connections for 5 fetches; want 1 (keep-alive)", n)
	}
}

func TestUntrustedCertificateIsANetworkError(t *testing.T) {
	srv := httptest.NewUnstartedServer(jsonHandler(doc(testClientID)))
	srv.TLS = &tls.Config{} // httptest's own certificate: unknown CA, wrong names
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	defer srv.Close()
	e := newEnv(t)
	e.net.routes[publicIP] = srv.Listener.Addr().String()
	_, err := e.r.Resolve(context.Background(), testClientID)
	if OutcomeOf(err) != OutcomeNetworkError || !strings.Contains(err.Error(), "not trusted") {
		t.Fatalf("err = %v; want network_error about the certificate", err)
	}
}

func TestConcurrencyLimitsWaitForASlot(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.Fetch.MaxConcurrent, c.Fetch.MaxPerHost = 1, 1
	})
	release := make(chan struct{})
	e.host.handle(testClientID, func(w http.ResponseWriter, r *http.Request) {
		<-release
		jsonHandler(doc(testClientID))(w, r)
	})
	f := e.fetcher()
	done := make(chan error)
	go func() {
		_, err := f.Fetch(context.Background(), Request{Kind: KindDocument, URL: testClientID})
		done <- err
	}()
	for e.host.hits(testClientID) == 0 {
		runtime.Gosched()
	}
	// The only slot is taken: a second fetch (to another host) waits, then
	// gives up at its deadline without ever reaching the host.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := f.Fetch(ctx, Request{Kind: KindDocument, URL: "https://other.example/c.json"})
	if OutcomeOf(err) != OutcomeTimeout || !strings.Contains(err.Error(), "no fetch slot") {
		t.Fatalf("err = %v; want a timeout waiting for a slot", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if e.host.hits("https://other.example/c.json") != 0 {
		t.Fatal("the over-limit fetch reached the host")
	}
}
