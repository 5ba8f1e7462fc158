package policy

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

// Issue 10 item 4: a redirect URI whose query already holds a response
// parameter is refused on every path: registration (DCR, static clients)
// through CheckRegisteredRedirectURI and CIMD documents through
// CheckRedirectURI.
func TestRedirectQueryResponseParams(t *testing.T) {
	const clientID = "https://app.example.com/client.json"
	for _, tc := range []struct {
		uri  string
		bad  string // the parameter named in the error; "" = accepted
		cimd bool   // also valid as a CIMD redirect (same site)
	}{
		{"https://app.example.com/cb", "", true},
		{"https://app.example.com/cb?tenant=1", "", true},
		{"https://app.example.com/cb?", "", true},
		{"https://app.example.com/cb?codes=1&states=2&issuer=3&errors=4", "", true},
		{"https://app.example.com/cb?x=code&y=state", "", true}, // values, not names
		{"https://app.example.com/cb?Code=1", "", true},         // names are case-sensitive
		{"https://app.example.com/cb?c%zzode=1", "", false},     // not a valid escape: not "code" (CIMD refuses the escape)
		{"http://127.0.0.1:3000/cb?next=%2Fhome", "", true},
		{"https://app.example.com/cb?code=1", "code", true},
		{"https://app.example.com/cb?tenant=1&state=abc", "state", true},
		{"https://app.example.com/cb?iss=https://evil.example", "iss", true},
		{"https://app.example.com/cb?error=x", "error", true},
		{"https://app.example.com/cb?error_description=x", "error_description", true},
		{"https://app.example.com/cb?error_uri=https://e.example", "error_uri", true},
		{"https://app.example.com/cb?code", "code", true},            // no value
		{"https://app.example.com/cb?state=", "state", true},         // empty value
		{"https://app.example.com/cb?c%6Fde=1", "code", true},        // percent-encoded name
		{"https://app.example.com/cb?error+description=1", "", true}, // '+' is a space, not '_'
		{"https://app.example.com/cb?error%5Furi=1", "error_uri", true},
		{"https://app.example.com/cb?a=1;state=2", "state", true}, // ';' separator
		{"https://app.example.com/cb?&&iss&&", "iss", true},
		{"http://localhost:8080/callback?code=x", "code", true},
		{"com.example.app:/oauth?state=1", "state", false},
	} {
		err := CheckRegisteredRedirectURI(tc.uri)
		switch {
		case tc.bad == "" && err != nil:
			t.Errorf("registered %q refused: %v", tc.uri, err)
		case tc.bad != "" && (err == nil || !strings.Contains(err.Error(), `"`+tc.bad+`"`)):
			t.Errorf("registered %q: err = %v, want a refusal naming %q", tc.uri, err, tc.bad)
		}
		if !tc.cimd {
			continue
		}
		err = CheckRedirectURI(RedirectSameSite, clientID, tc.uri)
		var re *RuleError
		switch {
		case tc.bad == "" && err != nil:
			t.Errorf("CIMD %q refused: %v", tc.uri, err)
		case tc.bad != "" && (!errors.As(err, &re) || re.Rule != RuleResponseParam || re.Spec != SpecNoRepeatParam):
			t.Errorf("CIMD %q: err = %v, want rule %s", tc.uri, err, RuleResponseParam)
		}
	}
}

// FuzzCheckRedirectQuery: when the query is accepted, the authorization
// response built the way Gatehouse builds it (response parameters appended
// to the URI) carries each response parameter exactly once, as net/url
// reads it.
func FuzzCheckRedirectQuery(f *testing.F) {
	for _, s := range []string{"https://a.example/cb?x=1", "https://a.example/cb?code=1", "https://a.example/cb?c%6Fde",
		"https://a.example/cb?a;state", "https://a.example/cb", "https://a.example/cb?%", "x:?iss=1#f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		err := CheckRedirectQuery(raw)
		if err != nil {
			var re *RuleError
			if !errors.As(err, &re) || re.Rule != RuleResponseParam {
				t.Fatalf("%q: %v is not a %s RuleError", raw, err, RuleResponseParam)
			}
			return
		}
		if strings.Contains(raw, "#") {
			return // refused by the fragment rule before any response
		}
		params := url.Values{}
		for _, p := range ResponseParams {
			params.Set(p, "v")
		}
		sep := "?"
		if strings.Contains(raw, "?") {
			sep = "&"
		}
		_, q, _ := strings.Cut(raw+sep+params.Encode(), "?")
		got, _ := url.ParseQuery(q) // fields net/url cannot read are skipped
		for _, p := range ResponseParams {
			if len(got[p]) != 1 {
				t.Fatalf("accepted %q, and the response carries %s %d times", raw, p, len(got[p]))
			}
		}
	})
}
