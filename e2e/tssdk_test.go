//go:build e2e

package e2e

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// tsReport is what e2e/node/ts-sdk.mjs prints.
type tsReport struct {
	OK                   bool              `json:"ok"`
	Error                string            `json:"error"`
	SDK                  string            `json:"sdk"`
	SDKPackage           string            `json:"sdk_package"`
	SDKVersion           string            `json:"sdk_version"`
	Mode                 string            `json:"mode"`
	Requests             []tsRequest       `json:"requests"`
	AuthorizationRequest map[string]string `json:"authorization_request"`
	Pages                []seenPage        `json:"pages"`
	Steps                []string          `json:"steps"`
	Callback             struct {
		HasCode      bool   `json:"has_code"`
		StateMatches bool   `json:"state_matches"`
		Iss          string `json:"iss"`
		Error        string `json:"error"`
	} `json:"callback"`
	ClientID    string `json:"client_id"`
	FirstTokens struct {
		Access    string `json:"access"`
		Refresh   string `json:"refresh"`
		TokenType string `json:"token_type"`
		Scope     string `json:"scope"`
	} `json:"first_tokens"`
	Tools           []string       `json:"tools"`
	Add             map[string]any `json:"add"`
	Whoami          whoami         `json:"whoami"`
	AddAfterRefresh map[string]any `json:"add_after_refresh"`
	Refresh         struct {
		AccessBefore  string `json:"access_before"`
		AccessAfter   string `json:"access_after"`
		RefreshBefore string `json:"refresh_before"`
		RefreshAfter  string `json:"refresh_after"`
		Redirects     int    `json:"redirects"`
		RequestsFrom  int    `json:"requests_from"`
	} `json:"refresh"`
	OldRefreshReplay struct {
		Status int    `json:"status"`
		Error  string `json:"error"`
	} `json:"old_refresh_replay"`
	StepUp *tsStepUp `json:"step_up"`
}

// tsStepUp is what the driver saw of a step-up authorization.
type tsStepUp struct {
	Refused              string            `json:"refused"`
	RequestsFrom         int               `json:"requests_from"`
	Redirects            int               `json:"redirects"`
	ScopeHeld            string            `json:"scope_held"`
	AuthorizationRequest map[string]string `json:"authorization_request"`
	Pages                []seenPage        `json:"pages"`
	CallbackHasCode      bool              `json:"callback_has_code"`
	TokenScope           string            `json:"token_scope"`
	AccessChanged        bool              `json:"access_changed"`
	Result               map[string]any    `json:"result"`
	IsError              bool              `json:"is_error"`
	WhoamiScopes         []string          `json:"whoami_scopes"`
	Add                  map[string]any    `json:"add"`
}

// tsRequest is one request the SDK made, as e2e/node/lib/recorder.mjs saw it.
type tsRequest struct {
	Method             string            `json:"method"`
	URL                string            `json:"url"`
	Status             int               `json:"status"`
	AuthScheme         string            `json:"auth_scheme"`
	Bearer             string            `json:"bearer"`
	BasicUser          string            `json:"basic_user"`
	BasicPasswordEmpty bool              `json:"basic_password_empty"`
	Form               map[string]string `json:"form"`
	JSON               map[string]any    `json:"json"`
	Response           map[string]any    `json:"response"`
	CacheControl       string            `json:"cache_control"`
	WWWAuthenticate    string            `json:"www_authenticate"`
	Error              string            `json:"error"`
}

func (r tsRequest) path() string {
	u, _ := url.Parse(r.URL)
	if u == nil {
		return ""
	}
	return u.Path
}

// whoami is the demo MCP server's whoami tool result.
type whoami struct {
	Sub      string   `json:"sub"`
	ClientID string   `json:"client_id"`
	Scopes   []string `json:"scopes"`
	Aud      []string `json:"aud"`
}

