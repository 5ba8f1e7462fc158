package server

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

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
// page. Error redirects stay for operator-configured clients (the
// operator vouches for their redirect URIs), for a signed-in user (who
// reached the client through Gatehouse before), and for prompt=none
// (a silent request has no page to show; its login_required and
// consent_required answers are what the client waits for).
func (s *Server) holdErrorRedirect(c echo.Context, params url.Values, err error) error {
	var re *redirectError
	if !errors.As(err, &re) || errorRedirectAllowed(re.req.Client.Kind, params.Get("prompt"), false) {
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

// errorRedirectAllowed is the rule of holdErrorRedirect: an error may go
// back to the client's redirect URI when the operator configured the
// client, when the request is prompt=none (the raw prompt parameter holds
// the exact value "none"), or when the browser is signed in.
func errorRedirectAllowed(kind oauth.ClientKind, prompt string, signedIn bool) bool {
	return kind == oauth.ClientStatic || signedIn || slices.Contains(strings.Fields(prompt), oauth.PromptNone)
}
