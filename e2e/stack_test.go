//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	// The one account every test signs in with.
	testUser     = "alice"
	testPassword = "correct horse battery staple"
	// mcpScope is what the demo MCP server requires on every request.
	mcpScope = "mcp:tools"
	// writeScope is what the demo's write_note tool needs on top of
	// mcpScope: calling it with an mcpScope token is the step-up.
	writeScope = "mcp:write"
	// driverRedirect is the loopback redirect URI of every headless driver:
	// nothing listens there, the drivers stop at the redirect to it.
	driverRedirect = "http://127.0.0.1:53682/callback"
)

// stack is a running Gatehouse with the demo MCP server it protects.
type stack struct {
	name      string
	issuer    string // http://127.0.0.1:PORT
	mcpURL    string // http://127.0.0.1:MCPPORT/mcp, the resource
	cimd      bool   // Gatehouse resolves https client IDs
	docs      *docHost
	gatehouse *proc
	mcp       *proc
	// cfgPath is the configuration file; base is its content without
	// stackOptions.extra, so a test can rewrite the rest and reload.
	cfgPath, base string
}

// startStack writes a configuration, creates the test user, starts
// gatehouse and gatehouse-demo-mcp on free loopback ports and waits until
// both answer. With docs set, CIMD is enabled and trusts docs' CA;
// otherwise, in a build that knows CIMD, it is switched off so that every
// client takes the DCR path.
func startStack(t *testing.T, name string, docs *docHost) *stack {
	t.Helper()
	// Strict refresh-token reuse detection: the client tests replay a
	// rotated-out refresh token right after the refresh and expect the
	// grant revoked. The grace period has its own test (refresh_test.go).
	return startStackWith(t, name, docs, stackOptions{extra: strictRefresh})
}

// strictRefresh turns the refresh-token grace period off.
const strictRefresh = "tokens:\n  refresh_token_grace_period: 0s\n"

// stackOptions vary the stack for the tests that need another shape; the
// zero value is Gatehouse's defaults with the resource at /mcp.
type stackOptions struct {
	// dcr is YAML appended inside the dcr: section, indented by two
	// spaces (for example "  unused_client_ttl: 2s\n").
	dcr string
	// extra is top-level YAML appended to the configuration (for example
	// a tokens: section).
	extra string
	// originResource makes the resource a path-less origin
	// (http://127.0.0.1:MCPPORT), so configured in both Gatehouse and the
	// demo server, instead of http://127.0.0.1:MCPPORT/mcp.
	originResource bool
	// resourceClaims lists user claims for the resource's tokens
	// (resources[].claims), e.g. "[email]".
	resourceClaims string
	// noPasswordUser skips creating the password account alice (for a
	// stack that signs users in only through an upstream provider).
	noPasswordUser bool
	// beforeStart runs once the issuer is known, before gatehouse starts
	// (to start an upstream provider that must know Gatehouse's callback).
	beforeStart func(issuer string)
	// cimdExtra is YAML appended inside the cimd: section (indented two
	// spaces), e.g. short cache lifetimes.
	cimdExtra string
	// demoFlags are more flags for gatehouse-demo-mcp.
	demoFlags []string
	// extraScopes are scopes Gatehouse accepts for the resource besides
	// mcpScope (the demo server ignores them).
	extraScopes []string
}

// generousFetch is the cimd.fetch section of every stack: no e2e test is
// about a fetch deadline (e2e/chaos has the hanging host), so they are far
// above what a loaded machine needs on loopback, and a slow TLS handshake
// to the metadata host cannot fail a sign-in.
const generousFetch = "  fetch:\n    timeout: 2m\n    connect_timeout: 2m\n    tls_handshake_timeout: 2m\n"

