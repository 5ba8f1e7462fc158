package resource_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-dev/gatehouse/resource"
	"github.com/gatehouse-dev/gatehouse/server"
)

// A client that names the resource "http://127.0.0.1:9000/" (a URL parser's
// spelling of a path-less origin) gets a token from real Gatehouse that a
// resource server configured as "http://127.0.0.1:9000" accepts, and aud is
// the operator's spelling.
func TestTrailingSlashResourceTokenIsAccepted(t *testing.T) {
	const origin = "http://127.0.0.1:9000"
	g := startGatehouse(t, server.Resource{URI: origin, Scopes: []string{"tools:call"}})
	v := newVerifier(t, g, newClock(), func(c *resource.Config) { c.Resource = origin })
	for _, sent := range []string{origin + "/", "HTTP://127.0.0.1:9000", origin} {
		c, err := v.Verify(context.Background(), g.token(t, sent, "tools:call"))
		if err != nil {
			t.Fatalf("resource %q: Verify: %v", sent, err)
		}
		if !slices.Equal(c.Audience, []string{origin}) {
			t.Errorf("resource %q: aud = %q, want the configured %q", sent, c.Audience, origin)
		}
	}
}

// The kit compares aud with Config.Resource as URIs, by the same rule as
// Gatehouse (oauth.SameResource): equivalent spellings are accepted, other
// hosts, ports and paths are not.
func TestVerifyAudienceSpellings(t *testing.T) {
	g := startGatehouse(t)
	clk := newClock()
	key := g.signingKey(t)
	for _, tc := range []struct {
		resource string
		aud      any
		ok       bool
	}{
		{"http://127.0.0.1:9000/mcp", "http://127.0.0.1:9000/mcp", true},
		{"http://127.0.0.1:9000/mcp", "HTTP://127.0.0.1:9000/%6Dcp", true},
		{"http://127.0.0.1:9000/mcp", []string{"https://other.example/", "http://127.0.0.1:9000/mcp"}, true},
		{"http://127.0.0.1:9000", "http://127.0.0.1:9000/", true},
		{"http://127.0.0.1:9000/", "http://127.0.0.1:9000", true},
		{"http://127.0.0.1:80/", "http://127.0.0.1", true},
		{"http://127.0.0.1:9000/mcp", "http://127.0.0.1:9000/mcp/", false},
		{"http://127.0.0.1:9000/mcp", "http://127.0.0.1:9001/mcp", false},
		{"http://127.0.0.1:9000/mcp", "http://localhost:9000/mcp", false},
		{"http://127.0.0.1:9000/mcp", "http://127.0.0.1:9000/MCP", false},
		{"http://127.0.0.1:9000/mcp", "http://127.0.0.1:9000/mcp#x", false},
		{"http://127.0.0.1:9000/mcp", "https://127.0.0.1:9000/mcp", false},
		{"http://127.0.0.1:9000/mcp", "http://127.0.0.1:9000/mcp?", false},
	} {
		v := newVerifier(t, g, clk, func(c *resource.Config) { c.Resource = tc.resource })
		claims := g.validClaims(clk.Now())
		claims["aud"] = tc.aud
		_, err := v.Verify(context.Background(), sign(t, key, jose.ES256, claims, nil))
		switch {
		case tc.ok && err != nil:
			t.Errorf("resource %q, aud %v: %v", tc.resource, tc.aud, err)
		case !tc.ok && !errors.Is(err, resource.ErrAudience):
			t.Errorf("resource %q, aud %v: err = %v, want ErrAudience", tc.resource, tc.aud, err)
		}
	}
}
