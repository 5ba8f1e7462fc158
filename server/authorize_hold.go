package server

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/store"
)

// holdErrorRedirect decides whether an invalid authorization request may
// be answered by redirecting to the client (OAuth 2.1 §4.1.2.1) or must
// end on Gatehouse's own error page.
//
// Anyone can register a client, or publish a metadata document, whose
// redirect URI is a phishing page; a link to /authorize with a deliberately
// invalid parameter would then make Gatehouse an open redirector for it
// (RFC 9700 §4.11.2). So for self-registered (DCR) and CIMD clients an
// invalid request from a browser that has not signed in is shown as a
// page, whatever its prompt says (prompt=none added to the link must not
// reopen the redirect). Error redirects stay for operator-configured
// clients (the operator vouches for their redirect URIs) and for a
// signed-in user (who reached the client through Gatehouse before).
func (s *Server) holdErrorRedirect(c echo.Context, params url.Values, err error) error {
	var re *redirectError
	if !errors.As(err, &re) || errorRedirectAllowed(re.req.Client.Kind, false, false) {
		return err
	}
	if _, _, uerr := s.currentUser(c); uerr == nil {
		return err
	} else if !errors.Is(uerr, store.ErrNotFound) {
		return uerr
	}
	Audit(c.Request().Context(), requestLogger(c, s.log), AuditPolicyDenial, "client_id", re.req.Client.ID,
		"redirect_uri", truncate(re.req.RedirectURI, 300), "reason", "error redirect withheld from a signed-out browser: "+re.err.Code)
	return &pageError{Status: http.StatusBadRequest, Title: "Invalid authorization request",
		Detail: "The application sent an invalid sign-in request (" + re.err.Description + "). " +
			"You were not sent back to it, because Gatehouse cannot tell that the link came from the application.",
		OAuth: re.err.Code, cause: re.err}
}

// silentLoginRequired answers a valid prompt=none request from a browser
// that has not signed in: login_required, by redirect (OIDC Core
// §3.1.2.6), which is what a client checking for a session waits for.
// But that redirect goes to whatever redirect URI the link names, so for
// a self-registered or CIMD client it is sent only when some user of this
// server has approved the client: silent sign-in can only ever succeed
// for such a client, and a phishing client registered a minute ago has no
// approval. Otherwise the browser sees the same answer as a page.
func (s *Server) silentLoginRequired(c echo.Context, req *authzRequest) error {
	ctx := c.Request().Context()
	re := &redirectError{req: req, err: oauth.New(oauth.ErrCodeLoginRequired, http.StatusBadRequest, "the user is not signed in")}
	if errorRedirectAllowed(req.Client.Kind, false, false) {
		return re
	}
	approved, err := s.store.ClientHasConsent(ctx, req.Client.ID)
	if err != nil {
		return err
	}
	if errorRedirectAllowed(req.Client.Kind, false, approved) {
		return re
	}
	Audit(ctx, requestLogger(c, s.log), AuditPolicyDenial, "client_id", req.Client.ID, "redirect_uri", truncate(req.RedirectURI, 300),
		"reason", "prompt=none answer withheld from a signed-out browser: no user has approved this client")
	return &pageError{Status: http.StatusBadRequest, Title: "Sign-in required",
		Detail: "The application asked whether you are signed in without showing you a page (prompt=none). You are not, and " +
			"no one has approved this application here yet, so you were not sent back to it: Gatehouse cannot tell that the link came from the application.",
		OAuth: oauth.ErrCodeLoginRequired}
}

// errorRedirectAllowed is the rule of holdErrorRedirect and
// silentLoginRequired: an error may go back to the client's redirect URI
// when the operator configured the client, when the browser is signed in,
// or, for the answer to a silent (prompt=none) request, when some user has
// approved the client.
func errorRedirectAllowed(kind oauth.ClientKind, signedIn, approvedSilent bool) bool {
	return kind == oauth.ClientStatic || signedIn || approvedSilent
}
