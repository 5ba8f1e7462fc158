package resource_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/oauthex"

	"github.com/gatehouse-dev/gatehouse/resource"
)

// TestToolCalls: the tools a body calls, through every spelling a JSON-RPC
// library might accept; unknown (fail closed) when it cannot tell.
func TestToolCalls(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		names   []string
		unknown bool
	}{
		{"initialize", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25"}}`, nil, false},
		{"tools/list", `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, nil, false},
		{"a notification", `{"jsonrpc":"2.0","method":"notifications/initialized"}`, nil, false},
		{"a response", `{"jsonrpc":"2.0","id":1,"result":{}}`, nil, false},
		{"tools/call", `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"write_note","arguments":{"text":"x"}}}`, []string{"write_note"}, false},
		{"params before method", `{"params":{"name":"write_note"},"id":2,"method":"tools/call","jsonrpc":"2.0"}`, []string{"write_note"}, false},
		{"escaped method", `{"jsonrpc":"2.0","id":2,"method":"tools\/call","params":{"name":"write\u005fnote"}}`, []string{"write_note"}, false},
		{"method in capitals", `{"jsonrpc":"2.0","id":2,"METHOD":"Tools/Call","params":{"NAME":"write_note"}}`, []string{"write_note"}, false},
		{"duplicate method: any counts", `{"jsonrpc":"2.0","id":2,"method":"tools/call","method":"ping","params":{"name":"write_note"}}`, []string{"write_note"}, false},
		{"duplicate name: all count", `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"add","name":"write_note"}}`, []string{"add", "write_note"}, false},
		{"duplicate params: all count", `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"add"},"params":{"name":"write_note"}}`, []string{"add", "write_note"}, false},
		{"batch", `[{"jsonrpc":"2.0","id":1,"method":"tools/list"},{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"write_note"}}]`, []string{"write_note"}, false},
		{"leading whitespace batch", " \n[{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"a\"}}]", []string{"a"}, false},
		{"tools/call without params", `{"jsonrpc":"2.0","id":2,"method":"tools/call"}`, nil, true},
		{"tools/call with a numeric name", `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":7}}`, nil, true},
		{"tools/call with params an array", `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":["write_note"]}`, nil, true},
		{"not JSON", `method=tools/call`, nil, true},
		{"truncated", `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"write_note"`, nil, true},
		{"empty", ``, nil, true},
		{"a bare string", `"tools/call"`, nil, true},
		{"broken batch", `[{"method":"tools/call",}]`, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			names, unknown := resource.ToolCalls([]byte(tt.body))
			if !slices.Equal(names, tt.names) || unknown != tt.unknown {
				t.Fatalf("ToolCalls = %q, unknown %v; want %q, %v", names, unknown, tt.names, tt.unknown)
			}
		})
	}
}

// toolServer serves an MCP-like endpoint behind v.ToolMiddleware: write_note
// needs notes:write on top of tools:call. The handler echoes the body it
// received, to show the middleware handed it on unchanged.
func toolServer(t *testing.T, v *resource.Verifier) *httptest.Server {
	t.Helper()
	h := v.ToolMiddleware(resource.ToolScopes{"write_note": {"admin"}}, "tools:call")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := resource.ClaimsFrom(r.Context()); !ok {
			http.Error(w, "no claims", http.StatusInternalServerError)
			return
		}
		io.Copy(w, r.Body)
	}))
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s
}

func postMCP(t *testing.T, url, token, body string) (int, string, map[string]string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	var params map[string]string
	if h := resp.Header.Values("WWW-Authenticate"); len(h) > 0 {
		chs, err := oauthex.ParseWWWAuthenticate(h)
		if err != nil || len(chs) != 1 {
			t.Fatalf("challenge %q: %v", h, err)
		}
		params = chs[0].Params
	}
	return resp.StatusCode, string(got), params
}

