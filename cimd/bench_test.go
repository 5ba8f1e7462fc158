package cimd

import (
	"context"
	"testing"

	"github.com/gatehouse-dev/gatehouse/policy"
)

// benchResolver is a resolver on the test network with the real clock.
func benchResolver(b *testing.B) (*env, *Resolver) {
	e := newEnv(b)
	deps := e.deps()
	deps.Now = nil // time.Now, as in production
	deps.Observer = nil
	r, err := NewResolver(e.cfg, deps)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(r.Close)
	body, id := vendorDoc(b, "claude-code.json")
	e.host.serveJSON(id, string(body), "Cache-Control", "max-age=3600")
	if _, err := r.Resolve(context.Background(), id); err != nil {
		b.Fatal(err)
	}
	return e, r
}

// The hot path of every authorization request for a CIMD client: URL
// rules, host policy, cache lookup, freshness check.
func BenchmarkResolveCacheHit(b *testing.B) {
	_, r := benchResolver(b)
	const id = "https://claude.ai/oauth/claude-code-client-metadata"
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Resolve(ctx, id); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkResolveCacheHitParallel(b *testing.B) {
	_, r := benchResolver(b)
	const id = "https://claude.ai/oauth/claude-code-client-metadata"
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			if _, err := r.Resolve(ctx, id); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkResolveForRedirectLoopbackHit(b *testing.B) {
	_, r := benchResolver(b)
	const id = "https://claude.ai/oauth/claude-code-client-metadata"
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.ResolveForRedirect(ctx, id, "http://localhost:53682/callback"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidateDocument(b *testing.B) {
	for _, name := range []string{"claude-code.json", "mcpjam-2026-06.json"} {
		body, id := vendorDoc(b, name)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := ValidateDocument(body, id, id, policy.RedirectSameSite); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// A full miss: fetch over a kept-alive TLS connection, validate, cache.
func BenchmarkResolveMissKeepAlive(b *testing.B) {
	e, r := benchResolver(b)
	const id = "https://claude.ai/oauth/claude-code-client-metadata"
	ctx := context.Background()
	_ = e
	b.ReportAllocs()
	for b.Loop() {
		r.Purge(id)
		if _, err := r.Resolve(ctx, id); err != nil {
			b.Fatal(err)
		}
	}
}
