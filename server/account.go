package server

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-dev/gatehouse/store"
)

const (
	accountPath       = "/account"
	accountRevokePath = "/account/revoke"
)

// handleAccount lists the clients the signed-in user has approved.
func (s *Server) handleAccount(c echo.Context) error {
	user, _, err := s.currentUser(c)
	if errors.Is(err, store.ErrNotFound) {
		return c.Redirect(http.StatusFound, s.base+loginPath+"?"+url.Values{"return_to": {s.base + accountPath}}.Encode())
	}
	if err != nil {
		return err
	}
	consents, err := s.store.ConsentsByUser(c.Request().Context(), user.ID)
	if err != nil {
		return err
	}
	token, err := s.csrfToken(c)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, "account", "Your approvals", map[string]any{
		"Username": user.Name, "Consents": consents, "CSRF": token,
		"RevokeAction": s.base + accountRevokePath, "LogoutAction": s.base + logoutPath,
		"Revoked": c.QueryParam("revoked"),
	})
}

// handleAccountRevoke withdraws a consent: the client's grants and tokens
// for this user are revoked with it.
func (s *Server) handleAccountRevoke(c echo.Context) error {
	form, err := postForm(c)
	if err != nil {
		return pageErrorFrom(asOAuth(err), "Invalid request")
	}
	if !s.csrfValid(c) {
		return &pageError{Status: http.StatusForbidden, Title: "Request refused", Detail: "The form expired. Reload the page and try again."}
	}
	user, _, err := s.currentUser(c)
	if errors.Is(err, store.ErrNotFound) {
		return c.Redirect(http.StatusSeeOther, s.base+loginPath)
	}
	if err != nil {
		return err
	}
	clientID := form.Get("client_id")
	err = s.store.RevokeConsent(c.Request().Context(), user.ID, clientID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	Audit(c.Request().Context(), requestLogger(c, s.log), AuditConsentRevoked, "client_id", clientID, "user_id", user.ID, "by", "user")
	return c.Redirect(http.StatusSeeOther, s.base+accountPath+"?"+url.Values{"revoked": {clientID}}.Encode())
}