// testTSSDK runs the TypeScript SDK driver for sdk ("v1" or "v2") against
// st, as a CIMD client when cimdURL is set, else through DCR, and checks
// everything the client did and saw.
func testTSSDK(t *testing.T, st *stack, sdk, cimdURL string) {
	env := []string{"SDK=" + sdk, "MCP_URL=" + st.mcpURL, "ISSUER=" + st.issuer, "REDIRECT_URL=" + driverRedirect,
		"LOGIN_USER=" + testUser, "LOGIN_PASSWORD=" + testPassword, "CLIENT_METADATA_URL=" + cimdURL}
	if sdk == "v2" {
		env = append(env, "STEP_UP_TOOL=write_note")
	}
	var r tsReport
	runNode(t, "ts-sdk.mjs", env, &r)
	if !r.OK {
		t.Fatalf("%s %s failed: %s\nsteps: %v", r.SDKPackage, r.SDKVersion, r.Error, r.Steps)
	}
	t.Logf("%s@%s, %s, client_id %s", r.SDKPackage, r.SDKVersion, r.Mode, r.ClientID)

	// Discovery: the SDK read Gatehouse's metadata, which advertises RFC 9207.
	var sawMeta bool
	for _, q := range r.Requests {
		if q.path() == "/.well-known/oauth-authorization-server" && q.Status == 200 {
			sawMeta = true
			if q.Response["authorization_response_iss_parameter_supported"] != true {
				t.Errorf("metadata does not advertise authorization_response_iss_parameter_supported: %v", q.Response)
			}
			if got, want := q.Response["client_id_metadata_document_supported"] == true, st.cimd; got != want {
				t.Errorf("client_id_metadata_document_supported = %v, want %v", got, want)
			}
		}
	}
	if !sawMeta {
		t.Errorf("the SDK never fetched /.well-known/oauth-authorization-server")
	}

	// Registration: DCR (with the body the SDK builds) or none at all (CIMD).
	var regs []tsRequest
	for _, q := range r.Requests {
		if q.path() == "/register" {
			regs = append(regs, q)
		}
	}
	if cimdURL != "" {
		if r.Mode != "cimd" || r.ClientID != cimdURL {
			t.Errorf("mode %s, client_id %q; want cimd with %q", r.Mode, r.ClientID, cimdURL)
		}
		if len(regs) != 0 {
			t.Errorf("a CIMD client registered anyway: %+v", regs)
		}
		if n := st.docs.fetchCount(cimdURL); n < 1 {
			t.Errorf("Gatehouse never fetched the client's metadata document %s", cimdURL)
		}
	} else {
		if len(regs) != 1 {
			t.Fatalf("want one registration, got %d: %+v", len(regs), regs)
		}
		reg := regs[0]
		if reg.Status != 201 {
			t.Errorf("POST /register: %d %v", reg.Status, reg.Response)
		}
		if reg.Response["client_id"] != r.ClientID || !strings.HasPrefix(r.ClientID, "dcr_") {
			t.Errorf("registered client_id %v, SDK uses %q", reg.Response["client_id"], r.ClientID)
		}
		if ru, _ := reg.Response["redirect_uris"].([]any); len(ru) != 1 || ru[0] != driverRedirect {
			t.Errorf("registration response redirect_uris = %v", reg.Response["redirect_uris"])
		}
		if sdk == "v2" {
			// v2 sends application_type (native for loopback redirects): accepted.
			if reg.JSON["application_type"] != "native" {
				t.Errorf("v2 registration body application_type = %v, want native (did the SDK change?)", reg.JSON["application_type"])
			}
			// v2 registers with the scope of the first challenge, so its
			// step-up asks for a scope it never registered.
			if sc, _ := reg.JSON["scope"].(string); !slices.Contains(strings.Fields(sc), mcpScope) || slices.Contains(strings.Fields(sc), writeScope) {
				t.Errorf("v2 registration scope = %q, want %s without %s (did the SDK change?)", sc, mcpScope, writeScope)
			}
		}
	}

	// The authorization request the SDK built.
	ar := r.AuthorizationRequest
	for k, want := range map[string]string{"response_type": "code", "client_id": r.ClientID, "redirect_uri": driverRedirect,
		"code_challenge_method": "S256", "resource": st.mcpURL} {
		if ar[k] != want {
			t.Errorf("authorization request %s = %q, want %q", k, ar[k], want)
		}
	}
	if !slices.Contains(strings.Fields(ar["scope"]), mcpScope) {
		t.Errorf("authorization request scope %q lacks %s", ar["scope"], mcpScope)
	}
	checkPages(t, st, r.Pages, cimdURL)
	if !r.Callback.HasCode || !r.Callback.StateMatches || r.Callback.Iss != st.issuer {
		t.Errorf("callback: %+v, want a code, the state and iss %s", r.Callback, st.issuer)
	}

	// Everything before the step-up (which has its own checks).
	before := r.Requests
	if r.StepUp != nil && r.StepUp.RequestsFrom <= len(before) {
		before = before[:r.StepUp.RequestsFrom]
	}
	// The code exchange: one request, public client, no-store.
	var exchanges []tsRequest
	for _, q := range before {
		if q.path() == "/token" && q.Form["grant_type"] == "authorization_code" {
			exchanges = append(exchanges, q)
		}
	}
	if len(exchanges) != 1 {
		t.Fatalf("want one authorization_code exchange, got %+v", exchanges)
	}
	x := exchanges[0]
	if x.Status != 200 || x.AuthScheme != "" || x.Form["client_id"] != r.ClientID || x.Form["resource"] != st.mcpURL {
		t.Errorf("code exchange: %+v", x)
	}
	if !strings.Contains(x.CacheControl, "no-store") {
		t.Errorf("token response Cache-Control = %q, want no-store", x.CacheControl)
	}
	if r.FirstTokens.Refresh == "" || !strings.EqualFold(r.FirstTokens.TokenType, "bearer") {
		t.Errorf("first tokens: %+v, want a bearer token and a refresh token", r.FirstTokens)
	}

	// Tool calls with the token.
	for _, want := range []string{"add", "whoami"} {
		if !slices.Contains(r.Tools, want) {
			t.Errorf("tools %v lack %s", r.Tools, want)
		}
	}
	if r.Add["sum"] != 5.0 {
		t.Errorf("add(2,3) = %v", r.Add)
	}
	checkWhoami(t, st, r.Whoami, r.ClientID)

	// Refresh: a new access token and a rotated refresh token, without
	// another authorization, and the retried call succeeded with the new token.
	rf := r.Refresh
	if rf.AccessAfter == "" || rf.AccessAfter == rf.AccessBefore {
		t.Errorf("no new access token after the refresh: %+v", rf)
	}
	if rf.RefreshAfter == "" || rf.RefreshAfter == rf.RefreshBefore {
		t.Errorf("refresh token not rotated: %+v", rf)
	}
	if rf.Redirects != 1 {
		t.Errorf("the SDK sent the user to /authorize %d times, want once (the refresh must not need a new authorization)", rf.Redirects)
	}
	if r.AddAfterRefresh["sum"] != 42.0 {
		t.Errorf("add(40,2) after the refresh = %v", r.AddAfterRefresh)
	}
	var seq []string
	for _, q := range before[min(rf.RequestsFrom, len(before)):] {
		switch {
		case q.path() == "/token":
			seq = append(seq, "token:"+q.Form["grant_type"])
			if q.Form["grant_type"] == "refresh_token" {
				if q.Status != 200 || !strings.Contains(q.CacheControl, "no-store") {
					t.Errorf("refresh: %d, Cache-Control %q", q.Status, q.CacheControl)
				}
			}
		case q.Method == "POST" && strings.HasSuffix(q.path(), "/mcp"):
			seq = append(seq, "mcp:"+strconv.Itoa(q.Status))
			if q.Status == 200 && q.Bearer != "sha256:"+rf.AccessAfter {
				t.Errorf("the retried MCP call did not use the new access token")
			}
		}
	}
	if got := strings.Join(seq, " "); got != "mcp:401 token:refresh_token mcp:200" {
		t.Errorf("requests after the token was rejected: %q, want %q", got, "mcp:401 token:refresh_token mcp:200")
	}
	if rr := r.OldRefreshReplay; rr.Status != 400 || rr.Error != "invalid_grant" {
		t.Errorf("replaying the rotated-out refresh token: %+v, want 400 invalid_grant", rr)
	}
	if sdk == "v2" {
		checkStepUp(t, st, r)
	}
}