// startStackWith is startStack with options.
func startStackWith(t *testing.T, name string, docs *docHost, opts stackOptions) *stack {
	t.Helper()
	mcpPath := "/mcp"
	if opts.originResource {
		mcpPath = ""
	}
	dir := t.TempDir()
	ghPort, mcpPort := freePort(t), freePort(t)
	s := &stack{
		name:   name,
		issuer: fmt.Sprintf("http://127.0.0.1:%d", ghPort),
		mcpURL: fmt.Sprintf("http://127.0.0.1:%d%s", mcpPort, mcpPath),
		cimd:   docs != nil,
		docs:   docs,
	}
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "issuer: %s\nlisten: 127.0.0.1:%d\ndata_dir: %s\n", s.issuer, ghPort, filepath.Join(dir, "data"))
	fmt.Fprintf(&cfg, "log:\n  level: debug\n")
	fmt.Fprintf(&cfg, "resources:\n  - uri: %s\n    scopes: [%s]\n", s.mcpURL, strings.Join(append([]string{mcpScope, writeScope}, opts.extraScopes...), ", "))
	if opts.resourceClaims != "" {
		fmt.Fprintf(&cfg, "    claims: %s\n", opts.resourceClaims)
	}
	fmt.Fprintf(&cfg, "dcr:\n  mode: open\n%s", opts.dcr)
	switch {
	case docs != nil:
		fmt.Fprintf(&cfg, "cimd:\n  enabled: true\n  allow_private_addresses: true\n  extra_ca_file: %s\n%s%s", docs.caFile, generousFetch, opts.cimdExtra)
	case cimdInBuild:
		fmt.Fprintf(&cfg, "cimd:\n  enabled: false\n")
	}
	s.base = cfg.String()
	cfg.WriteString(opts.extra)
	cfgPath := filepath.Join(dir, "gatehouse.yaml")
	s.cfgPath = cfgPath
	if err := os.WriteFile(cfgPath, []byte(cfg.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	writeArtifact(t, name+"-gatehouse.yaml", []byte(cfg.String()))

	if !opts.noPasswordUser {
		runCmd(t, testPassword+"\n", gatehouseBin, "user", "add", testUser, "--password-stdin", "--config", cfgPath)
	}
	// Registered first, so it runs last, once both processes have stopped:
	// whatever the clients tolerated, neither server may have logged an error.
	t.Cleanup(func() {
		for _, p := range []*proc{s.gatehouse, s.mcp} {
			if p != nil {
				if errs := errorLines(p); len(errs) > 0 {
					t.Errorf("%s logged errors:\n%s", p.name, strings.Join(errs, "\n"))
				}
			}
		}
	})
	if opts.beforeStart != nil {
		opts.beforeStart(s.issuer)
	}
	s.gatehouse = startProc(t, name+"-gatehouse", nil, nil, gatehouseBin, "serve", "--config", cfgPath)
	waitHTTP(t, s.gatehouse, s.issuer+"/readyz")
	s.mcp = startProc(t, name+"-demo-mcp", nil, nil, demoMCPBin, append([]string{
		"--listen", fmt.Sprintf("127.0.0.1:%d", mcpPort), "--issuer", s.issuer,
		"--resource", s.mcpURL, "--scope", mcpScope, "--write-scope", writeScope, "--log-level", "debug"}, opts.demoFlags...)...)
	waitHTTP(t, s.mcp, fmt.Sprintf("http://127.0.0.1:%d/.well-known/oauth-protected-resource%s", mcpPort, mcpPath))
	return s
}

// asMetadata is the part of the RFC 8414 document the tests look at.
type asMetadata struct {
	Issuer                   string   `json:"issuer"`
	AuthorizationEndpoint    string   `json:"authorization_endpoint"`
	TokenEndpoint            string   `json:"token_endpoint"`
	RegistrationEndpoint     string   `json:"registration_endpoint"`
	IssParameterSupported    *bool    `json:"authorization_response_iss_parameter_supported"`
	CIMDSupported            *bool    `json:"client_id_metadata_document_supported"`
	CodeChallengeMethods     []string `json:"code_challenge_methods_supported"`
	TokenEndpointAuthMethods []string `json:"token_endpoint_auth_methods_supported"`
	ResponseTypesSupported   []string `json:"response_types_supported"`
	GrantTypesSupported      []string `json:"grant_types_supported"`
	ScopesSupported          []string `json:"scopes_supported"`
	RevocationEndpoint       string   `json:"revocation_endpoint"`
	IntrospectionEndpoint    string   `json:"introspection_endpoint"`
}

func (s *stack) metadata(t testing.TB) asMetadata {
	t.Helper()
	resp, err := http.Get(s.issuer + "/.well-known/oauth-authorization-server")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("discovery: %s", resp.Status)
	}
	var m asMetadata
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

// errorLines returns the ERROR-level lines of a process's slog text log.
func errorLines(p *proc) []string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return []string{err.Error()}
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if strings.Contains(line, " level=ERROR ") {
			out = append(out, line)
		}
	}
	return out
}
