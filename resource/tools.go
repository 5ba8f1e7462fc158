package resource

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
)

// MaxToolBody bounds the MCP request body ToolMiddleware reads to find the
// tools called: far above a real tools/call, far below what would hurt.
// A larger body is refused (invalid_request), since its tool calls could
// not be checked.
const MaxToolBody = 4 << 20

// ToolScopes maps an MCP tool name to the scopes a tools/call of it needs
// on top of the endpoint's own.
type ToolScopes map[string][]string

// ToolMiddleware is Middleware for an MCP endpoint whose tools need more
// scopes than the endpoint: every request needs required, and a POST that
// calls a tool in tools (a JSON-RPC "tools/call", alone or in a batch)
// also needs that tool's scopes. A token without them gets the step-up
// challenge MCP clients act on (MCP 2025-11-25 "Scope Challenge
// Handling"): 403, WWW-Authenticate: Bearer error="insufficient_scope",
// scope="<every scope this request needs>", resource_metadata="…". The
// scope parameter names all the scopes the operation needs, endpoint's
// included, so a client that requests exactly the challenge's scope (and
// not the union with what it holds) still gets a token that works.
//
// The body is read (at most MaxToolBody bytes) and handed on unchanged.
// It fails closed: a tools/call whose tool name cannot be read, or a body
// that is not JSON, needs the scopes of every listed tool. Method and
// member names match case-insensitively and duplicate members all count,
// so no spelling a JSON-RPC library might accept slips past. Handlers
// should still check scopes themselves (Claims.HasScope): this middleware
// is what makes the 403 challenge, not the only guard.
//
// It panics if a scope is not a valid scope token (a programming error).
func (v *Verifier) ToolMiddleware(tools ToolScopes, required ...string) func(http.Handler) http.Handler {
	required = checkRequired(required)
	var all []string
	own := ToolScopes{}
	for name, scopes := range tools {
		own[strings.ToLower(name)] = checkRequired(scopes)
		all = union(all, scopes)
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			needed := required
			if r.Method == http.MethodPost && r.Body != nil && len(own) > 0 {
				body, err := io.ReadAll(io.LimitReader(r.Body, MaxToolBody+1))
				r.Body.Close()
				if err != nil || len(body) > MaxToolBody {
					v.WriteError(w, r, newError(ErrInvalidRequest, err, "the request body is larger than %d bytes or could not be read", MaxToolBody), required...)
					return
				}
				r.Body = io.NopCloser(bytes.NewReader(body))
				names, unknown := ToolCalls(body)
				if unknown {
					needed = union(needed, all)
				}
				for _, n := range names {
					needed = union(needed, own[strings.ToLower(n)])
				}
			}
			claims, err := v.Authenticate(r, needed...)
			if err != nil {
				v.WriteError(w, r, err, needed...)
				return
			}
			next.ServeHTTP(w, r.WithContext(ContextWithClaims(r.Context(), claims)))
		})
	}
}

// ToolCalls reads an MCP (JSON-RPC 2.0) request body, one message or a
// batch, and returns the names of the tools it calls with "tools/call".
// unknown is true when the body is not JSON or a tools/call names no tool
// it can read: the caller should then assume any tool.
func ToolCalls(body []byte) (names []string, unknown bool) {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) > 0 && trimmed[0] == '[' {
		var batch []json.RawMessage
		if err := json.Unmarshal(trimmed, &batch); err != nil {
			return nil, true
		}
		for _, m := range batch {
			n, u := messageToolCalls(m)
			names, unknown = append(names, n...), unknown || u
		}
		return names, unknown
	}
	return messageToolCalls(trimmed)
}

// messageToolCalls reads one JSON-RPC message.
func messageToolCalls(raw []byte) ([]string, bool) {
	var isCall bool
	var params []json.RawMessage
	err := eachMember(raw, func(key string, val json.RawMessage) {
		switch strings.ToLower(key) {
		case "method":
			var m string
			isCall = isCall || json.Unmarshal(val, &m) == nil && strings.EqualFold(strings.TrimSpace(m), "tools/call")
		case "params":
			params = append(params, val)
		}
	})
	if err != nil {
		return nil, true
	}
	if !isCall {
		return nil, false
	}
	var names []string
	for _, p := range params {
		_ = eachMember(p, func(key string, val json.RawMessage) {
			var n string
			if strings.EqualFold(key, "name") && json.Unmarshal(val, &n) == nil {
				names = append(names, n)
			}
		})
	}
	return names, len(names) == 0
}

// eachMember calls fn for every member of the JSON object raw, duplicates
// included, in order. An error means raw is not an object.
func eachMember(raw []byte, fn func(key string, val json.RawMessage)) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return fmt.Errorf("not a JSON object")
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return err
		}
		fn(key, val)
	}
	_, err := dec.Token() // the closing brace
	return err
}

func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, s := range b {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}
