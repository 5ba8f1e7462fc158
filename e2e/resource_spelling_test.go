//go:build e2e

package e2e

import (
	"slices"
	"strings"
	"testing"
)

// TestResourceSpelling: an MCP server whose canonical URI is a path-less
// origin (http://127.0.0.1:PORT, configured so in Gatehouse and in the demo
// server). A TS SDK client that validates the resource itself (the
// provider's validateResourceURL hook, RESOURCE_AS_URL=1) gets it back as a
// parsed URL and sends "http://127.0.0.1:PORT/" (../shared/spec/round2.md
// §4; SDKs before #1968 did so for every client); Gatehouse
// must treat it as the same resource (RFC 3986 §6.2.3) and issue a token
// whose aud is the configured spelling, which the demo server accepts.
func TestResourceSpelling(t *testing.T) {
	st := startStackWith(t, "origin", nil, stackOptions{originResource: true, extra: strictRefresh})
	for _, sdk := range []string{"v1", "v2"} {
		t.Run("ts-sdk-"+sdk, func(t *testing.T) {
			t.Parallel()
			testTrailingSlashResource(t, st, sdk)
		})
	}
}

func testTrailingSlashResource(t *testing.T, st *stack, sdk string) {
	env := []string{"SDK=" + sdk, "MCP_URL=" + st.mcpURL, "ISSUER=" + st.issuer, "REDIRECT_URL=" + driverRedirect,
		"LOGIN_USER=" + testUser, "LOGIN_PASSWORD=" + testPassword, "CLIENT_METADATA_URL=", "RESOURCE_AS_URL=1"}
	var r tsReport
	runNode(t, "ts-sdk.mjs", env, &r)
	if !r.OK {
		t.Fatalf("%s %s failed: %s\nsteps: %v", r.SDKPackage, r.SDKVersion, r.Error, r.Steps)
	}
	sent := st.mcpURL + "/"
	if got := r.AuthorizationRequest["resource"]; got != sent {
		t.Fatalf("the SDK sent resource %q at /authorize, want %q (the quirk this test is about)", got, sent)
	}
	var tokenCalls int
	for _, q := range r.Requests {
		if q.path() != "/token" {
			continue
		}
		tokenCalls++
		if q.Status != 200 || q.Form["resource"] != sent {
			t.Errorf("%s at /token: status %d, resource %q; want 200 for %q", q.Form["grant_type"], q.Status, q.Form["resource"], sent)
		}
	}
	if tokenCalls < 2 {
		t.Errorf("want the code exchange and a refresh, saw %d token requests", tokenCalls)
	}
	if r.Add["sum"] != 5.0 || r.AddAfterRefresh["sum"] != 42.0 {
		t.Errorf("tool calls: add %v, add after refresh %v", r.Add, r.AddAfterRefresh)
	}
	// aud is the operator's spelling, not the client's.
	if !slices.Equal(r.Whoami.Aud, []string{st.mcpURL}) || !strings.HasPrefix(r.Whoami.Sub, "usr_") {
		t.Errorf("whoami: aud %v (want [%s]), sub %q", r.Whoami.Aud, st.mcpURL, r.Whoami.Sub)
	}
}
