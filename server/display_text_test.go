package server

import (
	"encoding/json"
	"html"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/dcr"
	"github.com/gatehouse-dev/gatehouse/policy"
)

// disguisedNames would make a client look like another, or forge lines
// on the consent page, in /account, in CLI tables and in the audit log.
var disguisedNames = map[string]string{
	"bidi override":      "Claude \u202eedoC",
	"isolate":            "\u2066Visual Studio Code\u2069",
	"zero-width space":   "Goo\u200bgle Drive",
	"word joiner":        "Git\u2060Hub",
	"BOM":                "\ufeffCursor",
	"soft hyphen":        "Cur\u00adsor",
	"hangul filler":      "Claude\u3164",
	"tag characters":     "Claude\U000E0041",
	"line separator":     "Claude\u2028Approved by your administrator",
	"newline":            "Claude\nApproved by your administrator",
	"lone joiner":        "\u200dZed",
	"braille blank":      "Claude\u2800Code",
	"private use":        "Claude \ue000",
	"combining overload": "C\u0301\u0302\u0303\u0304\u0305laude",
	"blank":              "\u3000 \u3000",
	"padding":            "Claude" + strings.Repeat("\u3000", 40) + "(unverified)",
	"leading mark":       "\u0301Claude",
}

// TestOneDisplayTextRuleForDCRAndCIMD: a name refused in a metadata
// document is refused at /register too, for the same reason, and so are
// the other display fields; ordinary names in any script pass both.
func TestOneDisplayTextRuleForDCRAndCIMD(t *testing.T) {
	host := newDocHost(t)
	env := newOAuthEnvFull(t, envOptions{DCR: ptr(dcr.DefaultConfig()), CIMD: cimdResolver(t, host)})
	_, challenge := pkce()
	n := 0
	for name, bad := range disguisedNames {
		n++
		path := "/doc-" + itoa(n) + ".json"
		t.Run(name, func(t *testing.T) {
			body, _ := json.Marshal(map[string]any{"redirect_uris": []string{"http://127.0.0.1/callback"},
				"token_endpoint_auth_method": "none", "client_name": bad})
			resp, reg := env.register(string(body))
			desc, _ := reg["error_description"].(string)
			if resp.StatusCode != http.StatusBadRequest || reg["error"] != "invalid_client_metadata" || !strings.HasPrefix(desc, "client_name ") {
				t.Fatalf("DCR: %d %v", resp.StatusCode, reg)
			}
			doc := publicDoc()
			doc["client_name"] = bad
			clientID := host.publish(path, doc)
			resp, page := env.get(authorizePath + "?" + authzParams(clientID, "http://127.0.0.1/callback", challenge).Encode())
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(html.UnescapeString(page), strings.TrimSuffix(desc, " ("+policy.SpecDisplayText+")")) {
				t.Fatalf("CIMD: %d, the page does not give DCR's reason %q:\n%s", resp.StatusCode, desc, page)
			}
			for _, field := range []string{"software_id", "software_version"} {
				body, _ := json.Marshal(map[string]any{"redirect_uris": []string{"http://127.0.0.1/callback"},
					"token_endpoint_auth_method": "none", "client_name": "Fine", field: bad})
				if resp, reg := env.register(string(body)); resp.StatusCode != http.StatusBadRequest || !strings.HasPrefix(reg["error_description"].(string), field+" ") {
					t.Fatalf("DCR %s: %d %v", field, resp.StatusCode, reg)
				}
			}
			body, _ = json.Marshal(map[string]any{"redirect_uris": []string{"http://127.0.0.1/callback"},
				"token_endpoint_auth_method": "none", "client_name": "Fine", "contacts": []string{"ops@example.com", bad}})
			if resp, reg := env.register(string(body)); resp.StatusCode != http.StatusBadRequest || !strings.HasPrefix(reg["error_description"].(string), "contacts[1] ") {
				t.Fatalf("DCR contacts: %d %v", resp.StatusCode, reg)
			}
		})
	}
	for i, good := range []string{"Claude Code", "Café Ünïcödé", "日本語のクライアント", "می‌خواهم", "👩‍💻 Dev Tools", "❤️ Fan Club"} {
		body, _ := json.Marshal(map[string]any{"redirect_uris": []string{"http://127.0.0.1/callback"},
			"token_endpoint_auth_method": "none", "client_name": good})
		if resp, reg := env.register(string(body)); resp.StatusCode != http.StatusCreated || reg["client_name"] != good {
			t.Errorf("DCR refused %q: %d %v", good, resp.StatusCode, reg)
		}
		doc := publicDoc()
		doc["client_name"] = good
		clientID := host.publish("/good-"+itoa(i)+".json", doc)
		env.login(testUser, testPassword)
		if resp, page := env.get(authorizePath + "?" + authzParams(clientID, "http://127.0.0.1/callback", challenge).Encode()); resp.StatusCode != http.StatusOK ||
			!strings.Contains(html.UnescapeString(page), good) {
			t.Errorf("CIMD refused %q: %d", good, resp.StatusCode)
		}
	}
}

func ptr[T any](v T) *T { return &v }
