package resource_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/resource"
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

// BenchmarkToolCalls: reading the tools a JSON-RPC body calls, which
// ToolMiddleware does on every MCP POST: a typical tools/call, and one
// whose arguments are 64 KB.
func BenchmarkToolCalls(b *testing.B) {
	small := []byte(`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"write_note","arguments":{"text":"hello"},"_meta":{"progressToken":7}}}`)
	large := []byte(`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"write_note","arguments":{"text":"` +
		strings.Repeat("x", 64<<10) + `"}}}`)
	for name, body := range map[string][]byte{"small": small, "64KB": large} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if names, unknown := resource.ToolCalls(body); unknown || len(names) != 1 {
					b.Fatal(names, unknown)
				}
			}
		})
	}
}

// BenchmarkToolMiddleware: a whole protected tools/call through
// ToolMiddleware (body read, tool lookup, verification), to compare with
// BenchmarkMiddleware.
func BenchmarkToolMiddleware(b *testing.B) {
	g := startGatehouse(b)
	v := newVerifier(b, g, newClock())
	tok := g.token(b, testResource, "tools:call", "admin")
	h := v.ToolMiddleware(resource.ToolScopes{"write_note": {"admin"}}, "tools:call")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	body := `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"write_note","arguments":{"text":"hello"}}}`
	if _, err := v.Verify(context.Background(), tok); err != nil { // warm the key cache
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(http.MethodPost, "/mcp", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+tok)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatal(rec.Code, rec.Body)
			}
		}
	})
}
