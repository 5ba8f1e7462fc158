package server

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-dev/gatehouse/notify"
	"github.com/gatehouse-dev/gatehouse/policy"
	"github.com/gatehouse-dev/gatehouse/store"
)

// noticeRecorder is an ApprovalNotifier that keeps what it is told.
type noticeRecorder struct {
	mu      sync.Mutex
	notices []notify.Notice
}

func (n *noticeRecorder) Notify(x notify.Notice) {
	n.mu.Lock()
	n.notices = append(n.notices, x)
	n.mu.Unlock()
}

func (n *noticeRecorder) list() []notify.Notice {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]notify.Notice(nil), n.notices...)
}

// TestCIMDApprovalIsTiedToTheDocument: an unknown CIMD client waits for
// approval (one webhook notice), is approved and completes the flow; when
// its document's redirect_uris change it is back in the queue (another
// notice), and a code issued before the change is no longer redeemed.
func TestCIMDApprovalIsTiedToTheDocument(t *testing.T) {
	host := newDocHost(t)
	doc := publicDoc()
	clientID := host.publish("/agent.json", doc)
	e := newCIMDEnv(t, host)
	notices := &noticeRecorder{}
	e.srv.notifier = notices
	e.setProfiles(policy.Profile{Name: "unknown-cimd", Match: policy.ProfileMatch{CIMD: true}, Approval: policy.ApprovalAdmin})
	ctx := context.Background()
	verifier, challenge := pkce()
	params := authzParams(clientID, "http://127.0.0.1:4000/callback", challenge)

	e.login(testUser, testPassword)
	for range 2 { // a second visit queues nothing new
		resp, body := e.get(authorizePath + "?" + params.Encode())
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "waits for approval") {
			t.Fatalf("unknown CIMD client = %d\n%s", resp.StatusCode, body)
		}
		// The page names the client by its host first, its name as a claim.
		if !regexp.MustCompile(`class="client-host">127\.0\.0\.1:\d+<`).MatchString(body) || !strings.Contains(body, `class="claim">“Agent CLI”`) {
			t.Fatalf("the pending page does not show the host first:\n%s", body)
		}
	}
	if n := notices.list(); len(n) != 1 || n[0].ClientID != clientID || n[0].Reason != "new" || n[0].Host == "" ||
		n[0].ApproveCommand != "gatehouse admin clients approve "+clientID {
		t.Fatalf("webhook notices = %+v; want one for the new client", n)
	}
	rec, _ := e.store.ClientApproval(ctx, clientID)
	if _, _, err := e.store.DecideClientApproval(ctx, store.ClientDecision{ClientID: clientID, State: store.ApprovalApproved,
		Fingerprint: rec.Fingerprint, At: e.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	code := e.code(params)
	tokenForm := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier},
		"redirect_uri": {"http://127.0.0.1:4000/callback"}, "client_id": {clientID}}
	if r, b := e.token(tokenForm, "", ""); r.StatusCode != http.StatusOK {
		t.Fatalf("exchange after approval = %d %v", r.StatusCode, b)
	}

	// A name change is not a reason to wait again (consent covers it)...
	pending := e.code(params)
	doc["client_name"] = "Agent CLI 2"
	host.publish("/agent.json", doc)
	e.metadata.Purge(clientID)
	if loc := e.authorize(params, "allow"); loc.Query().Get("code") == "" {
		t.Fatalf("a renamed approved client was stopped: %s", loc)
	}
	// ...a new redirect URI is.
	doc["redirect_uris"] = append(doc["redirect_uris"].([]string), "http://127.0.0.1:5000/other")
	host.publish("/agent.json", doc)
	e.metadata.Purge(clientID)
	resp, body := e.get(authorizePath + "?" + params.Encode())
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "waits for approval again") {
		t.Fatalf("changed redirect_uris = %d\n%s", resp.StatusCode, body)
	}
	rec, _ = e.store.ClientApproval(ctx, clientID)
	if rec.State != store.ApprovalPending || rec.Reason != store.ApprovalReasonChanged || rec.ApprovedFingerprint == "" {
		t.Fatalf("record after the change = %+v", rec)
	}
	if n := notices.list(); len(n) != 2 || n[1].Reason != "changed" {
		t.Fatalf("webhook notices = %+v; want a second one, reason changed", n)
	}
	tokenForm.Set("code", pending)
	r, b := e.token(tokenForm, "", "")
	wantOAuthError(t, r, b, http.StatusBadRequest, "unauthorized_client")
}

// TestConsentSignalsDoNotDependOnTheProfile: the consent page of a CIMD
// client shows the same anti-phishing signals (host first, name as the
// client's claim, where the answer goes, the loopback warning) whether the
// client falls to the default profile or to a trusted one.
func TestConsentSignalsDoNotDependOnTheProfile(t *testing.T) {
	host := newDocHost(t)
	clientID := host.publish("/agent.json", publicDoc())
	e := newCIMDEnv(t, host)
	_, challenge := pkce()
	params := authzParams(clientID, "http://127.0.0.1:4000/callback", challenge)
	e.login(testUser, testPassword)
	page := func() string {
		resp, body := e.get(authorizePath + "?" + params.Encode())
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "<h1>Authorize access</h1>") {
			t.Fatalf("no consent page: %d\n%s", resp.StatusCode, body)
		}
		return signals(body)
	}
	byDefault := page()
	e.setProfiles(policy.Profile{Name: "known-agents", Match: policy.ProfileMatch{Hosts: []string{"127.0.0.1"}},
		RedirectPolicy: policy.RedirectAny, Consent: policy.ConsentAlways})
	if trusted := page(); trusted != byDefault {
		t.Fatalf("the consent page's signals changed with the profile:\ndefault: %s\nprofile: %s", byDefault, trusted)
	}
	for _, want := range []string{"client-host", "claim", "127.0.0.1:4000", "your own computer"} {
		if !strings.Contains(byDefault, want) {
			t.Errorf("signal %q missing from %s", want, byDefault)
		}
	}
}

var (
	tagRE   = regexp.MustCompile(`<[^>]+>`)
	spaceRE = regexp.MustCompile(`\s+`)
	csrfVal = regexp.MustCompile(`value="[^"]*"`)
)

// signals is the consent page without its per-request values: what the
// user reads, and the class names that style the host and the claim.
func signals(body string) string {
	_, main, _ := strings.Cut(body, "<main")
	main, _, _ = strings.Cut(main, "</main>")
	main = csrfVal.ReplaceAllString(main, `value=""`)
	classes := strings.Join(regexp.MustCompile(`class="[^"]+"`).FindAllString(main, -1), " ")
	return classes + " | " + spaceRE.ReplaceAllString(tagRE.ReplaceAllString(main, " "), " ")
}
