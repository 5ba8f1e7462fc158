package resource_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/oauthex"

	"github.com/gatehouse-dev/gatehouse/resource"
)

// resourceServer starts a listener first, so that the resource URL (and so
// the metadata URL) is the real one, then serves what mount builds.
func resourceServer(t *testing.T, path string, mount func(v *resource.Verifier) http.Handler) (*httptest.Server, *resource.Verifier) {
	t.Helper()
	s := httptest.NewUnstartedServer(nil)
	v, err := resource.New(resource.Config{
		Resource:              "http://" + s.Listener.Addr().String() + path,
		Issuer:                "http://127.0.0.1:8080",
		ScopesSupported:       []string{"mcp:tools", "mcp:admin"},
		ResourceName:          "Demo MCP",
		ResourceDocumentation: "https://docs.example.com/mcp",
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Config.Handler = mount(v)
	s.Start()
	t.Cleanup(s.Close)
	return s, v
}

func mountMux(v *resource.Verifier) http.Handler {
	mux := http.NewServeMux()
	v.MountMetadata(mux)
	mux.Handle("/mcp", v.Middleware()(http.NotFoundHandler()))
	return mux
}

func get(t *testing.T, method, url string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

// The metadata answers at the path-inserted URL and at the root, as MCP
// clients probe them, and the MCP Go SDK's own fetcher accepts it.
func TestMetadataServedAtBothPaths(t *testing.T) {
	s, v := resourceServer(t, "/mcp", mountMux)
	if want := s.URL + "/.well-known/oauth-protected-resource/mcp"; v.MetadataURL() != want {
		t.Fatalf("MetadataURL %q, want %q", v.MetadataURL(), want)
	}
	if got := v.MetadataPaths(); !slices.Equal(got, []string{"/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"}) {
		t.Fatalf("MetadataPaths %v", got)
	}
	want := `{"resource":"` + s.URL + `/mcp","authorization_servers":["http://127.0.0.1:8080"],"scopes_supported":["mcp:tools","mcp:admin"],` +
		`"bearer_methods_supported":["header"],"resource_name":"Demo MCP","resource_documentation":"https://docs.example.com/mcp"}`
	for _, p := range v.MetadataPaths() {
		resp, body := get(t, http.MethodGet, s.URL+p)
		if resp.StatusCode != 200 || string(body) != want {
			t.Fatalf("GET %s: %d %s", p, resp.StatusCode, body)
		}
		for h, v := range map[string]string{"Content-Type": "application/json", "Access-Control-Allow-Origin": "*",
			"Cache-Control": "public, max-age=3600"} {
			if resp.Header.Get(h) != v {
				t.Errorf("GET %s: %s = %q, want %q", p, h, resp.Header.Get(h), v)
			}
		}
	}
	prm, err := oauthex.GetProtectedResourceMetadata(context.Background(), v.MetadataURL(), s.URL+"/mcp", http.DefaultClient)
	if err != nil {
		t.Fatalf("the MCP Go SDK refuses the metadata: %v", err)
	}
	if prm.AuthorizationServers[0] != "http://127.0.0.1:8080" || !slices.Equal(prm.BearerMethodsSupported, []string{"header"}) {
		t.Errorf("%+v", prm)
	}
	// The challenge of the protected endpoint points at that same URL.
	r := call(t, s.URL+"/mcp")
	if r.params["resource_metadata"] != v.MetadataURL() {
		t.Errorf("challenge %q", r.challenge)
	}
}

func TestMetadataHTTPSemantics(t *testing.T) {
	s, v := resourceServer(t, "/mcp", mountMux)
	url := v.MetadataURL()

	resp, _ := get(t, http.MethodOptions, url, "Origin", "https://app.example", "Access-Control-Request-Method", "GET",
		"Access-Control-Request-Headers", "mcp-protocol-version")
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != "*" || resp.Header.Get("Access-Control-Allow-Headers") != "*" {
		t.Errorf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
	resp, body := get(t, http.MethodHead, url)
	if resp.StatusCode != 200 || len(body) != 0 || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("HEAD: %d %q", resp.StatusCode, body)
	}
	resp, _ = get(t, http.MethodPost, url)
	if resp.StatusCode != 405 || resp.Header.Get("Allow") != "GET, HEAD, OPTIONS" {
		t.Errorf("POST: %d %v", resp.StatusCode, resp.Header)
	}
	resp, _ = get(t, http.MethodGet, url)
	etag := resp.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	resp, body = get(t, http.MethodGet, url, "If-None-Match", etag)
	if resp.StatusCode != 304 || len(body) != 0 {
		t.Errorf("If-None-Match: %d", resp.StatusCode)
	}
	// Neighbouring paths are not the metadata.
	for _, p := range []string{"/.well-known/oauth-protected-resource/mcp/x", "/.well-known/oauth-protected-resource/other"} {
		if resp, _ := get(t, http.MethodGet, s.URL+p); resp.StatusCode != 404 {
			t.Errorf("GET %s: %d, want 404", p, resp.StatusCode)
		}
	}
}

// Resource URLs at the root, and with a trailing slash (RFC 9728 §3.1).
func TestMetadataPathForms(t *testing.T) {
	for _, tt := range []struct {
		path     string
		paths    []string
		notFound string
	}{
		{"", []string{"/.well-known/oauth-protected-resource"}, "/.well-known/oauth-protected-resource/"},
		{"/", []string{"/.well-known/oauth-protected-resource"}, "/.well-known/oauth-protected-resource/x"},
		{"/mcp/", []string{"/.well-known/oauth-protected-resource/mcp/", "/.well-known/oauth-protected-resource"}, "/.well-known/oauth-protected-resource/mcp/x"},
		{"/tenants/a/mcp", []string{"/.well-known/oauth-protected-resource/tenants/a/mcp", "/.well-known/oauth-protected-resource"}, "/.well-known/oauth-protected-resource/tenants/a"},
	} {
		s, v := resourceServer(t, tt.path, func(v *resource.Verifier) http.Handler {
			mux := http.NewServeMux()
			v.MountMetadata(mux)
			return mux
		})
		if !slices.Equal(v.MetadataPaths(), tt.paths) {
			t.Errorf("%q: paths %v, want %v", tt.path, v.MetadataPaths(), tt.paths)
		}
		for _, p := range tt.paths {
			resp, body := get(t, http.MethodGet, s.URL+p)
			var md resource.ProtectedResourceMetadata
			json.Unmarshal(body, &md)
			if resp.StatusCode != 200 || md.Resource != s.URL+tt.path {
				t.Errorf("%q: GET %s: %d %s", tt.path, p, resp.StatusCode, body)
			}
		}
		if resp, _ := get(t, http.MethodGet, s.URL+tt.notFound); resp.StatusCode != 404 {
			t.Errorf("%q: GET %s: %d, want 404", tt.path, tt.notFound, resp.StatusCode)
		}
	}
}
