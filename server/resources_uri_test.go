package server

import "testing"

// Hostile resource indicators (RFC 8707 §2): each is refused before any
// matching, whatever resources are configured.
func TestCheckResourceURIRefusesHostileIndicators(t *testing.T) {
	for _, raw := range []string{
		"https://../", "https://./mcp", "https://mcp..example.com/x", // hosts that are not names (fuzzing found the first)
		"https://MCP.example.com/mcp", "https://0x7f.1/mcp", "https://[fe80::1%25eth0]/",
		"https://a/b/../c", "https://a/%2e%2e/c", "https://a/b%2fc", "https://a/./c",
		"https://mcp.example.com/mcp#frag", "https://mcp.example.com/mcp?x=1", "https://user@mcp.example.com/",
		"https://mcp.example.com\\@evil/", "http://mcp.example.com/mcp", "mcp.example.com/mcp", "urn:x:y", "",
	} {
		if err := checkResourceURI(raw); err == nil {
			t.Errorf("accepted %q", raw)
		}
	}
	for _, raw := range []string{"https://mcp.example.com/mcp", "https://mcp.example.com:8443/", "http://127.0.0.1:3000/mcp",
		"http://localhost/mcp", "http://[::1]:3000/mcp", "https://xn--bcher-kva.example/"} {
		if err := checkResourceURI(raw); err != nil {
			t.Errorf("refused %q: %v", raw, err)
		}
	}
}
