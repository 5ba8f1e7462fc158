package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/dcr"
)

// Issue 10 item 10: over HTTP, a registration with an unknown
// application_type and an unusable logo is registered without them (201,
// the response shows what is in force) and the audit event reports what
// was dropped, as gatehouse cimd check reports it for a document.
func TestRegistrationNarrowedAndReported(t *testing.T) {
	cfg := dcr.DefaultConfig()
	logs := &syncBuffer{}
	env := newOAuthEnvFull(t, envOptions{DCR: &cfg, Logs: logs})
	resp, reg := env.register(`{"redirect_uris":["http://127.0.0.1/callback"],"token_endpoint_auth_method":"none",` +
		`"client_name":"Odd CLI","application_type":"desktop","logo_uri":"http://cdn.example/logo.png",` +
		`"grant_types":["authorization_code","urn:ietf:params:oauth:grant-type:device_code"]}`)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("register = %d %v; want the values narrowed, not refused", resp.StatusCode, reg)
	}
	if reg["application_type"] != "web" || reg["logo_uri"] != nil {
		t.Fatalf("registration response %v", reg)
	}
	if gt, _ := reg["grant_types"].([]any); len(gt) != 1 || gt[0] != "authorization_code" {
		t.Fatalf("grant_types %v", reg["grant_types"])
	}
	var audit string
	for _, line := range strings.Split(logs.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["event"] == "client_registered" {
			audit, _ = rec["narrowed"].(string)
		}
	}
	for _, want := range []string{`application_type "desktop" is unknown; dropped`, "logo_uri must be an absolute https URL",
		"dropped unsupported grant type(s): urn:ietf:params:oauth:grant-type:device_code"} {
		if !strings.Contains(audit, want) {
			t.Errorf("audit event lacks %q:\n%s", want, audit)
		}
	}
}
