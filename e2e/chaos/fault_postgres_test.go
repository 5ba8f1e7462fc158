//go:build chaos

package main

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"
)

// TestFaultPostgresStopsAndComesBack stops the PostgreSQL server under a
// running Gatehouse and starts it again. While it is down, /readyz says
// unready, every request that needs the database fails fast with 503
// temporarily_unavailable and Retry-After (never a 500, never a hang),
// and what needs no database (metadata, keys, offline token
// verification) goes on. When it is back, the pool recovers by itself:
// /readyz is ready again, writes succeed, and nothing acknowledged before
// the outage is missing.
func TestFaultPostgresStopsAndComesBack(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	pg, err := startPostgres(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.close()
	extra := append(append(append(settings{}, dcrSettings...), rsSettings...), pg.settings()...)
	g, err := newGatehouse(gatehouseBin, dir, extra)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.addUser(ctx); err != nil {
		t.Fatal(err)
	}
	if err := g.start(ctx); err != nil {
		t.Fatal(err)
	}
	defer g.stop()
	a := newAgent(g.base, 4)
	w := &worker{a: a, b: newBrowser(a), tally: newTally(), killing: func() bool { return false }}
	if err := w.b.signIn(ctx, nil); err != nil {
		t.Fatal(err)
	}
	first := w.mustChain(t, ctx)
	for range 3 {
		w.mustChain(t, ctx)
	}

	if err := pg.stop(ctx, "fast"); err != nil {
		t.Fatal(err)
	}
	get := func(path string) answer { return a.do(ctx, "get", mustRequest(http.MethodGet, g.base+path, ""), nil) }
	deadline := time.Now().Add(20 * time.Second)
	for an := get("/readyz"); an.status != http.StatusServiceUnavailable; an = get("/readyz") {
		if time.Now().After(deadline) {
			t.Fatalf("/readyz with PostgreSQL stopped: %s", an)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Every request that needs the database: 503 with Retry-After.
	var slowest time.Duration
	for i := range 3 {
		for _, op := range []struct {
			name string
			do   func() answer
		}{
			{"registration", func() answer {
				return a.register(ctx, registration{ClientName: randomName("down"), RedirectURIs: []string{redirectURI}})
			}},
			{"registration read", func() answer { return a.readRegistration(ctx, first) }},
			{"refresh", func() answer { return a.refresh(ctx, first, first.refresh) }},
			{"introspection", func() answer { return a.introspectRS(ctx, first.access) }},
		} {
			an := op.do()
			if an.inFlight() || an.status != http.StatusServiceUnavailable {
				t.Fatalf("%s #%d with PostgreSQL stopped: %s", op.name, i, an)
			}
			wantUnavailable(t, op.name, an)
			slowest = max(slowest, an.took)
		}
		_, challenge := pkce()
		_, err := w.b.authorize(ctx, first, challenge)
		var ue *errUnexpected
		if !errors.As(err, &ue) || ue.a.status != http.StatusServiceUnavailable || ue.a.header.Get("Retry-After") == "" {
			t.Fatalf("authorization with PostgreSQL stopped: %v", err)
		}
		slowest = max(slowest, ue.a.took)
	}
	// "Fast": a bound far above the connect timeout (2 s), to catch a
	// request that hangs, not to time the server.
	if slowest > 10*time.Second {
		t.Fatalf("a request took %v to fail with PostgreSQL stopped", slowest)
	}
	t.Logf("with PostgreSQL stopped, the slowest refusal took %v", slowest.Round(time.Millisecond))
	for _, p := range []string{"/.well-known/oauth-authorization-server", "/jwks.json"} {
		if an := get(p); an.status != http.StatusOK {
			t.Fatalf("GET %s with PostgreSQL stopped: %s", p, an)
		}
	}
	verifyOffline(t, a, first.access)

	// Back: the pool reconnects by itself.
	if err := pg.start(ctx); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(30 * time.Second)
	for an := get("/readyz"); an.status != http.StatusOK; an = get("/readyz") {
		if time.Now().After(deadline) {
			t.Fatalf("/readyz 30 s after PostgreSQL came back: %s", an)
		}
		time.Sleep(100 * time.Millisecond)
	}
	w.mustChain(t, ctx)
	checkChains(t, ctx, w)
}
