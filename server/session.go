package server

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-dev/gatehouse/store"
)

// cookieName picks the cookie name. Over https the __Host- prefix makes
// browsers refuse the cookie unless it is Secure, host-only and Path=/, so
// a sibling subdomain cannot plant one (RFC 6265bis §4.1.3.2).
func (s *Server) cookieName(name string) string {
	if s.secure {
		return "__Host-gatehouse_" + name
	}
	return "gatehouse_" + name
}

func (s *Server) newCookie(name, value string, maxAge time.Duration) *http.Cookie {
	return &http.Cookie{
		Name:     s.cookieName(name),
		Value:    value,
		Path:     "/",
		MaxAge:   int(maxAge.Seconds()),
		HttpOnly: true,
		Secure:   s.secure,
		SameSite: http.SameSiteLaxMode,
	}
}

// hashToken is the storage key of a bearer secret (session cookie, code,
// refresh token): the store never holds the secret itself.
func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// newToken returns 256 random bits, base64url-encoded.
func (s *Server) newToken() (string, error) {
	b, err := s.randomBytes32()
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// currentUser returns the signed-in user and their session, or
// store.ErrNotFound when the browser has no live session (no cookie, an
// expired or unknown session, or a deleted user).
func (s *Server) currentUser(c echo.Context) (store.User, store.Session, error) {
	ck, err := c.Cookie(s.cookieName("session"))
	if err != nil || ck.Value == "" || len(ck.Value) > 128 {
		return store.User{}, store.Session{}, store.ErrNotFound
	}
	ctx := c.Request().Context()
	sess, err := s.store.Session(ctx, hashToken(ck.Value))
	if err != nil {
		return store.User{}, store.Session{}, err
	}
	u, err := s.store.UserByID(ctx, sess.UserID)
	if err == nil && sess.Credential != "" && sess.Credential != store.CredentialDigest(u) {
		// The password changed after this sign-in read the user: the
		// session was made with the old password (ASVS V3.3.3).
		if err := s.store.DeleteSession(ctx, sess.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return store.User{}, store.Session{}, err
		}
		return store.User{}, store.Session{}, store.ErrNotFound
	}
	return u, sess, err
}

// startSession signs the browser in as u; amr and acr say how (RFC 8176),
// for the ID tokens of this session's codes.
func (s *Server) startSession(c echo.Context, u store.User, amr []string, acr string) error {
	token, err := s.newToken()
	if err != nil {
		return err
	}
	now := s.now()
	// u is the user as the sign-in read it, before the password check:
	// its credential is the one the check used.
	sess := store.Session{ID: hashToken(token), UserID: u.ID, AuthTime: now, ExpiresAt: now.Add(s.cfg.SessionTTL), AMR: amr, ACR: acr,
		Credential: store.CredentialDigest(u)}
	if err := s.store.CreateSession(c.Request().Context(), sess); err != nil {
		return err
	}
	c.SetCookie(s.newCookie("session", token, s.cfg.SessionTTL))
	return nil
}

// endSession signs the browser out.
func (s *Server) endSession(c echo.Context) error {
	if ck, err := c.Cookie(s.cookieName("session")); err == nil && ck.Value != "" {
		if err := s.store.DeleteSession(c.Request().Context(), hashToken(ck.Value)); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	c.SetCookie(s.newCookie("session", "", -time.Second))
	return nil
}
