package server

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/policy"
	"github.com/gatehouse-dev/gatehouse/store"
)

const consentPath = "/consent"

// consentPage is the data of the consent screen.
type consentPage struct {
	// The form: where it posts and what it carries back.
	Action, CSRF, Request, Fingerprint, UserID string

	ClientName string
	ClientID   string
	// ClientHost is, for URL client IDs, the host the user must trust.
	ClientHost string
	// SelfAsserted: the name comes from the client, not the operator.
	SelfAsserted bool
	// LogoURL is the client's logo, served from Gatehouse's origin.
	LogoURL string
	Kind    string
	// RedirectHost is the web or loopback host the answer goes to, in
	// ASCII (punycode for internationalized names); RedirectScheme is set
	// instead when the answer goes to an app by its private-use scheme.
	RedirectHost   string
	RedirectScheme string
	// RedirectPunycode: RedirectHost has an internationalized label.
	RedirectPunycode bool
	Loopback         bool
	Scopes           []consentItem
	Resources        []consentItem
	// Returning: the user approved this client before (same metadata)
	// and it now asks for more; the items it did not approve then are
	// marked New, so the user is asked only about what is new (the
	// consent is the union).
	Returning bool
	// Changed: the user approved this client before, under other
	// security-relevant metadata; Changes says how it differs (empty
	// when the earlier approval predates the record of what was seen).
	Changed      bool
	Changes      []string
	Username     string
	Notice       string
	LogoutAction string
	AccountURL   string
}

// consentItem is a scope or resource on the consent page.
type consentItem struct {
	Name string
	New  bool
}

// consentItems marks the entries of asked that approved lacks; with no
// earlier approval (nil), nothing is marked.
func consentItems(asked, approved []string, returning bool) []consentItem {
	out := make([]consentItem, len(asked))
	for i, a := range asked {
		out[i] = consentItem{Name: a, New: returning && !slices.Contains(approved, a)}
	}
	return out
}

func isNew(i consentItem) bool { return i.New }

// needsConsent reports whether the user must approve this request: no
// earlier consent, prompt=consent, more scopes or resources than approved,
// or client metadata changed since (a different fingerprint).
func (s *Server) needsConsent(c echo.Context, user store.User, req *authzRequest) (bool, error) {
	if req.Prompt[oauth.PromptConsent] {
		return true, nil
	}
	con, err := s.store.Consent(c.Request().Context(), user.ID, req.Client.ID)
	if errors.Is(err, store.ErrNotFound) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	return con.Fingerprint != req.Client.Fingerprint || !subset(req.Scopes, con.Scopes) || !subset(req.Resources, con.Resources), nil
}

