package server

import (
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/dcr"
)

const sharedToolBody = `{"redirect_uris":["http://127.0.0.1/callback"],"token_endpoint_auth_method":"none",
"grant_types":["authorization_code","refresh_token"],"client_name":"Popular CLI","application_type":"native"}`

// TestSharedRegistrationCannotBeHijacked is the chained attack: two
// parties behind one address (a NAT) register the same public tool and
// get one client_id. The victim signs in and holds tokens. The attacker's
// registration access token must not redirect the client to the attacker
// or delete it: its update forks a registration of its own and its
// delete removes only its own handle.
func TestSharedRegistrationCannotBeHijacked(t *testing.T) {
	env := newDCREnv(t, dcr.ModeOpen)
	_, victimReg := env.register(sharedToolBody)
	_, attackerReg := env.register(sharedToolBody)
	clientID := victimReg["client_id"].(string)
	if attackerReg["client_id"] != clientID {
		t.Fatalf("deduplication did not merge: %v vs %v", attackerReg["client_id"], clientID)
	}
	attackerRAT := attackerReg["registration_access_token"].(string)

	// The victim uses the tool.
	verifier, challenge := pkce()
	p := authzParams(clientID, "http://127.0.0.1/callback", challenge)
	resp, tok := env.token(url.Values{"grant_type": {"authorization_code"}, "code": {env.code(p)}, "code_verifier": {verifier},
		"redirect_uri": {"http://127.0.0.1/callback"}, "client_id": {clientID}}, "", "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("victim exchange = %d %v", resp.StatusCode, tok)
	}

	// The attacker adds its own redirect URI.
	evil := "https://attacker.example/steal"
	update := strings.Replace(sharedToolBody, `"redirect_uris":["http://127.0.0.1/callback"]`,
		`"client_id":"`+clientID+`","redirect_uris":["http://127.0.0.1/callback","`+evil+`"]`, 1)
	resp, upd := env.manage(http.MethodPut, clientID, attackerRAT, update)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("attacker PUT = %d %v", resp.StatusCode, upd)
	}
	if upd["client_id"] == clientID || upd["registration_access_token"] == attackerRAT {
		t.Fatalf("the update changed the shared client itself: %v", upd)
	}
	forked := upd["client_id"].(string)
	// The shared client still has only the victim's redirect URI: a link
	// to it with the attacker's redirect ends on an error page.
	resp, _ = env.manage(http.MethodGet, clientID, victimReg["registration_access_token"].(string), "")
	_, cur := env.manage(http.MethodGet, clientID, victimReg["registration_access_token"].(string), "")
	if uris, _ := json.Marshal(cur["redirect_uris"]); resp.StatusCode != http.StatusOK || string(uris) != `["http://127.0.0.1/callback"]` {
		t.Fatalf("shared client after the attacker's update = %d %s", resp.StatusCode, uris)
	}
	attack := authzParams(clientID, evil, challenge)
	resp, page := env.get(authorizePath + "?" + attack.Encode())
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" || !strings.Contains(page, "Unregistered redirect URI") {
		t.Fatalf("victim following the attacker's link = %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	// The attacker's old token no longer manages the shared client; the
	// new one manages only the fork.
	if resp, _ := env.manage(http.MethodGet, clientID, attackerRAT, ""); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("attacker's old token on the shared client = %d, want 401", resp.StatusCode)
	}
	if resp, _ := env.manage(http.MethodGet, clientID, upd["registration_access_token"].(string), ""); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the fork's token on the shared client = %d, want 401", resp.StatusCode)
	}
	if resp, f := env.manage(http.MethodGet, forked, upd["registration_access_token"].(string), ""); resp.StatusCode != http.StatusOK ||
		!strings.Contains(mustJSON(f["redirect_uris"]), evil) {
		t.Fatalf("the fork = %d %v", resp.StatusCode, f)
	}

	// A used client absorbs no further registrant.
	if _, third := env.register(sharedToolBody); third["client_id"] == clientID {
		t.Fatal("a used client absorbed a new registration")
	}
	// Even a DELETE by the victim's own handle removes only that handle:
	// nobody can tell which registrant the signed-in users came through.
	resp, _ = env.manage(http.MethodDelete, clientID, victimReg["registration_access_token"].(string), "")
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("a registrant's DELETE of the shared client = %d", resp.StatusCode)
	}
	// The client lives on for whoever else uses it: the victim's refresh
	// token still works.
	resp, ref := env.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok["refresh_token"].(string)}, "client_id": {clientID}}, "", "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("refresh after a registrant's DELETE of the shared client = %d %v", resp.StatusCode, ref)
	}
}