// TestToolMiddlewareStepUp: a token for the endpoint calls ordinary tools;
// calling the tool that needs more gets the 403 step-up challenge naming
// every scope the call needs; a token with them passes, body intact.
func TestToolMiddlewareStepUp(t *testing.T) {
	g := startGatehouse(t)
	v := newVerifier(t, g, newClock())
	srv := toolServer(t, v)
	basic := g.token(t, testResource, "tools:call")
	full := g.token(t, testResource, "tools:call", "admin")
	call := `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"write_note","arguments":{"text":"hi"}}}`
	tests := []struct {
		name, token, body string
		status            int
		scope             string // the challenge's scope, when refused
	}{
		{"ordinary tool", basic, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add"}}`, 200, ""},
		{"tools/list", basic, `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, 200, ""},
		{"step-up tool without its scope", basic, call, 403, "tools:call admin"},
		{"step-up tool in a batch", basic, "[" + call + "]", 403, "tools:call admin"},
		{"step-up tool in capitals", basic, strings.ReplaceAll(call, "write_note", "WRITE_NOTE"), 403, "tools:call admin"},
		{"a tools/call it cannot read fails closed", basic, `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{}}`, 403, "tools:call admin"},
		{"not JSON fails closed", basic, `not json`, 403, "tools:call admin"},
		{"step-up tool with its scope", full, call, 200, ""},
		{"no token: 401 with the call's scopes", "", call, 401, "tools:call admin"},
		{"no token, ordinary call: the endpoint's scope", "", `{"jsonrpc":"2.0","id":1,"method":"initialize"}`, 401, "tools:call"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body, ch := postMCP(t, srv.URL, tt.token, tt.body)
			if status != tt.status {
				t.Fatalf("status %d (%s), want %d", status, body, tt.status)
			}
			if status == 200 {
				if body != tt.body {
					t.Fatalf("the handler got %q, want the body unchanged", body)
				}
				return
			}
			if ch["scope"] != tt.scope || ch["resource_metadata"] == "" {
				t.Fatalf("challenge %v, want scope %q and resource_metadata", ch, tt.scope)
			}
			if status == 403 && ch["error"] != "insufficient_scope" {
				t.Fatalf("challenge %v, want error=insufficient_scope", ch)
			}
		})
	}
	t.Run("a body too large to check is refused", func(t *testing.T) {
		big := `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"add","arguments":{"x":"` + strings.Repeat("a", resource.MaxToolBody) + `"}}}`
		if status, _, ch := postMCP(t, srv.URL, full, big); status != 400 || ch["error"] != "invalid_request" {
			t.Fatalf("status %d, challenge %v; want 400 invalid_request", status, ch)
		}
	})
}

// FuzzToolCalls: ToolCalls never panics, and every tool that Go's own
// JSON decoding (case-insensitive members, last duplicate wins) would call
// is among the names it reports, or it reports unknown.
func FuzzToolCalls(f *testing.F) {
	for _, s := range []string{
		`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"write_note"}}`,
		`[{"method":"tools/call","params":{"name":"a"}},{"method":"ping"}]`,
		`{"Method":"tools/call","Params":{"Name":"x"},"method":"tools/list"}`,
		`{"method":"tools/call","params":{"name":"a","name":"b"}}`,
		`{`, `[]`, `null`, `{"method":1}`,
	} {
		f.Add([]byte(s))
	}
	type msg struct {
		Method string `json:"method"`
		Params struct {
			Name string `json:"name"`
		} `json:"params"`
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		names, unknown := resource.ToolCalls(body)
		if unknown {
			return
		}
		var msgs []msg
		var one msg
		if json.Unmarshal(body, &one) == nil {
			msgs = []msg{one}
		} else if json.Unmarshal(body, &msgs) != nil {
			return
		}
		for _, m := range msgs {
			if m.Method == "tools/call" && !slices.Contains(names, m.Params.Name) {
				t.Fatalf("encoding/json sees a call of %q; ToolCalls reported %q", m.Params.Name, names)
			}
		}
	})
}
