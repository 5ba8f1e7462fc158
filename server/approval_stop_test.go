package server

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/policy"
	"github.com/gatehouse-dev/gatehouse/store"
)

// onePage fails unless body is exactly one HTML document showing want and
// no consent form: a refusal page must end the response.
func onePage(t *testing.T, what, body, want string) {
	t.Helper()
	if n := strings.Count(strings.ToLower(body), "<!doctype html>"); n != 1 {
		t.Errorf("%s: %d HTML documents in one response, want 1:\n%s", what, n, body)
	}
	if !strings.Contains(body, want) {
		t.Errorf("%s: the page does not say %q:\n%s", what, want, body)
	}
	if strings.Contains(body, "<h1>Authorize access</h1>") || strings.Contains(body, `name="decision"`) {
		t.Errorf("%s: the consent form follows the refusal page:\n%s", what, body)
	}
}

// TestApprovalRefusalEndsTheRequest: the page of a pending or blocked
// client is the whole answer. Neither /authorize nor /consent goes on to
// show the consent form after it, record a consent or issue a code.
func TestApprovalRefusalEndsTheRequest(t *testing.T) {
	e := newObservedEnv(t)
	ctx := context.Background()
	_, challenge := pkce()
	params := authzParams("public-app", publicRedirect, challenge)
	e.login(testUser, testPassword)
	u, err := e.store.UserByName(ctx, testUser)
	if err != nil {
		t.Fatal(err)
	}

	// The consent page is shown while no profile asks for approval; the
	// operator then reloads with one that does, and the user presses Allow.
	resp, page := e.get(authorizePath + "?" + params.Encode())
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "<h1>Authorize access</h1>") {
		t.Fatalf("authorize = %d %s", resp.StatusCode, page)
	}
	e.setProfiles(policy.Profile{Name: "vetted", Match: policy.ProfileMatch{ClientIDs: []string{"public-app"}}, Approval: policy.ApprovalAdmin})
	action, form := formFields(t, page)
	form.Set("decision", "allow")
	resp, body := e.postForm(action, form)
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Location") != "" {
		t.Fatalf("allow for a client now pending = %d %q, want 403 and no redirect", resp.StatusCode, resp.Header.Get("Location"))
	}
	onePage(t, "POST /consent, pending", body, "waits for approval")
	if _, err := e.store.Consent(ctx, u.ID, "public-app"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a consent was recorded for a pending client (err %v)", err)
	}
	logs := e.logs.String()
	if strings.Contains(logs, `"event":"consent_granted"`) || strings.Contains(logs, "authorization code issued") {
		t.Fatalf("consent granted or a code issued for a pending client:\n%s", logs)
	}

	// Signed in, the pending client's request shows the pending page only.
	resp, body = e.get(authorizePath + "?" + params.Encode())
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("pending client = %d", resp.StatusCode)
	}
	onePage(t, "GET /authorize, pending", body, "waits for approval")

	// Approved, used (consent remembered), then blocked: a signed-in
	// browser gets the blocked page and no code, although consent is on file.
	if resp, body := e.adminCall(http.MethodPost, "/clients/approve?id=public-app", adminToken); resp.StatusCode != http.StatusOK {
		t.Fatalf("approve = %d %s", resp.StatusCode, body)
	}
	e.code(params)
	issued := strings.Count(e.logs.String(), "authorization code issued")
	if resp, body := e.adminCall(http.MethodPost, "/clients/block?id=public-app", adminToken); resp.StatusCode != http.StatusOK {
		t.Fatalf("block = %d %s", resp.StatusCode, body)
	}
	resp, body = e.get(authorizePath + "?" + params.Encode())
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Location") != "" {
		t.Fatalf("blocked client, signed in = %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	onePage(t, "GET /authorize, blocked", body, "is blocked")
	if n := strings.Count(e.logs.String(), "authorization code issued"); n != issued {
		t.Errorf("a code was issued for a blocked client (%d codes, %d before the block)", n, issued)
	}
}