// TestSharedRegistrationDeleteKeepsTheOthers: the attacker deletes the
// client it shares with a signed-in victim; the victim's tokens and the
// client survive, and the attacker's token is gone.
func TestSharedRegistrationDeleteKeepsTheOthers(t *testing.T) {
	env := newDCREnv(t, dcr.ModeOpen)
	_, victimReg := env.register(sharedToolBody)
	_, attackerReg := env.register(sharedToolBody)
	clientID := victimReg["client_id"].(string)
	verifier, challenge := pkce()
	resp, tok := env.token(url.Values{"grant_type": {"authorization_code"}, "code": {env.code(authzParams(clientID, "http://127.0.0.1/callback", challenge))},
		"code_verifier": {verifier}, "redirect_uri": {"http://127.0.0.1/callback"}, "client_id": {clientID}}, "", "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("exchange = %d %v", resp.StatusCode, tok)
	}
	attackerRAT := attackerReg["registration_access_token"].(string)
	if resp, _ := env.manage(http.MethodDelete, clientID, attackerRAT, ""); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("attacker DELETE = %d", resp.StatusCode)
	}
	if resp, _ := env.manage(http.MethodGet, clientID, attackerRAT, ""); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("attacker token after its DELETE = %d, want 401", resp.StatusCode)
	}
	if resp, _ := env.manage(http.MethodGet, clientID, victimReg["registration_access_token"].(string), ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("victim's registration after the attacker's DELETE = %d", resp.StatusCode)
	}
	resp, ref := env.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok["refresh_token"].(string)}, "client_id": {clientID}}, "", "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("victim refresh after the attacker's DELETE = %d %v", resp.StatusCode, ref)
	}
	// An unchanged PUT by a registrant of a shared client changes nothing
	// and keeps its client_id.
	body := strings.Replace(sharedToolBody, `{"redirect_uris"`, `{"client_id":"`+clientID+`","redirect_uris"`, 1)
	if resp, same := env.manage(http.MethodPut, clientID, victimReg["registration_access_token"].(string), body); resp.StatusCode != http.StatusOK || same["client_id"] != clientID {
		t.Fatalf("unchanged PUT = %d %v", resp.StatusCode, same)
	}
}

// TestConsentSaysWhatChanged: consent asked again because the client's
// security-relevant metadata changed names the change.
func TestConsentSaysWhatChanged(t *testing.T) {
	env := newDCREnv(t, dcr.ModeOpen)
	_, reg := env.register(sharedToolBody)
	clientID, rat := reg["client_id"].(string), reg["registration_access_token"].(string)
	_, challenge := pkce()
	env.code(authzParams(clientID, "http://127.0.0.1/callback", challenge))
	update := strings.Replace(sharedToolBody, `"redirect_uris":["http://127.0.0.1/callback"]`,
		`"client_id":"`+clientID+`","redirect_uris":["http://127.0.0.1/callback","https://\u0430pp.example/cb"]`, 1)
	update = strings.Replace(update, "Popular CLI", "Popular CLI Pro", 1)
	if resp, upd := env.manage(http.MethodPut, clientID, rat, update); resp.StatusCode != http.StatusOK || upd["client_id"] != clientID {
		t.Fatalf("PUT by the only registrant = %d %v", resp.StatusCode, upd)
	}
	resp, page := env.get(authorizePath + "?" + authzParams(clientID, "http://127.0.0.1/callback", challenge).Encode())
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "<h1>Authorize access</h1>") {
		t.Fatalf("authorize after the change = %d", resp.StatusCode)
	}
	text := html.UnescapeString(page)
	for _, want := range []string{"it has changed since", "It added a place to send you back to: https://xn--pp-6kc.example/cb",
		"Its name changed from “Popular CLI” to “Popular CLI Pro”"} {
		if !strings.Contains(text, want) {
			t.Errorf("consent page lacks %q:\n%s", want, text)
		}
	}
}

func mustJSON(v any) string { b, _ := json.Marshal(v); return string(b) }
