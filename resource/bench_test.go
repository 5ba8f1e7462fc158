package resource_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// BenchmarkVerify: the hot path, one Gatehouse token against cached keys
// (typ, claims, kid lookup, one ES256 signature check).
func BenchmarkVerify(b *testing.B) {
	g := startGatehouse(b)
	v := newVerifier(b, g, newClock())
	tok := g.token(b, testResource, "tools:call")
	ctx := context.Background()
	if _, err := v.Verify(ctx, tok); err != nil { // warm the key cache
		b.Fatal(err)
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := v.Verify(ctx, tok); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := v.Verify(ctx, tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}

// BenchmarkMiddleware: a whole protected request (header parsing,
// verification, scope check, context), without the network.
func BenchmarkMiddleware(b *testing.B) {
	g := startGatehouse(b)
	v := newVerifier(b, g, newClock())
	tok := g.token(b, testResource, "tools:call")
	h := v.Middleware("tools:call")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	req := httptest.NewRequest(http.MethodPost, "/mcp", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	if _, err := v.Verify(context.Background(), tok); err != nil { // warm the key cache
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatal(rec.Code, rec.Body)
			}
		}
	})
}

// BenchmarkVerifyIntrospection: introspection mode. cached is the steady
// state within CacheTTL (one map lookup on top of BenchmarkVerify);
// uncached asks real Gatehouse for every token (CacheTTL negative), the
// price of seeing revocation with no delay at all.
func BenchmarkVerifyIntrospection(b *testing.B) {
	g := startGatehouse(b)
	tok := g.token(b, testResource, "tools:call")
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		ttl  time.Duration
	}{{"cached", time.Minute}, {"uncached", -1}} {
		v := newVerifier(b, g, newClock(), introspecting(tc.ttl))
		if _, err := v.Verify(ctx, tok); err != nil {
			b.Fatal(err)
		}
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(ctx, tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