// renderConsent shows who is asking for what. For a URL client ID the
// host is what identifies the client; the name is only its own claim
// (CIMD -02 §8.5).
func (s *Server) renderConsent(c echo.Context, user store.User, req *authzRequest, notice string) error {
	token, err := s.csrfToken(c)
	if err != nil {
		return err
	}
	prior, err := s.store.Consent(c.Request().Context(), user.ID, req.Client.ID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	returning := err == nil && prior.Fingerprint == req.Client.Fingerprint
	p := consentPage{
		Action: s.base + consentPath, CSRF: token, Request: consentRequest(req),
		Fingerprint: req.Client.Fingerprint, UserID: user.ID,
		ClientName: req.Client.DisplayName(), ClientID: req.Client.ID, Kind: string(req.Client.Kind),
		SelfAsserted: req.Client.Kind != oauth.ClientStatic,
		Scopes:       consentItems(req.Scopes, prior.Scopes, returning),
		Resources:    consentItems(req.Resources, prior.Resources, returning),
		Returning:    returning, Username: user.Name, Notice: notice,
		Loopback:     policy.IsLoopbackRedirect(req.RedirectURI),
		LogoutAction: s.base + logoutPath,
		LogoURL:      s.consentLogoURL(c, req.Client),
		AccountURL:   s.base + accountPath,
	}
	p.Returning = returning && (slices.ContainsFunc(p.Scopes, isNew) || slices.ContainsFunc(p.Resources, isNew))
	if err == nil && !returning {
		p.Changed = true
		if prior.Approved != nil {
			p.Changes = metadataChanges(*prior.Approved, oauth.SecurityMetadataOf(req.Client.Metadata))
		}
	}
	if strings.HasPrefix(req.Client.ID, "https://") {
		p.ClientHost = policy.RedirectDestination(req.Client.ID).Host // the same ASCII rendering
	}
	// Never the redirect URI's host as written: a look-alike IDN host
	// shows as punycode, and "myapp://accounts.google.com/cb" goes to
	// whichever app claims myapp:, not to accounts.google.com.
	switch dest := policy.RedirectDestination(req.RedirectURI); dest.Kind {
	case policy.DestinationApp:
		p.RedirectScheme = dest.Scheme + ":"
	default:
		p.RedirectHost, p.RedirectPunycode = dest.Host, dest.Punycode
	}
	return s.render(c, http.StatusOK, "consent", "Authorize "+p.ClientName, p)
}

// handleConsent receives the user's decision. The authorization request
// travels in the form and is validated again from scratch, so nothing the
// page carried is trusted; if the client's metadata changed since the page
// was shown, the user is asked again.
func (s *Server) handleConsent(c echo.Context) error {
	form, err := postForm(c)
	if err != nil {
		return pageErrorFrom(asOAuth(err), "Invalid consent request")
	}
	if !s.csrfValid(c) {
		return &pageError{Status: http.StatusForbidden, Title: "Consent refused",
			Detail: "The consent form expired. Return to the application and start again."}
	}
	params, err := url.ParseQuery(form.Get("request"))
	if err != nil {
		return &pageError{Status: http.StatusBadRequest, Title: "Invalid consent request", Detail: "The form was altered."}
	}
	params, pendingID, err := s.resumePending(c.Request().Context(), params)
	if err != nil {
		return err
	}
	req, err := s.parseAuthorizeRequest(c.Request().Context(), params)
	if err != nil {
		return s.holdErrorRedirect(c, params, err)
	}
	req.pendingID = pendingID
	user, sess, err := s.currentUser(c)
	if errors.Is(err, store.ErrNotFound) {
		return s.redirectToLogin(c, req)
	}
	if err != nil {
		return err
	}
	if err := s.narrowForUser(c.Request().Context(), user, req); err != nil {
		return err
	}
	if form.Get("user") != user.ID {
		return s.renderConsent(c, user, req, "You signed in as another user since this page was shown. Please review again.")
	}
	if form.Get("fingerprint") != req.Client.Fingerprint {
		return s.renderConsent(c, user, req, "The application's details changed since this page was shown. Please review them again.")
	}
	// Blocked, or back in the approval queue, since the page was shown.
	if refused, err := s.checkApproval(c, req, &user); refused || err != nil {
		return err
	}
	log := requestLogger(c, s.log)
	switch form.Get("decision") {
	case "allow":
	case "deny":
		Audit(c.Request().Context(), log, AuditConsentDenied, "client_id", req.Client.ID, "user_id", user.ID)
		return s.writeRedirectError(c, &redirectError{req: req, err: oauth.AccessDenied("the user denied the request")})
	default:
		return &pageError{Status: http.StatusBadRequest, Title: "Invalid consent request", Detail: "No decision was submitted."}
	}
	if err := s.recordConsent(c, user, req); err != nil {
		return err
	}
	s.metrics.authorizationIssued(req.Profile.Name, consentAsked)
	Audit(c.Request().Context(), log, AuditConsentGranted, "client_id", req.Client.ID, "user_id", user.ID,
		"scopes", strings.Join(req.Scopes, " "), "resources", strings.Join(req.Resources, " "), "fingerprint", req.Client.Fingerprint)
	return s.issueCode(c, user, sess, req)
}

// recordConsent remembers the approval. Under an unchanged fingerprint the
// new scopes and resources are added to what was approved before.
func (s *Server) recordConsent(c echo.Context, user store.User, req *authzRequest) error {
	ctx := c.Request().Context()
	approved := oauth.SecurityMetadataOf(req.Client.Metadata)
	con := store.Consent{UserID: user.ID, ClientID: req.Client.ID, ClientName: req.Client.DisplayName(),
		Fingerprint: req.Client.Fingerprint, GrantedAt: s.now(), Approved: &approved}
	old, err := s.store.Consent(ctx, user.ID, req.Client.ID)
	switch {
	case err == nil && old.Fingerprint == con.Fingerprint:
		con.Scopes, con.Resources = union(old.Scopes, req.Scopes), union(old.Resources, req.Resources)
	case err == nil || errors.Is(err, store.ErrNotFound):
		con.Scopes, con.Resources = req.Scopes, req.Resources
	default:
		return err
	}
	return s.store.PutConsent(ctx, con)
}

func union(a, b []string) []string {
	out := append([]string(nil), a...)
	for _, x := range b {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}
