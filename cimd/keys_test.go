package cimd

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/oauth"
)

const jwksURL = "https://keys.example/oauth/jwks.json"

func pkjwtDoc(extra map[string]any) string {
	set := map[string]any{"client_id": testClientID, "token_endpoint_auth_method": "private_key_jwt"}
	for k, v := range extra {
		set[k] = v
	}
	b, _ := json.Marshal(set)
	var m map[string]any
	json.Unmarshal([]byte(doc(testClientID)), &m)
	json.Unmarshal(b, &m)
	out, _ := json.Marshal(m)
	return string(out)
}

func TestClientKeysInline(t *testing.T) {
	e := newEnv(t)
	e.host.serveJSON(testClientID, pkjwtDoc(map[string]any{"jwks": jwkSet(testJWK(t, false, nil))}))
	c := mustResolve(t, e)
	set, err := e.r.ClientKeys(bg, c)
	if err != nil || len(set.Keys) != 1 || set.Keys[0].KeyID != "k1" || !set.Keys[0].IsPublic() {
		t.Fatalf("ClientKeys = %+v, %v", set, err)
	}
}

func TestClientKeysFromJWKSURI(t *testing.T) {
	e := newEnv(t)
	e.host.serveJSON(testClientID, pkjwtDoc(map[string]any{"jwks_uri": jwksURL}))
	k1 := testJWK(t, false, nil)
	body, _ := json.Marshal(jwkSet(k1))
	e.host.serveJSON(jwksURL, string(body), "Cache-Control", "max-age=600")
	c := mustResolve(t, e)
	for range 3 {
		set, err := e.r.ClientKeys(bg, c)
		if err != nil || len(set.Keys) != 1 {
			t.Fatalf("ClientKeys = %+v, %v", set, err)
		}
	}
	if n := e.host.hits(jwksURL); n != 1 {
		t.Fatalf("key set fetched %d times; want 1 (cached)", n)
	}
	if e.obs.fetch("jwks/ok") != 1 {
		t.Fatalf("fetch outcomes %v", e.obs.fetches)
	}

	// Key rotation: an unknown kid refetches once, rate-limited.
	k2 := testJWK(t, false, func(m map[string]any) { m["kid"] = "k2" })
	body, _ = json.Marshal(jwkSet(k1, k2))
	e.host.serveJSON(jwksURL, string(body), "Cache-Control", "max-age=600")
	set, err := e.r.ClientKeysForKID(bg, c, "k2")
	if err != nil || len(set.Key("k2")) != 1 {
		t.Fatalf("after rotation: %+v, %v", set, err)
	}
	if _, err := e.r.ClientKeysForKID(bg, c, "nope"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.r.ClientKeysForKID(bg, c, "nope-again"); err != nil {
		t.Fatal(err)
	}
	if n := e.host.hits(jwksURL); n != 2 {
		t.Fatalf("key set fetched %d times; want 2 (initial, k2; unknown kids are rate-limited)", n)
	}
	e.clock.Advance(15 * time.Second)
	e.r.ClientKeysForKID(bg, c, "nope")
	if n := e.host.hits(jwksURL); n != 3 {
		t.Fatalf("after the interval: %d fetches; want 3", n)
	}
}

func TestClientKeysRefusesHostileSets(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(e *env)
		outcome string
		detail  string
	}{
		{"private key", func(e *env) {
			b, _ := json.Marshal(jwkSet(testJWK(t, true, nil)))
			e.host.serveJSON(jwksURL, string(b))
		}, OutcomeInvalidDocument, "private or symmetric"},
		{"no usable key", func(e *env) {
			e.host.serveJSON(jwksURL, `{"keys":[{"kty":"OKP","crv":"X448","x":"AA"}]}`)
		}, OutcomeInvalidDocument, "no usable public signing key"},
		{"duplicate keys member", func(e *env) { e.host.serveJSON(jwksURL, `{"keys":[],"keys":[]}`) },
			OutcomeInvalidDocument, "twice"},
		{"private address", func(e *env) { e.net.resolveTo("keys.example", addrs("10.0.0.7")) },
			OutcomeBlockedAddress, "10.0.0.7"},
		{"too large", func(e *env) {
			e.host.serveJSON(jwksURL, `{"keys":[]`+strings.Repeat(" ", 70_000)+`}`)
		}, OutcomeTooLarge, "65536"},
		{"redirect", func(e *env) {
			e.host.handle(jwksURL, redirectHandler(http.StatusFound))
		}, OutcomeBadStatus, "302"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.host.serveJSON(testClientID, pkjwtDoc(map[string]any{"jwks_uri": jwksURL}))
			tt.setup(e)
			c := mustResolve(t, e)
			_, err := e.r.ClientKeys(bg, c)
			if OutcomeOf(err) != tt.outcome || !strings.Contains(err.Error(), tt.detail) {
				t.Fatalf("err = %v; want %s mentioning %q", err, tt.outcome, tt.detail)
			}
			if oauth.Code(err) != oauth.ErrCodeInvalidClient || !strings.Contains(err.Error(), "jwks_uri: ") {
				t.Fatalf("err = %v; want invalid_client about jwks_uri", err)
			}
			want := map[string]int{"document/ok": 1, "jwks/" + tt.outcome: 1}
			if got := e.obs.fetchCounts(); !maps.Equal(got, want) {
				t.Fatalf("fetches counted %v; want %v", got, want)
			}
		})
	}
}