// checkStepUp: the TS SDK v2 called write_note with an mcp:tools token,
// got the 403 step-up challenge, re-authorized under the same client_id
// for both scopes (approving only the new one), and the call then worked.
func checkStepUp(t *testing.T, st *stack, r tsReport) {
	t.Helper()
	su := r.StepUp
	if su == nil {
		t.Fatal("the driver did not run the step-up")
	}
	if held := strings.Fields(su.ScopeHeld); !slices.Contains(held, mcpScope) || slices.Contains(held, writeScope) {
		t.Errorf("the first token response's scope = %q, want %s without %s (the SDK computes the step-up from it)", su.ScopeHeld, mcpScope, writeScope)
	}
	var challenge *tsRequest
	for i, q := range r.Requests[su.RequestsFrom:] {
		if q.Status == 403 && strings.HasSuffix(q.path(), "/mcp") {
			challenge = &r.Requests[su.RequestsFrom+i]
			break
		}
	}
	wantChallenge := `error="insufficient_scope"`
	if challenge == nil || !strings.Contains(challenge.WWWAuthenticate, wantChallenge) ||
		!strings.Contains(challenge.WWWAuthenticate, `scope="`+mcpScope+" "+writeScope+`"`) ||
		!strings.Contains(challenge.WWWAuthenticate, "resource_metadata=") {
		t.Fatalf("no 403 step-up challenge from the demo server: %+v", challenge)
	}
	ar := su.AuthorizationRequest
	if got := strings.Fields(ar["scope"]); !slices.Contains(got, mcpScope) || !slices.Contains(got, writeScope) {
		t.Errorf("step-up authorization request scope %q, want %s and %s", ar["scope"], mcpScope, writeScope)
	}
	if ar["client_id"] != r.ClientID || ar["resource"] != st.mcpURL {
		t.Errorf("step-up authorization request %v: want the same client_id %s and resource", ar, r.ClientID)
	}
	if su.Redirects != 1 || !su.CallbackHasCode {
		t.Errorf("step-up: %d authorizations, code %v; want one, with a code", su.Redirects, su.CallbackHasCode)
	}
	var consent string
	for _, p := range su.Pages {
		if p.Kind == "consent" {
			consent = p.Text
		}
	}
	if !strings.Contains(consent, writeScope+" new") || strings.Contains(consent, mcpScope+" new") ||
		!strings.Contains(consent, "You allowed this application before") {
		t.Errorf("the step-up consent page does not ask only for %s: %s", writeScope, consent)
	}
	if got := strings.Fields(su.TokenScope); !slices.Contains(got, mcpScope) || !slices.Contains(got, writeScope) || !su.AccessChanged {
		t.Errorf("stepped-up token scope %q (new token %v), want %s and %s", su.TokenScope, su.AccessChanged, mcpScope, writeScope)
	}
	if su.IsError || su.Result["saved"] == nil {
		t.Errorf("write_note after the step-up: %+v", su.Result)
	}
	if !slices.Contains(su.WhoamiScopes, writeScope) || !slices.Contains(su.WhoamiScopes, mcpScope) || su.Add["sum"] != 3.0 {
		t.Errorf("after the step-up: whoami scopes %v, add %v", su.WhoamiScopes, su.Add)
	}
}

