//go:build chaos

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/gatehouse-dev/gatehouse/store/boltstore"
)

// TestFaultDiskFull fills the disk under the data directory (a small
// tmpfs in a private mount namespace) while the server runs. Writes must
// answer 503 temporarily_unavailable with Retry-After and change nothing;
// reads and token verification go on; when space returns, writes resume;
// every acknowledged write survives, and the file passes its check.
func TestFaultDiskFull(t *testing.T) {
	requireNamespaces(t)
	ctx := context.Background()
	dir := t.TempDir()
	g, err := newGatehouse(gatehouseBin, dir, append(append(settings{}, dcrSettings...), rsSettings...))
	if err != nil {
		t.Fatal(err)
	}
	seed, nsPID := filepath.Join(dir, "seed"), filepath.Join(dir, "namespace.pid")
	if err := os.MkdirAll(g.dataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := g.addUserTo(ctx, seed); err != nil {
		t.Fatal(err)
	}
	// A sleeper keeps the namespace (and its tmpfs) alive after the server
	// stops, so the database can be read back through /proc.
	g.wrap = inNamespace(g.dataDir,
		"mount -t tmpfs -o size=32m,mode=0700 tmpfs \"$data\"",
		"cp -a "+seed+"/. \"$data\"/",
		"sleep 600 & echo $! > "+nsPID)
	g.sysProc = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	if err := g.start(ctx); err != nil {
		t.Fatal(err)
	}
	defer g.kill()
	defer killPIDFile(nsPID)
	// Paths inside the namespace, through the sleeper's view of it.
	sleeper := readPID(t, nsPID)
	inside := func(name string) string { return fmt.Sprintf("/proc/%d/root%s/%s", sleeper, g.dataDir, name) }

	a := newAgent(g.base, 4)
	w := &worker{a: a, b: newBrowser(a), tally: newTally(), killing: func() bool { return false }}
	if err := w.b.signIn(ctx, nil); err != nil {
		t.Fatal(err)
	}
	// Before the disk fills: a client with tokens, and a few more.
	first := w.mustChain(t, ctx)
	for range 5 {
		w.mustChain(t, ctx)
	}

	filler := inside("filler")
	fill(t, filler)
	t.Logf("disk full: %s", dfLine(t, inside("")))

	// Writes: each is acknowledged (it fit in pages bbolt already holds)
	// or refused with 503 temporarily_unavailable and Retry-After. Go on
	// until a few have been refused.
	refused := 0
	for i := 0; refused < 5 && i < 500; i++ {
		c := &chain{name: randomName("full")}
		c.reg = registration{ClientName: c.name, RedirectURIs: []string{redirectURI}}
		for j := range 5 { // bigger records reach the end of the allocated pages sooner
			c.reg.Contacts = append(c.reg.Contacts, fmt.Sprintf("%s-%d@example.com", strings.Repeat("x", 250), j))
		}
		an := a.register(ctx, c.reg)
		switch {
		case an.status == http.StatusCreated:
			c.id, c.secret, c.rat = an.str("client_id"), an.str("client_secret"), an.str("registration_access_token")
			w.chains = append(w.chains, c)
		case an.status == http.StatusServiceUnavailable:
			refused++
			wantUnavailable(t, "registration", an)
		default:
			t.Fatalf("registration on a full disk: %s", an)
		}
	}
	if refused == 0 {
		t.Fatal("the disk is full, yet no write was refused")
	}
	t.Logf("on the full disk: %d registrations acknowledged (room in pages bbolt already held), %d refused with 503", len(w.chains)-6, refused)
	// A refresh and a new code: refused the same way, or done.
	an := a.refresh(ctx, first, first.refresh)
	switch an.status {
	case http.StatusOK:
		w.issued(first, an, "", "")
	case http.StatusServiceUnavailable:
		wantUnavailable(t, "refresh", an)
	default:
		t.Fatalf("refresh on a full disk: %s", an)
	}
	t.Logf("refresh on the full disk: %d", an.status)
	_, challenge := pkce()
	az, err := w.b.authorize(ctx, first, challenge)
	var ue *errUnexpected
	switch {
	case err == nil && az.code != "":
	case errors.As(err, &ue) && ue.a.status == http.StatusServiceUnavailable:
		if ue.a.header.Get("Retry-After") == "" || !strings.Contains(ue.a.raw, "Please wait") {
			t.Fatalf("authorization on a full disk: a 503 page without Retry-After or a wait message: %s", ue.a)
		}
		t.Log("authorization on the full disk: the 503 page, with Retry-After")
	default:
		t.Fatalf("authorization on a full disk: %v", err)
	}

	// Reads and token verification go on.
	for _, p := range []string{"/.well-known/oauth-authorization-server", "/jwks.json", "/readyz", "/login"} {
		if an := a.do(ctx, "read", mustRequest(http.MethodGet, g.base+p, ""), nil); an.status != http.StatusOK {
			t.Fatalf("GET %s on a full disk: %s", p, an)
		}
	}
	if an := a.readRegistration(ctx, first); an.status != http.StatusOK || !first.reg.matches(an.body) {
		t.Fatalf("reading a registration on a full disk: %s", an)
	}
	if active, ok := activeIn(a.introspectRS(ctx, first.access)); !ok || !active {
		t.Fatal("introspection on a full disk does not answer active for a live token")
	}
	verifyOffline(t, a, first.access)

	// Space returns: writes resume at once.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		w.mustChain(t, ctx)
	}
	if an := a.refresh(ctx, first, first.refresh); an.status != http.StatusOK {
		t.Fatalf("refresh after space returned: %s", an)
	} else {
		w.issued(first, an, "", "")
	}

	// Every acknowledged write is there, before and after a restart.
	checkChains(t, ctx, w)
	g.stop()
	if code := g.exitCode(); code != 0 {
		t.Fatalf("graceful stop exited %d; log:\n%s", code, g.logTail())
	}
	db := copyOut(t, inside("gatehouse.db"), filepath.Join(dir, "copy"))
	if err := boltstore.CheckFile(db); err != nil {
		t.Fatalf("the database after a full disk: %v", err)
	}
	// The same data on an ordinary directory.
	killPIDFile(nsPID)
	if err := os.Rename(db, g.dbPath()); err != nil {
		t.Fatal(err)
	}
	g.wrap, g.sysProc = nil, nil
	if err := g.start(ctx); err != nil {
		t.Fatal(err)
	}
	a.forget()
	checkChains(t, ctx, w)
}

