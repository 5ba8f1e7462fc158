package server

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/dcr"
	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/policy"
)

// authzRequest is a validated authorization request (OAuth 2.1 §4.1.1).
type authzRequest struct {
	Client        *oauth.Client
	RedirectURI   string
	RedirectGiven bool
	State         string
	Scopes        []string
	Resources     []string
	CodeChallenge string
	Prompt        map[string]bool
	// Nonce is echoed in the ID token (OIDC Core §3.1.2.1); MaxAge, when
	// not nil, bounds the age of the sign-in in seconds.
	Nonce  string
	MaxAge *int
	// Profile is the client profile that applies (read once per request).
	Profile *policy.Profile
	// params is the request as received, to carry through sign-in and
	// consent and re-validate on every step.
	params url.Values
	// pendingID names the stored pending request params came from, if
	// any (a request too long for the sign-in URL).
	pendingID string
}

// redirectError is an authorization error sent back to the client's
// verified redirect URI (OAuth 2.1 §4.1.2.1).
type redirectError struct {
	req *authzRequest
	err *oauth.Error
}

func (e *redirectError) Error() string { return "authorization error: " + e.err.Error() }
func (e *redirectError) Unwrap() error { return e.err }

// parseAuthorizeRequest validates an authorization request in the order
// the specification requires: until the client and its redirect URI are
// verified, errors are *pageError (shown to the user, never redirected);
// after, they are *redirectError.
func (s *Server) parseAuthorizeRequest(ctx context.Context, params url.Values) (*authzRequest, error) {
	for _, p := range []string{"client_id", "redirect_uri"} {
		if len(params[p]) > 1 {
			return nil, &pageError{Status: http.StatusBadRequest, Title: "Invalid authorization request",
				Detail: "The parameter " + p + " appears more than once.", OAuth: oauth.ErrCodeInvalidRequest}
		}
	}
	clientID := params.Get("client_id")
	if clientID == "" {
		return nil, &pageError{Status: http.StatusBadRequest, Title: "Invalid authorization request",
			Detail: "The request does not name a client (client_id is missing).", OAuth: oauth.ErrCodeInvalidRequest}
	}
	pol := s.policy() // one snapshot: a reload may swap it meanwhile
	client, err := pol.clients.ResolveClient(ctx, clientID)
	if err != nil {
		s.auditResolveFailure(ctx, s.log, clientID, err)
		return nil, clientPageError(err)
	}
	req := &authzRequest{Client: client, params: params}
	if err := s.checkRedirect(ctx, req, params); err != nil {
		return nil, err
	}
	req.Profile = pol.profileFor(req.Client)
	// Registration refuses such URIs; this covers registrations stored
	// before that rule: a response must never carry a parameter twice.
	if err := policy.CheckRedirectQuery(req.RedirectURI); err != nil {
		Audit(ctx, s.log, AuditPolicyDenial, "client_id", client.ID, "redirect_uri", truncate(req.RedirectURI, 300), "reason", err.Error())
		return nil, &pageError{Status: http.StatusBadRequest, Title: "Unusable redirect URI",
			Detail: "The application's redirect URI cannot be used: " + err.Error() + ". For your safety you were not sent there.",
			OAuth:  oauth.ErrCodeInvalidRequest}
	}
	// From here on, errors go back to the client, with its state unless
	// the state itself is ambiguous.
	fail := func(e *oauth.Error) error { return &redirectError{req: req, err: e} }
	if len(params["state"]) == 1 {
		req.State = params.Get("state")
	}
	if err := noRepeats(params, "resource"); err != nil {
		var oe *oauth.Error
		errors.As(err, &oe)
		return nil, fail(oe)
	}
	switch rt := params.Get("response_type"); {
	case rt == "":
		return nil, fail(oauth.InvalidRequest("response_type is required"))
	case rt != oauth.ResponseTypeCode:
		return nil, fail(oauth.UnsupportedResponseType("only response_type=code is supported (OAuth 2.1)"))
	}
	if rm := params.Get("response_mode"); rm != "" && rm != "query" {
		return nil, fail(oauth.InvalidRequest("only response_mode=query is supported"))
	}
	if e := refuseRequestObject(params); e != nil {
		return nil, fail(e)
	}
	if !req.Client.AllowsGrant(oauth.GrantAuthorizationCode) {
		return nil, fail(oauth.UnauthorizedClient("the client is not registered for the authorization_code grant"))
	}
	// A code the client could not redeem would waste the user's sign-in:
	// say so now, where the client (and the user) can act on it.
	if secretExpired(req.Client, s.now()) {
		return nil, fail(oauth.UnauthorizedClient("the client secret expired at %s, so the client cannot redeem an authorization code; %s",
			req.Client.SecretExpiresAt.UTC().Format(time.RFC3339), renewSecretHint(req.Client)))
	}
	if e := checkPKCE(params); e != nil {
		return nil, fail(e)
	}
	req.CodeChallenge = params.Get("code_challenge")
	prompt, e := parsePrompt(params.Get("prompt"))
	if e != nil {
		return nil, fail(e)
	}
	req.Prompt = prompt
	if e := parseOIDCParams(req, params); e != nil {
		return nil, fail(e)
	}
	resources, entries, err := pol.resources.resolve(params["resource"])
	if err != nil {
		var oe *oauth.Error
		errors.As(err, &oe)
		return nil, fail(oe)
	}
	req.Resources = resources
	scopes, dropped, err := grantScopes(oauth.SplitScope(params.Get("scope")), entries, client)
	if err != nil {
		var oe *oauth.Error
		errors.As(err, &oe)
		return nil, fail(oe)
	}
	if len(dropped) > 0 {
		s.log.Debug("requested scopes narrowed", "client_id", client.ID, "dropped", oauth.JoinScope(dropped), "granted", oauth.JoinScope(scopes))
	}
	req.Scopes = scopes
	if err := s.applyRequestCeilings(ctx, req); err != nil {
		var oe *oauth.Error
		errors.As(err, &oe)
		return nil, fail(oe)
	}
	return req, nil
}

