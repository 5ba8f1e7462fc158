package resource

import (
	"encoding/json"
	"testing"
	"time"
)

// FuzzParseIntrospection: whatever the endpoint sends, the answer is
// active only for a JSON object whose "active" is true, and nothing panics.
func FuzzParseIntrospection(f *testing.F) {
	for _, s := range []string{`{"active":true}`, `{"active":false}`, `{"active":"true"}`, `[true]`, `null`, `{"active":true}x`, ``, `{"active":tru`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		active, err := parseIntrospection(body)
		if err != nil {
			if active {
				t.Fatal("active with an error")
			}
			return
		}
		var obj map[string]any
		if json.Unmarshal(body, &obj) != nil || obj == nil {
			t.Fatalf("%q accepted as an introspection response", body)
		}
		if active != (obj["active"] == true) {
			t.Fatalf("%q: active = %v, JSON says %v", body, active, obj["active"])
		}
	})
}

// The answer cache is bounded: when full of live answers, a new one is
// not kept; expired answers make room.
func TestAnswerCacheBound(t *testing.T) {
	now := time.Now()
	c := newAnswerCache(2)
	c.put([32]byte{1}, true, now.Add(time.Second), now)
	c.put([32]byte{2}, false, now.Add(time.Minute), now)
	c.put([32]byte{3}, true, now.Add(time.Minute), now)
	if _, ok := c.get([32]byte{3}, now); ok || c.len() != 2 {
		t.Fatalf("a full cache took a third answer (len %d)", c.len())
	}
	later := now.Add(2 * time.Second)
	c.put([32]byte{3}, true, later.Add(time.Minute), later)
	if a, ok := c.get([32]byte{3}, later); !ok || !a || c.len() != 2 {
		t.Fatalf("the expired answer did not make room (len %d)", c.len())
	}
	if a, ok := c.get([32]byte{2}, later); !ok || a {
		t.Fatal("the live inactive answer was lost")
	}
	if _, ok := c.get([32]byte{2}, now.Add(time.Minute)); ok {
		t.Fatal("an answer was served at its deadline")
	}
	c.put([32]byte{4}, true, now, now) // already expired: not kept
	if _, ok := c.get([32]byte{4}, now); ok {
		t.Fatal("an expired answer was kept")
	}
}
