package cimd

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/policy"
)

func TestReconfigureSwapsPolicyLive(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const id = "https://client.example/c.json"
	e.host.serveJSON(id, doc(id, "http://localhost/callback", "https://other.example/cb"), "Cache-Control", "max-age=3600")
	c, err := e.r.Resolve(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(c.Metadata.RedirectURIs, "https://other.example/cb") {
		t.Fatal("a cross-site redirect survived the default same-site policy")
	}

	// Deny the host: refused at once, with no new fetch.
	cfg := e.r.Config()
	cfg.Hosts.Deny = []string{"client.example"}
	if restart, err := e.r.Reconfigure(cfg); err != nil || len(restart) != 0 {
		t.Fatalf("Reconfigure = %v, %v", restart, err)
	}
	hits := e.host.hits(id)
	if _, err := e.r.Resolve(ctx, id); oauth.Code(err) != "invalid_client" || !strings.Contains(err.Error(), "client.example") {
		t.Fatalf("denied host resolved: %v", err)
	}
	if e.host.hits(id) != hits {
		t.Fatal("a denied host was fetched")
	}

	// Allow it again with redirect policy any: the cached document was
	// validated under same-site, so it is refetched and revalidated.
	cfg.Hosts.Deny = nil
	cfg.RedirectPolicy = policy.RedirectAny
	if _, err := e.r.Reconfigure(cfg); err != nil {
		t.Fatal(err)
	}
	c, err = e.r.Resolve(ctx, id)
	if err != nil || !slices.Contains(c.Metadata.RedirectURIs, "https://other.example/cb") || e.host.hits(id) != hits+1 {
		t.Fatalf("after policy any: %v %v (fetches %d)", c.Metadata.RedirectURIs, err, e.host.hits(id)-hits)
	}

	// Cache bounds apply live; connection settings need a restart.
	cfg.Cache.MaxBytes = 1 << 20
	cfg.Fetch.Timeout = time.Second
	restart, err := e.r.Reconfigure(cfg)
	if err != nil || !slices.Equal(restart, []string{"cimd.fetch"}) {
		t.Fatalf("restart = %v, %v", restart, err)
	}
	if got := e.r.docs.cache.MaxCost(); got != 1<<20 {
		t.Fatalf("cache bound = %d, want it resized in place", got)
	}
	if e.r.Config().Fetch.Timeout == time.Second {
		t.Fatal("a connection setting was applied live")
	}

	// An invalid configuration is refused whole: nothing changes.
	bad := e.r.Config()
	bad.Hosts.Deny = []string{"client.example"}
	bad.Cache.MinTTL = 48 * time.Hour
	if _, err := e.r.Reconfigure(bad); err == nil {
		t.Fatal("an invalid configuration was accepted")
	}
	if len(e.r.Config().Hosts.Deny) != 0 {
		t.Fatal("part of a refused configuration was applied")
	}
}

func TestDocumentChangeIsReported(t *testing.T) {
	type change struct{ id, old, new string }
	var changes []change
	e := newEnv(t)
	r, err := NewResolver(e.cfg, Deps{Now: e.clock.Now, Resolver: e.net, Dial: e.net.Dial,
		OnDocumentChanged: func(id, old, new string) { changes = append(changes, change{id, old, new}) }})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx := context.Background()
	const id = "https://client.example/c.json"
	e.host.serveJSON(id, doc(id), "Cache-Control", "max-age=60")
	first, err := r.Resolve(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(2 * time.Minute) // expired: refetched, unchanged
	if _, err := r.Resolve(ctx, id); err != nil || len(changes) != 0 {
		t.Fatalf("an unchanged document was reported: %v %v", changes, err)
	}
	e.host.serveJSON(id, doc(id, "http://localhost/other"), "Cache-Control", "max-age=60")
	e.clock.Advance(2 * time.Minute)
	second, err := r.Resolve(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 1 || changes[0].id != id || changes[0].old != first.Fingerprint || changes[0].new != second.Fingerprint {
		t.Fatalf("changes = %+v", changes)
	}
}