// checkRedirect verifies redirect_uri against the client's registration
// (exact match, OAuth 2.1 §2.3.1; any port on loopback, RFC 8252 §7.3).
// For a client that may have just added a redirect URI to its metadata
// document, one refetch is tried before refusing (decision §6.5).
func (s *Server) checkRedirect(ctx context.Context, req *authzRequest, params url.Values) error {
	registered := req.Client.Metadata.RedirectURIs
	requested, given := params.Get("redirect_uri"), params.Has("redirect_uri")
	if !given {
		// Optional only when exactly one is registered (OAuth 2.1 §4.1.1).
		if len(registered) != 1 {
			return &pageError{Status: http.StatusBadRequest, Title: "Invalid authorization request",
				Detail: "redirect_uri is required because the client has several registered.", OAuth: oauth.ErrCodeInvalidRequest}
		}
		req.RedirectURI = registered[0]
		return nil
	}
	if _, ok := policy.MatchRedirectURI(registered, requested); !ok {
		reason := "which is not one of its registered redirect URIs"
		if rr, can := s.policy().clients.(RedirectRefresher); can {
			client, err := rr.ResolveClientForRedirect(ctx, req.Client.ID, requested)
			var oe *oauth.Error
			switch {
			case errors.As(err, &oe) && oe.Code == oauth.ErrCodeInvalidRequest:
				// The resolver knows why (e.g. the document lists it but it
				// breaks the redirect policy).
				reason = "which was refused: " + oe.Description
				Audit(ctx, s.log, AuditPolicyDenial, "client_id", req.Client.ID, "redirect_uri", truncate(requested, 300), "reason", oe.Description)
			case err != nil:
				return clientPageError(err)
			default:
				req.Client = client
				_, ok = policy.MatchRedirectURI(client.Metadata.RedirectURIs, requested)
			}
		}
		if !ok {
			return &pageError{Status: http.StatusBadRequest, Title: "Unregistered redirect URI",
				Detail: "The application asked to return to " + truncate(requested, 300) + ", " + reason +
					". For your safety you were not sent there.",
				OAuth: oauth.ErrCodeInvalidRequest}
		}
	}
	req.RedirectURI, req.RedirectGiven = requested, true
	return nil
}

