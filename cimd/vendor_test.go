package cimd

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/policy"
)

// vendorDoc loads a real document from testdata/vendor (copied from
// spec/vendor-documents) and its client_id.
func vendorDoc(t testing.TB, name string) (body []byte, clientID string) {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", "vendor", name))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		ClientID string `json:"client_id"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	return body, doc.ClientID
}

// Every real document is accepted under the default policy (same-site), and
// exactly the expected things are narrowed.
func TestVendorDocumentsAccepted(t *testing.T) {
	tests := []struct {
		file       string
		clientID   string   // from SOURCES.md
		narrowed   []string // "rule: detail substring", in order
		grants     []string
		redirects  []string
		authMethod string
	}{
		{file: "claude-code.json", clientID: "https://claude.ai/oauth/claude-code-client-metadata",
			grants:    []string{"authorization_code", "refresh_token"},
			redirects: []string{"http://localhost/callback", "http://127.0.0.1/callback"}, authMethod: "none"},
		{file: "claude-ai.json", clientID: "https://claude.ai/oauth/mcp-oauth-client-metadata",
			narrowed:  []string{"grant-types: dropped unsupported grant type(s): urn:ietf:params:oauth:grant-type:jwt-bearer"},
			grants:    []string{"authorization_code", "refresh_token"},
			redirects: []string{"https://claude.ai/api/mcp/auth_callback"}, authMethod: "none"},
		{file: "chatgpt.json", clientID: "https://chatgpt.com/oauth/client.json",
			narrowed:  []string{"ignored-fields: not used by Gatehouse: token_endpoint_auth_methods_supported"},
			grants:    []string{"authorization_code", "refresh_token"},
			redirects: []string{"https://chatgpt.com/connector_platform_oauth_redirect"}, authMethod: "private_key_jwt"},
		{file: "chatgpt-connector.json", clientID: "https://chatgpt.com/oauth/ZoZTx6U8hji2/client.json",
			narrowed:  []string{"ignored-fields: not used by Gatehouse: token_endpoint_auth_methods_supported"},
			grants:    []string{"authorization_code", "refresh_token"},
			redirects: []string{"https://chatgpt.com/connector/oauth/ZoZTx6U8hji2"}, authMethod: "private_key_jwt"},
		{file: "codex.json", clientID: "https://chatgpt.com/oauth/codex/client.json",
			narrowed:  []string{"ignored-fields: not used by Gatehouse: token_endpoint_auth_methods_supported"},
			grants:    []string{"authorization_code", "refresh_token"},
			redirects: []string{"http://127.0.0.1/callback", "http://localhost/callback"}, authMethod: "none"},
		{file: "codex-per-server.json", clientID: "https://chatgpt.com/oauth/codex/htDlQS7jDKJy/client.json",
			narrowed:  []string{"ignored-fields: not used by Gatehouse: token_endpoint_auth_methods_supported"},
			grants:    []string{"authorization_code", "refresh_token"},
			redirects: []string{"http://127.0.0.1/callback/htDlQS7jDKJy", "http://localhost/callback/htDlQS7jDKJy"}, authMethod: "none"},
		{file: "vscode.json", clientID: "https://vscode.dev/oauth/client-metadata.json",
			narrowed:  []string{"grant-types: dropped unsupported grant type(s): urn:ietf:params:oauth:grant-type:device_code"},
			grants:    []string{"authorization_code", "refresh_token"},
			redirects: []string{"http://127.0.0.1:33418/", "https://vscode.dev/redirect"}, authMethod: "none"},
		{file: "zed.json", clientID: "https://zed.dev/oauth/client-metadata.json",
			grants:    []string{"authorization_code", "refresh_token"},
			redirects: []string{"http://127.0.0.1/callback"}, authMethod: "none"},
		{file: "goose.json", clientID: "https://goose-docs.ai/oauth/client-metadata.json",
			narrowed:  []string{"ignored-fields: not used by Gatehouse: code_challenge_methods_supported"},
			grants:    []string{"authorization_code", "refresh_token"},
			redirects: []string{"http://127.0.0.1/oauth_callback", "http://[::1]/oauth_callback"}, authMethod: "none"},
		{file: "opencode.json", clientID: "https://opencode.ai/oauth/opencode/client.json",
			narrowed:  []string{"ignored-fields: not used by Gatehouse: token_endpoint_auth_methods_supported"},
			grants:    []string{"authorization_code", "refresh_token"},
			redirects: []string{"http://127.0.0.1/callback", "http://localhost/callback"}, authMethod: "none"},
		{file: "mcpjam-2026-06.json", clientID: "https://www.mcpjam.com/.well-known/oauth/client-metadata.json",
			narrowed: []string{
				"grant-types: dropped unsupported grant type(s): urn:ietf:params:oauth:grant-type:device_code",
				`redirect-uris: dropped mcpjam://oauth/callback: private-use scheme "mcpjam" must be the client_id host in reverse order ("com.mcpjam.www")`,
				`redirect-uris: dropped mcpjam://authkit/callback: private-use scheme "mcpjam"`,
			},
			grants: []string{"authorization_code", "refresh_token"},
			redirects: []string{
				"http://127.0.0.1:6274/oauth/callback", "http://127.0.0.1:6274/callback", "http://127.0.0.1:6274/oauth/callback/debug",
				"http://localhost:6274/oauth/callback", "http://localhost:6274/callback", "http://localhost:6274/oauth/callback/debug",
				"http://127.0.0.1:5173/oauth/callback", "http://127.0.0.1:5173/oauth/callback/debug",
				"http://localhost:5173/oauth/callback", "http://localhost:5173/oauth/callback/debug",
				"https://app.mcpjam.com/oauth/callback", "https://app.mcpjam.com/oauth/callback/debug",
			}, authMethod: "none"},
		{file: "atproto-atpaste.json", clientID: "https://atpaste.github.io/oauth/client-metadata.json",
			narrowed:  []string{"ignored-fields: not used by Gatehouse: dpop_bound_access_tokens"},
			grants:    []string{"authorization_code", "refresh_token"},
			redirects: []string{"https://atpaste.github.io/oauth/redirect"}, authMethod: "none"},
		{file: "atproto-twitchat.json", clientID: "https://beta.twitchat.fr/oauth/client-metadata.json",
			narrowed:   []string{"ignored-fields: not used by Gatehouse: dpop_bound_access_tokens"},
			grants:     []string{"authorization_code", "refresh_token"},
			redirects:  []string{"https://beta.twitchat.fr/bluesky/oauth", "https://beta.twitchat.fr/popupBlueskyAuthResult.html"},
			authMethod: "none"},
		{file: "atproto-cookbook-confidential.json", clientID: "https://app.example.com/oauth/client-metadata.json",
			narrowed:  []string{"ignored-fields: not used by Gatehouse: dpop_bound_access_tokens, subject_type"},
			grants:    []string{"authorization_code", "refresh_token"},
			redirects: []string{"https://app.example.com/oauth/callback"}, authMethod: "private_key_jwt"},
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "vendor", "*.json"))
	if len(files) != len(tests) {
		t.Fatalf("%d vendor documents but %d test rows: every document needs a row", len(files), len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			body, docID := vendorDoc(t, tt.file)
			if docID != tt.clientID {
				t.Fatalf("document client_id %q, SOURCES.md says %q", docID, tt.clientID)
			}
			if err := policy.CheckClientIDURL(tt.clientID); err != nil {
				t.Fatalf("client_id refused: %v", err)
			}
			val, err := ValidateDocument(body, tt.clientID, tt.clientID, policy.RedirectSameSite)
			if err != nil {
				t.Fatalf("refused: %v\n%s", err, dumpFindings(val.Findings))
			}
			var narrowed []Finding
			for _, f := range val.Findings {
				if f.Status == StatusNarrowed {
					narrowed = append(narrowed, f)
				}
			}
			if len(narrowed) != len(tt.narrowed) {
				t.Fatalf("narrowed %d things, want %d:\n%s", len(narrowed), len(tt.narrowed), dumpFindings(narrowed))
			}
			for i, want := range tt.narrowed {
				got := narrowed[i].Rule + ": " + narrowed[i].Detail
				if !strings.HasPrefix(got, want) {
					t.Errorf("narrowing %d = %q; want prefix %q", i, got, want)
				}
			}
			c := val.Client
			if c.ID != tt.clientID || c.Kind != oauth.ClientCIMD || len(c.Fingerprint) != 64 {
				t.Fatalf("client = %+v", c)
			}
			if !slices.Equal(c.Metadata.GrantTypes, tt.grants) {
				t.Errorf("grant types %v; want %v", c.Metadata.GrantTypes, tt.grants)
			}
			if !slices.Equal(c.Metadata.RedirectURIs, tt.redirects) {
				t.Errorf("redirect URIs %v; want %v", c.Metadata.RedirectURIs, tt.redirects)
			}
			if c.AuthMethod() != tt.authMethod {
				t.Errorf("auth method %q; want %q", c.AuthMethod(), tt.authMethod)
			}
			if !slices.Equal(c.Metadata.ResponseTypes, []string{"code"}) {
				t.Errorf("response types %v", c.Metadata.ResponseTypes)
			}
		})
	}
}

func dumpFindings(fs []Finding) string {
	var b strings.Builder
	for _, f := range fs {
		b.WriteString("  " + string(f.Status) + " " + f.Rule + ": " + f.Detail + "\n")
	}
	return b.String()
}
