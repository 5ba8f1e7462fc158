package resource_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-dev/gatehouse/resource"
)

// Issue 10 item 9: the clock-skew leeway is configurable, including none,
// and applies to exp, nbf and iat alike.
func TestConfigurableLeeway(t *testing.T) {
	g := startGatehouse(t)
	clk := newClock()
	key := g.signingKey(t)
	now := clk.Now()
	for _, tc := range []struct {
		name   string
		leeway time.Duration
		claims map[string]any
		want   error
	}{
		{"default, expired 20s ago", 0, map[string]any{"exp": now.Add(-20 * time.Second).Unix()}, nil},
		{"default, expired 40s ago", 0, map[string]any{"exp": now.Add(-40 * time.Second).Unix()}, resource.ErrExpired},
		{"none, expired 1s ago", resource.NoLeeway, map[string]any{"exp": now.Add(-time.Second).Unix()}, resource.ErrExpired},
		{"none, valid for 1s", resource.NoLeeway, map[string]any{"exp": now.Add(time.Second).Unix()}, nil},
		{"none, nbf 1s ahead", resource.NoLeeway, map[string]any{"nbf": now.Add(time.Second).Unix()}, resource.ErrNotYetValid},
		{"none, iat 1s ahead", resource.NoLeeway, map[string]any{"iat": now.Add(time.Second).Unix()}, resource.ErrNotYetValid},
		{"2m, expired 90s ago", 2 * time.Minute, map[string]any{"exp": now.Add(-90 * time.Second).Unix()}, nil},
		{"2m, iat 90s ahead", 2 * time.Minute, map[string]any{"iat": now.Add(90 * time.Second).Unix()}, nil},
		{"2m, expired 3m ago", 2 * time.Minute, map[string]any{"exp": now.Add(-3 * time.Minute).Unix()}, resource.ErrExpired},
		{"max, expired 4m ago", resource.MaxLeeway, map[string]any{"exp": now.Add(-4 * time.Minute).Unix()}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := newVerifier(t, g, clk, func(c *resource.Config) { c.Leeway = tc.leeway })
			claims := g.validClaims(now)
			for k, val := range tc.claims {
				claims[k] = val
			}
			_, err := v.Verify(context.Background(), sign(t, key, jose.ES256, claims, nil))
			switch {
			case tc.want == nil && err != nil:
				t.Fatalf("err = %v, want accepted", err)
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}