// checkPKCE requires an S256 challenge from every client (OAuth 2.1
// §4.1.1; MCP 2025-11-25 §11.4). A missing method means "plain" (RFC 7636
// §4.3), so it is refused like plain itself: no downgrade.
func checkPKCE(params url.Values) *oauth.Error {
	challenge, method := params.Get("code_challenge"), params.Get("code_challenge_method")
	switch {
	case challenge == "":
		return oauth.InvalidRequest("code_challenge is required: PKCE with S256 is mandatory")
	case method == "":
		return oauth.InvalidRequest("code_challenge_method is required and must be S256 (a missing method means plain)")
	case method != oauth.PKCEMethodS256:
		return oauth.InvalidRequest("code_challenge_method %q is not supported; use S256", truncate(method, 40))
	case !validPKCEValue(challenge) || len(challenge) != 43:
		return oauth.InvalidRequest("code_challenge must be the 43-character base64url SHA-256 of the verifier")
	}
	return nil
}

// parsePrompt understands none, login and consent (OIDC Core §3.1.2.1);
// none cannot be combined with another value. Values Gatehouse has no use
// for (select_account: one account per browser; create) are ignored
// rather than failing the request, as clients such as mcp-remote send
// them.
func parsePrompt(raw string) (map[string]bool, *oauth.Error) {
	out := map[string]bool{}
	for _, p := range strings.Fields(raw) {
		switch p {
		case oauth.PromptNone, oauth.PromptLogin, oauth.PromptConsent:
			out[p] = true
		default:
			if len(p) > 40 || !validScopeToken(p) {
				return nil, oauth.InvalidRequest("prompt value %q is malformed", truncate(p, 40))
			}
		}
	}
	if out[oauth.PromptNone] && len(out) > 1 {
		return nil, oauth.InvalidRequest("prompt=none cannot be combined with other values")
	}
	return out, nil
}

// clientPageError shows why a client could not be used; it never redirects
// (OAuth 2.1 §4.1.2.1).
func clientPageError(err error) error {
	var oe *oauth.Error
	if !errors.As(err, &oe) {
		return err
	}
	var gone *dcr.RegistrationGone
	if errors.As(err, &gone) {
		return registrationGonePage(gone, oe)
	}
	return &pageError{Status: http.StatusBadRequest, Title: "Unknown or invalid application",
		Detail: "This sign-in request comes from an application Gatehouse cannot verify: " + oe.Description,
		OAuth:  oe.Code, Description: oe.Description, cause: oe.Cause()}
}

// refuseRequestObject refuses a request object (request, RFC 9101 and
// OIDC Core §6) or a reference to one (request_uri) instead of ignoring
// it: the client meant the parameters inside it, signed, to be the
// request, and they may differ from the plain ones beside it (RFC 9101
// §5 requires the ones inside to win). Acting on the plain ones would
// honour a request the client did not make. The metadata says
// request_parameter_supported and request_uri_parameter_supported: false
// (the latter defaults to true in OIDC Discovery, so relying parties may
// send it unasked).
func refuseRequestObject(params url.Values) *oauth.Error {
	if _, ok := params["request"]; ok {
		return oauth.New(oauth.ErrCodeRequestNotSupported, http.StatusBadRequest,
			"request objects (the request parameter, RFC 9101) are not supported; send the parameters directly")
	}
	if _, ok := params["request_uri"]; ok {
		return oauth.New(oauth.ErrCodeRequestURINotSupported, http.StatusBadRequest,
			"request_uri is not supported (no request objects, no pushed authorization requests); send the parameters directly")
	}
	return nil
}
