package oauth

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/benchcpu"
)

func TestCheckJSONObject(t *testing.T) {
	deep := strings.Repeat(`{"a":`, MaxJSONDepth+1) + "1" + strings.Repeat("}", MaxJSONDepth+1)
	tests := []struct {
		body, want string
	}{
		{`{"client_name":"x","redirect_uris":["https://a/cb"]}`, ""},
		{`{"a":{"b":[1,2,{"c":null}]}}`, ""},
		{`[]`, "must be a JSON object"},
		{`"x"`, "must be a JSON object"},
		{`{"a":1,"a":2}`, "twice"},
		{`{"jwks":{"keys":[{"kid":"1","kid":"2"}]}}`, "twice"},
		{`{"a":1} {"b":2}`, "data after"},
		{`{"a":1`, "not valid JSON"},
		{"{\"a\":\"\xff\"}", "UTF-8"},
		{deep, "nested"},
		{``, "not valid JSON"},
		{` `, "not valid JSON"},
		{`{"a":"\u0061","\u0061":2}`, "twice"}, // the same name, escaped
		{`{"a":[{"b":1},{"b":1}]}`, ""},        // equal keys in sibling objects
		{`{"a":"\ud800"}`, "not valid JSON"},   // a lone surrogate can only become U+FFFD
		{`{"a":"\ud83d\ude00"}`, ""},           // a surrogate pair is fine
		{`{"a":01}`, "not valid JSON"},
		{`{1:2}`, "not valid JSON"},
		{`{"a" 1}`, "not valid JSON"},
		{`{"a":1,}`, "not valid JSON"},
		{`{"a":1} x`, "data after"},
		{"\xef\xbb\xbf{}", "not valid JSON"}, // a byte order mark (RFC 8259 §8.1)
		{`{"a":"tab\there"}`, ""},
		{"{\"a\":\"raw\ttab\"}", "not valid JSON"},
		{strings.Repeat("[", 20000) + strings.Repeat("]", 20000), "must be a JSON object"},
		{`{"a":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`, "nested"},
		{`{"a":` + strings.Repeat("[", 20000), "nested"},
		{` {"a" : [ 1 , 2 ] } ` + "\n", ""},
	}
	for _, tt := range tests {
		err := CheckJSONObject([]byte(tt.body))
		if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("CheckJSONObject(%.40q) = %v, want %q", tt.body, err, tt.want)
		}
	}
}

// TestDecodeJSONObject: the members are each member's exact JSON text.
func TestDecodeJSONObject(t *testing.T) {
	got, err := DecodeJSONObject([]byte(" {\"s\" : \"x\\\"y\" ,\n\"n\":-1.5e3,\"z\":null,\"o\":{ \"k\" : [1, {}] },\"e\":[]\t} "))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"s": `"x\"y"`, "n": `-1.5e3`, "z": `null`, "o": `{ "k" : [1, {}] }`, "e": `[]`}
	if len(got) != len(want) {
		t.Fatalf("got %d members, want %d: %q", len(got), len(want), got)
	}
	for k, v := range want {
		if string(got[k]) != v {
			t.Errorf("member %s = %q, want %q", k, got[k], v)
		}
	}
	if _, err := DecodeJSONObject([]byte(`{"a":1,"a":1}`)); err == nil {
		t.Fatal("duplicate accepted")
	}
}

// FuzzCheckJSONObject compares the gate with encoding/json, which every
// accepted body then meets: what passes must decode there to the same
// members, and nothing encoding/json refuses may pass.
func FuzzCheckJSONObject(f *testing.F) {
	f.Add(`{"a":[1,{"b":2}]}`)
	f.Add(`{"a":1,"a":1}`)
	f.Add(`{"a":"\ud800"}`)
	f.Add(` {"a" : { "b" : [ ] } } `)
	f.Fuzz(func(t *testing.T, body string) {
		members, err := DecodeJSONObject([]byte(body))
		if (err == nil) != (CheckJSONObject([]byte(body)) == nil) {
			t.Fatalf("DecodeJSONObject and CheckJSONObject disagree on %q", body)
		}
		var std map[string]json.RawMessage
		stdErr := json.Unmarshal([]byte(body), &std)
		if err != nil {
			return
		}
		if stdErr != nil || std == nil {
			t.Fatalf("accepted %q, which encoding/json refuses (%v)", body, stdErr)
		}
		if len(members) != len(std) {
			t.Fatalf("%q: %d members, encoding/json has %d", body, len(members), len(std))
		}
		for k, v := range std {
			if got, ok := members[k]; !ok || !bytes.Equal(bytes.TrimSpace(got), bytes.TrimSpace(v)) {
				t.Fatalf("%q: member %q = %q, encoding/json has %q", body, k, got, v)
			}
		}
	})
}

// BenchmarkDecodeJSONObject: the gate and the split into members for a
// registration body as MCP Inspector sends it.
func BenchmarkDecodeJSONObject(b *testing.B) {
	body := []byte(`{"redirect_uris":["http://localhost:6274/oauth/callback"],"token_endpoint_auth_method":"none",
"grant_types":["authorization_code","refresh_token"],"response_types":["code"],"client_name":"MCP Inspector",
"client_uri":"https://github.com/modelcontextprotocol/inspector","scope":"","application_type":"native","software_id":"inspector"}`)
	b.ReportAllocs()
	defer benchcpu.Start(b)()
	for b.Loop() {
		if _, err := DecodeJSONObject(body); err != nil {
			b.Fatal(err)
		}
	}
}
