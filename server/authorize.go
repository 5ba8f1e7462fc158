package server

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/store"
)

const (
	authorizePath = "/authorize"
	// codeTTL is the life of an authorization code (decision §6.11).
	codeTTL = 60 * time.Second
	// codeKeep is how long a redeemed or expired code is remembered after
	// it expires, so that a late replay still revokes what it issued.
	codeKeep = 10 * time.Minute
)

// handleAuthorize is the authorization endpoint (OAuth 2.1 §4.1.1). GET
// carries the request in the query; POST in a form body. A request that
// asks for JSON (clients preflight /authorize that way) gets the errors
// that would be pages as OAuth JSON instead.
func (s *Server) handleAuthorize(c echo.Context) error {
	err := s.authorize(c)
	var pe *pageError
	if err != nil && errors.As(err, &pe) && wantsJSON(c.Request().Header.Values(echo.HeaderAccept)) {
		s.logError(requestLogger(c, s.log), http.StatusBadRequest, err)
		writeOAuthError(c, pe.jsonError())
		return nil
	}
	return err
}

func (s *Server) authorize(c echo.Context) error {
	params := c.QueryParams()
	if c.Request().Method == http.MethodPost {
		form, err := postForm(c, "resource")
		if err != nil {
			return pageErrorFrom(asOAuth(err), "Invalid authorization request")
		}
		params = form
	}
	if err := checkRequestSize(params); err != nil {
		return err
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
	signedIn := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	// max_age: a sign-in older than that must be repeated (OIDC Core
	// §3.1.2.1), like prompt=login.
	if signedIn && req.MaxAge != nil && s.now().Sub(sess.AuthTime) > time.Duration(*req.MaxAge)*time.Second {
		req.Prompt[oauth.PromptLogin] = true
	}
	if !signedIn || req.Prompt[oauth.PromptLogin] {
		// A blocked or pending client is told so before anyone signs in.
		if refused, err := s.checkApproval(c, req, nil); refused || err != nil {
			return err
		}
		if req.Prompt[oauth.PromptNone] {
			if signedIn {
				return &redirectError{req: req, err: oauth.New(oauth.ErrCodeLoginRequired, http.StatusBadRequest, "the user must sign in again")}
			}
			return s.silentLoginRequired(c, req)
		}
		return s.redirectToLogin(c, req)
	}
	if err := s.narrowForUser(c.Request().Context(), user, req); err != nil {
		return err
	}
	if refused, err := s.checkApproval(c, req, &user); refused || err != nil {
		return err
	}
	needConsent, settled, err := s.consentRequired(c, user, req)
	if err != nil {
		return err
	}
	if needConsent {
		if req.Prompt[oauth.PromptNone] {
			return &redirectError{req: req, err: oauth.New(oauth.ErrCodeConsentRequired, http.StatusBadRequest, "the user has not approved this client")}
		}
		return s.renderConsent(c, user, req, "")
	}
	s.metrics.authorizationIssued(req.Profile.Name, settled)
	return s.issueCode(c, user, sess, req)
}

// redirectToLogin sends the browser to sign in and back to this request.
// A prompt=login and a max_age are fulfilled by the sign-in itself, so
// they are removed from the request that comes back: otherwise it would
// loop (max_age=0, which OIDC Core §3.1.2.1 makes prompt=login, or any
// max_age shorter than the user takes to sign in, would ask again and
// again). The ID token still carries auth_time for the relying party's own
// max_age check.
func (s *Server) redirectToLogin(c echo.Context, req *authzRequest) error {
	back := cloneValues(req.params)
	back.Del("max_age")
	forced := req.Prompt[oauth.PromptLogin]
	if forced {
		var rest []string
		for _, p := range strings.Fields(back.Get("prompt")) {
			if p != oauth.PromptLogin {
				rest = append(rest, p)
			}
		}
		back.Del("prompt")
		if len(rest) > 0 {
			back.Set("prompt", strings.Join(rest, " "))
		}
	}
	returnTo, err := s.returnToAuthorize(c, req, back, back.Encode() == req.params.Encode())
	if err != nil {
		return err
	}
	q := url.Values{"return_to": {returnTo}}
	if forced {
		q.Set("prompt", oauth.PromptLogin)
	}
	// OIDC Core §3.1.2.1: login_hint prefills the sign-in and is passed
	// on to an upstream provider.
	if hint := req.params.Get("login_hint"); hint != "" {
		q.Set("login_hint", truncate(hint, 256))
	}
	return c.Redirect(http.StatusFound, s.base+loginPath+"?"+q.Encode())
}

// issueCode stores a new authorization code and sends it to the client.
func (s *Server) issueCode(c echo.Context, user store.User, sess store.Session, req *authzRequest) error {
	code, id, secretHash, err := s.newHandle(codePrefix)
	if err != nil {
		return err
	}
	now := s.now()
	rec := store.AuthCode{
		ID: id, SecretHash: secretHash, ClientID: req.Client.ID, RedirectURI: req.RedirectURI, RedirectURIGiven: req.RedirectGiven,
		UserID: user.ID, Scopes: req.Scopes, Resources: req.Resources, CodeChallenge: req.CodeChallenge, Nonce: req.Nonce,
		AMR: sess.AMR, ACR: sess.ACR, Credential: sess.Credential,
		AuthTime: sess.AuthTime, IssuedAt: now, ExpiresAt: now.Add(codeTTL), KeepUntil: now.Add(codeTTL + codeKeep),
	}
	if err := s.store.CreateCode(c.Request().Context(), rec); err != nil {
		return err
	}
	requestLogger(c, s.log).Info("authorization code issued", "client_id", req.Client.ID, "user_id", user.ID)
	return s.redirectBack(c, req, url.Values{"code": {code}})
}

// redirectBack sends the browser to the verified redirect URI with the
// response parameters, the state and iss (RFC 9207 §2). Parameters are
// appended, so a query in the registered URI is kept byte for byte.
func (s *Server) redirectBack(c echo.Context, req *authzRequest, params url.Values) error {
	if req.State != "" {
		params.Set("state", req.State)
	}
	params.Set("iss", s.cfg.Issuer)
	sep := "?"
	if strings.Contains(req.RedirectURI, "?") {
		sep = "&"
	}
	status := http.StatusFound
	if c.Request().Method == http.MethodPost {
		status = http.StatusSeeOther // never 307 after a form post (OAuth 2.1 §7.5.3)
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.Redirect(status, req.RedirectURI+sep+params.Encode())
}

// writeRedirectError sends an authorization error to the client.
func (s *Server) writeRedirectError(c echo.Context, re *redirectError) error {
	p := url.Values{"error": {re.err.Code}}
	if re.err.Description != "" {
		p.Set("error_description", re.err.Description)
	}
	return s.redirectBack(c, re.req, p)
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vals := range v {
		out[k] = append([]string(nil), vals...)
	}
	return out
}

func asOAuth(err error) *oauth.Error {
	var oe *oauth.Error
	if errors.As(err, &oe) {
		return oe
	}
	return oauth.ServerError(err)
}
