package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/policy"
	"github.com/gatehouse-dev/gatehouse/store"
)

const (
	loginPath  = "/login"
	logoutPath = "/logout"
)

// loginForm is the data of the sign-in page.
type loginForm struct {
	Action   string
	CSRF     string
	ReturnTo string
	Username string
	Error    string
	Context  string
	// Providers are the upstream sign-in buttons; Password shows the form.
	Providers []providerButton
	Password  bool
}

// providerButton is one upstream identity provider on the sign-in page.
type providerButton struct {
	Name string
	URL  string
}

// handleLoginForm shows the sign-in form, or, for a signed-in browser,
// continues to return_to (or says who is signed in).
func (s *Server) handleLoginForm(c echo.Context) error {
	q := c.QueryParams()
	if err := noRepeats(q); err != nil {
		return pageErrorFrom(err.(*oauth.Error), "Invalid request")
	}
	returnTo := s.safeReturnTo(q.Get("return_to"))
	u, _, err := s.currentUser(c)
	switch {
	case err == nil && q.Get("prompt") != oauth.PromptLogin:
		if returnTo != "" {
			return c.Redirect(http.StatusSeeOther, returnTo)
		}
		return s.renderSignedIn(c, u)
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return err
	}
	// With one provider and no password form there is nothing to choose:
	// straight to the provider.
	if s.cfg.PasswordLoginDisabled && len(s.cfg.Providers) == 1 {
		return c.Redirect(http.StatusFound, s.upstreamLoginURL(s.cfg.Providers[0].ID(), q))
	}
	return s.renderLogin(c, http.StatusOK, loginForm{ReturnTo: returnTo, Username: truncate(q.Get("login_hint"), MaxUsernameLen)})
}

// handleLoginSubmit checks the CSRF token, the per-address throttles, the
// per-account pace and the password, in that order, and starts a session.
func (s *Server) handleLoginSubmit(c echo.Context) error {
	form, err := postForm(c)
	if err != nil {
		var oe *oauth.Error
		if errors.As(err, &oe) {
			return pageErrorFrom(oe, "Invalid sign-in request")
		}
		return err
	}
	if s.cfg.PasswordLoginDisabled {
		return &pageError{Status: http.StatusForbidden, Title: "Password sign-in is off",
			Detail: "This server signs users in through its identity providers only (login.password.enabled is false)."}
	}
	data := loginForm{ReturnTo: s.safeReturnTo(form.Get("return_to")), Username: form.Get("username")}
	if len(data.Username) > MaxUsernameLen {
		data.Username = data.Username[:MaxUsernameLen]
	}
	if !s.csrfValid(c) {
		s.metrics.loginFailed("csrf")
		data.Error = "The sign-in form expired. Please try again."
		return s.renderLogin(c, http.StatusForbidden, data)
	}
	log := requestLogger(c, s.log)
	account, ip := strings.ToLower(data.Username), c.RealIP()
	device, trusted := s.trustedDevice(c, log, account)
	finish, wait, paced, err := s.admitLogin(c, log, account, ip, device, trusted)
	if err != nil {
		return err
	}
	if wait > 0 {
		s.metrics.loginFailed("throttled")
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds()+0.999)))
		data.Error = fmt.Sprintf("Too many failed sign-in attempts. Try again in %s.", humanWait(wait))
		if paced {
			data.Error = fmt.Sprintf("Too many sign-in attempts for this account right now. Try again in %s.", humanWait(wait))
		}
		return s.renderLogin(c, http.StatusTooManyRequests, data)
	}
	u, err := s.checkPassword(c.Request().Context(), finish, data.Username, form.Get("password"))
	if errors.Is(err, ErrBadCredentials) {
		s.recordAccountFailure(c.Request().Context(), log, account)
		if trusted {
			s.recordDeviceFailure(c, log, device)
		}
		s.metrics.loginFailed("bad_credentials")
		Audit(c.Request().Context(), log, AuditLoginFailed, "username", account, "ip", ip, "trusted_device", trusted)
		data.Error = "Incorrect username or password."
		return s.renderLogin(c, http.StatusUnauthorized, data)
	}
	if err != nil {
		return err
	}
	if err := s.trustBrowser(c, u.Name, device, trusted); err != nil {
		return err
	}
	if err := s.startSession(c, u, []string{"pwd"}, ""); err != nil {
		return err
	}
	Audit(c.Request().Context(), log, AuditLoginSucceeded, "user_id", u.ID, "username", u.Name, "ip", ip, "trusted_device", trusted)
	target := data.ReturnTo
	if target == "" {
		target = s.base + loginPath
	}
	// 303 turns the POST into a GET (no 307 after credential entry:
	// OAuth 2.1 §7.5.3).
	return c.Redirect(http.StatusSeeOther, target)
}