// mustChain registers a client, authorizes it and redeems the code.
func (w *worker) mustChain(t *testing.T, ctx context.Context) *chain {
	t.Helper()
	if err := w.register(ctx); err != nil {
		t.Fatal(err)
	}
	c := w.chains[len(w.chains)-1]
	if err := w.authorize(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := w.exchange(ctx, c); err != nil || c.refresh == "" {
		t.Fatalf("exchange: %v", err)
	}
	return c
}

// checkChains reads every registration back and, for clients with a
// grant, refreshes.
func checkChains(t *testing.T, ctx context.Context, w *worker) {
	t.Helper()
	for _, c := range w.chains {
		if an := w.a.readRegistration(ctx, c); an.status != http.StatusOK || !c.reg.matches(an.body) {
			t.Fatalf("acknowledged registration %s: %s", c.id, an)
		}
		if c.refresh == "" {
			continue
		}
		an := w.a.refresh(ctx, c, c.refresh)
		if an.status != http.StatusOK {
			t.Fatalf("acknowledged refresh token of %s: %s", c.id, an)
		}
		w.issued(c, an, "", "")
	}
}

func wantUnavailable(t *testing.T, what string, an answer) {
	t.Helper()
	ra, err := strconv.Atoi(an.header.Get("Retry-After"))
	if an.str("error") != "temporarily_unavailable" || err != nil || ra < 1 {
		t.Fatalf("%s refused on a full disk without temporarily_unavailable and Retry-After: %s (Retry-After %q)",
			what, an, an.header.Get("Retry-After"))
	}
}

// fill writes zeros to path until the file system is full.
func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	for {
		if _, err := f.Write(buf); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				return
			}
			t.Fatal(err)
		}
	}
}

func dfLine(t *testing.T, path string) string {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return err.Error()
	}
	return fmt.Sprintf("%d of %d KiB free", st.Bavail*uint64(st.Bsize)>>10, st.Blocks*uint64(st.Bsize)>>10)
}

// verifyOffline checks an access token's signature against /jwks.json, as
// a resource server does.
func verifyOffline(t *testing.T, a *agent, token string) {
	t.Helper()
	an := a.do(context.Background(), "jwks", mustRequest(http.MethodGet, a.base+"/jwks.json", ""), nil)
	var set jose.JSONWebKeySet
	if err := json.Unmarshal([]byte(an.raw), &set); err != nil {
		t.Fatal(err)
	}
	parsed, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	var claims jwt.Claims
	if err := parsed.Claims(&set, &claims); err != nil {
		t.Fatalf("an access token does not verify against /jwks.json: %v", err)
	}
	if err := claims.ValidateWithLeeway(jwt.Expected{Time: time.Now()}, 0); err != nil {
		t.Fatal(err)
	}
}

func copyOut(t *testing.T, from, dir string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	to := filepath.Join(dir, "gatehouse.db")
	out, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return to
}

func readPID(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		t.Fatalf("bad PID file %s: %q", path, b)
	}
	return pid
}

// killPIDFile ends the process whose PID the file holds (the namespace's
// sleeper, started by this test).
func killPIDFile(path string) {
	b, err := os.ReadFile(path)
	if err != nil {
		return
	}
	if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 1 {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	os.Remove(path)
}
