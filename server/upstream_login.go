package server

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-dev/gatehouse/identity"
	"github.com/gatehouse-dev/gatehouse/oauth"
)

// upstreamCallbackPath is where an upstream provider sends the browser
// back: {issuer}/login/{id}/callback, the URL the operator registers.
func (s *Server) upstreamCallbackURL(id string) string {
	return s.url(loginPath + "/" + id + "/callback")
}

// UpstreamCallbackURL is the redirect URI to register at provider id
// (`gatehouse config check` prints it).
func UpstreamCallbackURL(issuer, id string) string {
	return trimSlash(issuer) + loginPath + "/" + id + "/callback"
}

func trimSlash(s string) string {
	for len(s) > 0 && s[len(s)-1] == '/' {
		s = s[:len(s)-1]
	}
	return s
}

func (s *Server) provider(id string) identity.Provider {
	for _, p := range s.cfg.Providers {
		if p.ID() == id {
			return p
		}
	}
	return nil
}

// handleUpstreamStart sends the browser to sign in at the provider, with
// a fresh state, nonce and PKCE verifier bound to this browser. It carries
// login_hint on, and turns prompt=login or max_age into a forced upstream
// re-authentication (max_age, OIDC Core §3.1.2.1).
func (s *Server) handleUpstreamStart(c echo.Context) error {
	p := s.provider(c.Param("provider"))
	if p == nil {
		return &pageError{Status: http.StatusNotFound, Title: "Unknown sign-in provider",
			Detail: "This server has no sign-in provider named " + truncate(c.Param("provider"), 40) + "."}
	}
	q := c.QueryParams()
	if err := noRepeats(q); err != nil {
		return pageErrorFrom(asOAuth(err), "Invalid sign-in request")
	}
	st := upstreamState{Provider: p.ID(), ReturnTo: s.safeReturnTo(q.Get("return_to")), Expires: s.now().Add(upstreamStateTTL).Unix()}
	var err error
	for _, v := range []*string{&st.State, &st.Nonce, &st.Verifier} {
		if *v, err = s.newToken(); err != nil {
			return err
		}
	}
	req := identity.AuthRequest{State: st.State, Nonce: st.Nonce, Verifier: st.Verifier,
		RedirectURI: s.upstreamCallbackURL(p.ID()), LoginHint: truncate(q.Get("login_hint"), 256)}
	if q.Get("prompt") == oauth.PromptLogin {
		zero := 0
		req.MaxAge = &zero
	} else if n, err := strconv.Atoi(q.Get("max_age")); err == nil && n >= 0 {
		req.MaxAge = &n
	}
	authURL, err := p.AuthURL(c.Request().Context(), req)
	if err != nil {
		return s.upstreamFailed(c, p, err)
	}
	if err := s.setUpstreamState(c, st); err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.Redirect(http.StatusFound, authURL)
}

// handleUpstreamCallback completes an upstream sign-in. Every failure ends
// on a page naming the provider and the reason, never on a redirect, so a
// misconfigured provider cannot loop the browser.
func (s *Server) handleUpstreamCallback(c echo.Context) error {
	p := s.provider(c.Param("provider"))
	if p == nil {
		return &pageError{Status: http.StatusNotFound, Title: "Unknown sign-in provider",
			Detail: "This server has no sign-in provider named " + truncate(c.Param("provider"), 40) + "."}
	}
	ctx := c.Request().Context()
	log := requestLogger(c, s.log) // each audit event names the provider itself
	fail := func(reason, detail string) error {
		s.metrics.upstreamLogin(p.ID(), reason)
		Audit(ctx, log, AuditLoginFailed, "provider", p.ID(), "reason", reason)
		return &pageError{Status: http.StatusBadRequest, Title: "Sign-in with " + p.Name() + " failed",
			Detail: detail + " Return to the application and sign in again."}
	}
	st, err := s.takeUpstreamState(c)
	if err != nil {
		return fail("no_state", "This browser has no sign-in in progress with "+p.Name()+" ("+err.Error()+"); it may have expired or been started in another window.")
	}
	q := c.QueryParams()
	if st.Provider != p.ID() || len(q["state"]) != 1 || q.Get("state") != st.State {
		return fail("state_mismatch", "The answer from "+p.Name()+" does not belong to the sign-in this browser started.")
	}
	if e := q.Get("error"); e != "" {
		detail := p.Name() + " answered: " + truncate(e, 80)
		if d := q.Get("error_description"); d != "" {
			detail += " (" + truncate(d, 200) + ")"
		}
		return fail("upstream_error", detail+".")
	}
	if q.Get("code") == "" {
		return fail("no_code", p.Name()+" sent no authorization code.")
	}
	ident, err := p.Exchange(ctx, identity.Callback{Code: q.Get("code"), Verifier: st.Verifier, Nonce: st.Nonce,
		RedirectURI: s.upstreamCallbackURL(p.ID())})
	if err != nil {
		return s.upstreamFailed(c, p, err)
	}
	u, err := s.userForIdentity(ctx, log, ident)
	if err != nil {
		return err
	}
	if err := s.startSession(c, u, ident.AMR, ident.ACR); err != nil {
		return err
	}
	s.metrics.upstreamLogin(p.ID(), "ok")
	Audit(ctx, log, AuditLoginSucceeded, "user_id", u.ID, "username", u.Name, "provider", p.ID(), "subject", ident.Subject, "ip", c.RealIP())
	target := st.ReturnTo
	if target == "" {
		target = s.base + loginPath
	}
	return c.Redirect(http.StatusSeeOther, target)
}

// upstreamFailed turns a provider error into its page: 403 for a refusal
// by the admission rules, 502 for an upstream that failed.
func (s *Server) upstreamFailed(c echo.Context, p identity.Provider, err error) error {
	ctx := c.Request().Context()
	log := requestLogger(c, s.log) // each audit event names the provider itself
	var refused *identity.RefusedError
	var upstream *identity.UpstreamError
	switch {
	case errors.As(err, &refused):
		s.metrics.upstreamLogin(p.ID(), "refused")
		Audit(ctx, log, AuditLoginFailed, "provider", p.ID(), "reason", "refused", "detail", refused.Reason)
		return &pageError{Status: http.StatusForbidden, Title: "Sign-in refused",
			Detail: p.Name() + " signed you in, but this server does not admit you: " + refused.Reason + "."}
	case errors.As(err, &upstream):
		s.metrics.upstreamLogin(p.ID(), "upstream_failed")
		Audit(ctx, log, AuditLoginFailed, "provider", p.ID(), "reason", "upstream_failed", "detail", upstream.Error())
		return &pageError{Status: http.StatusBadGateway, Title: "Sign-in with " + p.Name() + " failed",
			Detail: "Gatehouse could not complete the sign-in with " + p.Name() + ": " + upstream.Reason + ". Try again later or ask the operator.",
			cause:  err}
	}
	return err
}

// upstreamLoginURL is the start of a sign-in at provider id, carrying the
// sign-in page's own parameters on.
func (s *Server) upstreamLoginURL(id string, q url.Values) string {
	out := url.Values{}
	for _, k := range []string{"return_to", "login_hint", "prompt", "max_age"} {
		if v := q.Get(k); v != "" {
			out.Set(k, v)
		}
	}
	u := s.base + loginPath + "/" + id
	if len(out) > 0 {
		u += "?" + out.Encode()
	}
	return u
}