// admitLogin applies the throttles to one password check and returns the
// function that ends it, or how long to wait (refused), or an error.
//
// From an ordinary browser: the per-(account, address) and per-address
// limits refuse, then the per-account limit slows (paceAccount). From a
// browser with a trusted-device cookie for the account (login_device.go):
// only the cookie's own allowance applies, so neither a guesser queueing
// the account nor one sharing the user's address keeps the user out.
//
// paced says the refusal is the slowdown's queue, not an address limit.
func (s *Server) admitLogin(c echo.Context, log *slog.Logger, account, ip string, device deviceCookie, trusted bool) (finish func(failed bool), wait time.Duration, paced bool, err error) {
	now := s.now()
	if trusted {
		if wait := s.limiter.device.reserve(device.ID, now); wait > 0 {
			log.Warn("login throttled", "username", account, "ip", ip, "retry_after", wait, "trusted_device", true)
			return nil, wait, false, nil
		}
		s.auditExemption(c, log, account, ip)
		return func(failed bool) { s.limiter.device.finish(device.ID, s.now(), failed) }, 0, false, nil
	}
	ipKey := policy.AddressKey(ip) // an IPv6 host as its /64 (RFC 4291 §2.5.4)
	if wait := s.limiter.begin(account, ipKey, now); wait > 0 {
		log.Warn("login throttled", "username", account, "ip", ip, "retry_after", wait)
		return nil, wait, false, nil
	}
	if retry, err := s.paceAccount(c, log, account, ip); err != nil || retry > 0 {
		s.limiter.finish(account, ipKey, s.now(), false)
		return nil, time.Duration(retry) * time.Second, true, err
	}
	return func(failed bool) { s.limiter.finish(account, ipKey, s.now(), failed) }, 0, false, nil
}

// auditExemption records that a trusted device skipped the slowdown of an
// account that is under attack (past login.max_failures_per_account).
func (s *Server) auditExemption(c echo.Context, log *slog.Logger, account, ip string) {
	lim := s.cfg.Login
	if lim.MaxFailuresAccount < 1 {
		return
	}
	ctx := c.Request().Context()
	level, err := s.loginFailures.LoginFailureLevel(ctx, account, s.now(), lim.leak())
	if err != nil || level < float64(lim.MaxFailuresAccount) {
		return
	}
	s.metrics.trustedDevice("exempted")
	Audit(ctx, log, AuditLoginTrustedDevice, "username", account, "ip", ip, "outcome", "exempted", "failure_level", int(level),
		"reason", "a browser that signed in to this account before skips the account's slowdown")
}

// checkPassword runs one password check admitted by admitLogin. The check
// holds a unit of the allowances while argon2 runs and keeps it only when
// the credentials are wrong, so a user who signs in correctly is not
// penalised and concurrent guesses cannot outrun the count (finish runs
// even if the check panics).
func (s *Server) checkPassword(ctx context.Context, finish func(failed bool), name, password string) (u store.User, err error) {
	defer func() { finish(errors.Is(err, ErrBadCredentials)) }()
	accounts := &Accounts{Store: s.store, Hasher: s.passwords, Now: s.now}
	return accounts.Authenticate(ctx, name, password)
}

// handleLogout ends the session.
func (s *Server) handleLogout(c echo.Context) error {
	if _, err := postForm(c); err != nil {
		return err
	}
	if !s.csrfValid(c) {
		return &pageError{Status: http.StatusForbidden, Title: "Sign-out refused", Detail: "The form expired. Go back, reload and try again."}
	}
	if err := s.endSession(c); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, s.base+loginPath)
}

func (s *Server) renderLogin(c echo.Context, status int, data loginForm) error {
	token, err := s.csrfToken(c)
	if err != nil {
		return err
	}
	data.CSRF = token
	data.Action = s.base + loginPath
	data.Password = !s.cfg.PasswordLoginDisabled
	q := url.Values{}
	if data.ReturnTo != "" {
		q.Set("return_to", data.ReturnTo)
	}
	if data.Username != "" {
		q.Set("login_hint", data.Username)
	}
	for _, p := range s.cfg.Providers {
		data.Providers = append(data.Providers, providerButton{Name: p.Name(), URL: s.upstreamLoginURL(p.ID(), q)})
	}
	return s.render(c, status, "login", "Sign in", data)
}

func (s *Server) renderSignedIn(c echo.Context, u store.User) error {
	token, err := s.csrfToken(c)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, "signed_in", "Signed in", map[string]string{
		"Username": u.Name, "CSRF": token, "LogoutAction": s.base + logoutPath,
	})
}

// safeReturnTo accepts only a path on this server under the issuer path,
// so the sign-in page can never become an open redirector. Anything else is
// dropped.
func (s *Server) safeReturnTo(raw string) string {
	if raw == "" || len(raw) > maxSafeReturnTo || !strings.HasPrefix(raw, s.base+"/") ||
		strings.HasPrefix(raw, "//") || strings.ContainsAny(raw, "\\\r\n\t") {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return ""
	}
	return raw
}

func humanWait(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%d seconds", int(d.Seconds()+0.999))
	}
	return fmt.Sprintf("%d minutes", int(d.Minutes()+0.999))
}
