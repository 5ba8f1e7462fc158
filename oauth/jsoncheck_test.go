package oauth

import (
	"strings"
	"testing"
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
	}
	for _, tt := range tests {
		err := CheckJSONObject([]byte(tt.body))
		if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("CheckJSONObject(%.40q) = %v, want %q", tt.body, err, tt.want)
		}
	}
}

func FuzzCheckJSONObject(f *testing.F) {
	f.Add(`{"a":[1,{"b":2}]}`)
	f.Add(`{"a":1,"a":1}`)
	f.Fuzz(func(t *testing.T, body string) {
		_ = CheckJSONObject([]byte(body))
	})
}
