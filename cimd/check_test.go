package cimd

import (
	"bytes"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var fetchDuration = regexp.MustCompile(` · [0-9.]+(ms|µs|s|ns) · `)

var update = flag.Bool("update", false, "rewrite the golden check reports in testdata/check")

func TestCheckAcceptedVendorDocument(t *testing.T) {
	e := newEnv(t)
	body, id := vendorDoc(t, "mcpjam-2026-06.json")
	e.host.serveJSON(id, string(body), "Cache-Control", "public, max-age=300", "ETag", `"abc"`)
	e.host.handle("https://www.mcpjam.com/mcp_jam_2row.png", func(w http.ResponseWriter, r *http.Request) { w.Write(pngBytes) })
	rep := e.r.Check(bg, id, "http://127.0.0.1:6274/oauth/callback")
	if !rep.Accepted() || rep.Err != nil {
		t.Fatalf("refused: %v", rep.Err)
	}
	if rep.Client == nil || rep.Cache == nil || rep.Cache.TTL.Seconds() != 300 || rep.Fetch.ETag != `"abc"` {
		t.Fatalf("report = %+v", rep)
	}
	if len(e.r.Entries()) != 0 {
		t.Fatal("Check cached the document")
	}
	golden(t, "mcpjam-accepted.txt", rep)
}

func TestCheckRedirectDroppedByPolicy(t *testing.T) {
	e := newEnv(t)
	body, id := vendorDoc(t, "mcpjam-2026-06.json")
	e.host.serveJSON(id, string(body))
	rep := e.r.Check(bg, id, "mcpjam://oauth/callback")
	if rep.Accepted() {
		t.Fatal("a redirect the policy dropped was accepted")
	}
	golden(t, "mcpjam-redirect-refused.txt", rep)
}

func TestCheckRefusedDocument(t *testing.T) {
	e := newEnv(t)
	e.host.serveJSON(testClientID, `{"client_id":"https://client.example/other.json","client_name":"X",`+
		`"client_secret":"s","redirect_uris":["https://evil.example/cb"],"grant_types":["implicit"]}`)
	rep := e.r.Check(bg, testClientID, "")
	if rep.Accepted() || OutcomeOf(rep.Err) != OutcomeInvalidDocument {
		t.Fatalf("accepted or wrong error: %v", rep.Err)
	}
	golden(t, "refused-document.txt", rep)
}

func TestCheckBlockedAddressAndURLRules(t *testing.T) {
	e := newEnv(t)
	e.net.resolveTo("client.example", addrs("10.0.0.8"))
	rep := e.r.Check(bg, testClientID, "")
	if rep.Accepted() || OutcomeOf(rep.Err) != OutcomeBlockedAddress || e.net.dialCount() != 0 {
		t.Fatalf("err = %v", rep.Err)
	}
	golden(t, "blocked-address.txt", rep)

	rep = e.r.Check(bg, "https://client.example/a/../client.json?x=1", "")
	if rep.Accepted() || rep.Fetch != nil {
		t.Fatal("a bad client_id URL was fetched")
	}
	golden(t, "bad-url.txt", rep)
}

func TestCheckBypassesBackoff(t *testing.T) {
	e := newEnv(t)
	e.host.handle(testClientID, statusHandler(500))
	e.r.Resolve(bg, testClientID)
	e.host.serveJSON(testClientID, doc(testClientID))
	if rep := e.r.Check(bg, testClientID, ""); !rep.Accepted() {
		t.Fatalf("Check honoured the failure backoff: %v", rep.Err)
	}
}

// golden compares the rendered report with testdata/check/name (go test
// -update rewrites it). Reading the golden files is the review of the
// output's layout.
func golden(t *testing.T, name string, rep *Report) {
	t.Helper()
	var buf bytes.Buffer
	if err := rep.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	got := buf.String()
	got = fetchDuration.ReplaceAllString(got, " · 12ms · ") // durations vary
	path := filepath.Join("testdata", "check", name)
	if *update {
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if got != string(want) {
		t.Fatalf("report differs from %s (go test -update to accept):\n%s", path, got)
	}
	for i, line := range strings.Split(got, "\n") {
		if n := len([]rune(line)); n > reportWidth {
			t.Errorf("line %d is %d characters wide: %q", i+1, n, line)
		}
	}
}