func TestClientKeysWithoutKeys(t *testing.T) {
	e := newEnv(t)
	e.host.serveJSON(testClientID, doc(testClientID))
	_, err := e.r.ClientKeys(bg, mustResolve(t, e))
	if oauth.Code(err) != oauth.ErrCodeInvalidClient {
		t.Fatalf("err = %v", err)
	}
}

var (
	pngBytes  = append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{0}, 64)...)
	jpegBytes = append([]byte("\xff\xd8\xff\xe0"), bytes.Repeat([]byte{0}, 64)...)
	gifBytes  = append([]byte("GIF89a"), bytes.Repeat([]byte{0}, 64)...)
	webpBytes = append([]byte("RIFF\x00\x00\x00\x00WEBPVP8 "), bytes.Repeat([]byte{0}, 64)...)
	svgBytes  = []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`)
)

func TestLogo(t *testing.T) {
	const logo = "https://cdn.example/logo"
	tests := []struct {
		name     string
		body     []byte
		declared string
		wantType string
		outcome  string
	}{
		{"png", pngBytes, "image/png", "image/png", OutcomeOK},
		{"jpeg served as octet-stream", jpegBytes, "application/octet-stream", "image/jpeg", OutcomeOK},
		{"gif", gifBytes, "image/gif", "image/gif", OutcomeOK},
		{"webp", webpBytes, "image/webp", "image/webp", OutcomeOK},
		{"svg refused", svgBytes, "image/svg+xml", "", OutcomeInvalidDocument},
		{"html claiming png", []byte("<html><script>x</script>"), "image/png", "", OutcomeInvalidDocument},
		{"too large", append(pngBytes, make([]byte, 70_000)...), "image/png", "", OutcomeTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.host.serveJSON(testClientID, docWith(map[string]any{"client_id": testClientID, "logo_uri": logo}))
			e.host.handle(logo, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tt.declared)
				w.Write(tt.body)
			})
			c := mustResolve(t, e)
			ct, data, err := e.r.Logo(bg, c)
			if got := OutcomeOf(err); got != tt.outcome {
				t.Fatalf("outcome %q (%v); want %q", got, err, tt.outcome)
			}
			want := map[string]int{"document/ok": 1, "logo/" + tt.outcome: 1}
			if got := e.obs.fetchCounts(); !maps.Equal(got, want) {
				t.Fatalf("fetches counted %v; want %v", got, want)
			}
			if err != nil {
				return
			}
			if ct != tt.wantType || !bytes.Equal(data, tt.body) {
				t.Fatalf("Logo = %q, %d bytes", ct, len(data))
			}
			e.r.Logo(bg, c)
			if n := e.host.hits(logo); n != 1 {
				t.Fatalf("logo fetched %d times; want 1 (cached)", n)
			}
		})
	}
}

func TestLogoSSRFAndAbsence(t *testing.T) {
	e := newEnv(t)
	e.net.resolveTo("cdn.example", addrs("169.254.169.254"))
	e.net.routes[netip.MustParseAddr("169.254.169.254")] = e.host.srv.Listener.Addr().String()
	e.host.serveJSON(testClientID, docWith(map[string]any{"client_id": testClientID, "logo_uri": "https://cdn.example/l.png"}))
	c := mustResolve(t, e)
	if _, _, err := e.r.Logo(bg, c); OutcomeOf(err) != OutcomeBlockedAddress {
		t.Fatalf("err = %v", err)
	}
	if e.host.hits("https://cdn.example/l.png") != 0 {
		t.Fatal("the metadata address was fetched")
	}
	noLogo := *c
	noLogo.Metadata.LogoURI = ""
	if _, _, err := e.r.Logo(bg, &noLogo); !errors.Is(err, ErrNoLogo) {
		t.Fatalf("err = %v", err)
	}
}