// checkPages checks that the user saw the sign-in page, then the consent
// page naming the client (for a URL client ID, its host) and warning about
// the loopback redirect.
func checkPages(t *testing.T, st *stack, pages []seenPage, cimdURL string) {
	t.Helper()
	var kinds []string
	for _, p := range pages {
		kinds = append(kinds, p.Kind)
	}
	if strings.Join(kinds, ",") != "login,consent" {
		t.Fatalf("pages seen: %v, want login then consent", kinds)
	}
	consent := pages[1].Text
	if !strings.Contains(consent, "on your own computer") {
		t.Errorf("consent page lacks the loopback warning: %s", consent)
	}
	if cimdURL != "" && !strings.Contains(consent, st.docs.host) {
		t.Errorf("consent page does not show the client's host %s: %s", st.docs.host, consent)
	}
	if !strings.Contains(consent, mcpScope) {
		t.Errorf("consent page does not show the scope %s: %s", mcpScope, consent)
	}
}

func checkWhoami(t *testing.T, st *stack, w whoami, clientID string) {
	t.Helper()
	if w.ClientID != clientID {
		t.Errorf("whoami client_id = %q, want %q", w.ClientID, clientID)
	}
	if !strings.HasPrefix(w.Sub, "usr_") {
		t.Errorf("whoami sub = %q, want the user's usr_ ID", w.Sub)
	}
	if !slices.Contains(w.Scopes, mcpScope) || !slices.Contains(w.Aud, st.mcpURL) {
		t.Errorf("whoami: scopes %v, aud %v", w.Scopes, w.Aud)
	}
}
